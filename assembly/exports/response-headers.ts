// `proxy_on_response_headers` → `HttpContext.onResponseHeaders`.
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  return d.onResponseHeaders(contextId, numHeaders, endOfStream);
}
