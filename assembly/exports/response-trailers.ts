// `proxy_on_response_trailers` → `HttpContext.onResponseTrailers`.
// One of the export groups described in ../exports.ts.

import { Action } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): Action {
  return d.onResponseTrailers(contextId, numTrailers);
}
