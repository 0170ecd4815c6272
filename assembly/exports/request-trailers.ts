// `proxy_on_request_trailers` → `HttpContext.onRequestTrailers`.
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): Action {
  return d.onRequestTrailers(contextId, numTrailers);
}
