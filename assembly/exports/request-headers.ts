// `proxy_on_request_headers` → `HttpContext.onRequestHeaders`.
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  return d.onRequestHeaders(contextId, numHeaders, endOfStream);
}
