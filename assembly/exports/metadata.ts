// `proxy_on_request_metadata`/`proxy_on_response_metadata` (not in the spec; Envoy calls them when present).
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_request_metadata(contextId: u32, numElements: u32): Action {
  return d.onRequestMetadata(contextId, numElements);
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): Action {
  return d.onResponseMetadata(contextId, numElements);
}
