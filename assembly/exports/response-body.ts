// `proxy_on_response_body` → `HttpContext.onResponseBody` (Envoy calls it for every chunk).
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  return d.onResponseBody(contextId, bodySize, endOfStream);
}
