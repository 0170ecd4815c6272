// `proxy_on_request_body` → `HttpContext.onRequestBody` (Envoy calls it for every chunk).
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  return d.onRequestBody(contextId, bodySize, endOfStream);
}
