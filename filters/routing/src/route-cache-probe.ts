// Not part of the routing plugin: a probe module that routing.e2e.test.ts compiles to ask a real Envoy
// how an ABI 0.2.1 module re-routes. Per request, header `x-probe-mode` says what to do:
//
//   none        read the route name, change nothing
//   add         read the route name (so Envoy has resolved and cached the route), then add
//               `x-route-to: v2` WITHOUT calling clear_route_cache
//   add+clear   the same, then call the clear_route_cache foreign function
//   clear-only  call clear_route_cache without changing any header
//
// The response carries `x-probe-route-before` (the route name read before the change) and
// `x-probe-clear` ("ok", "refused" or "not-called").

import {
  Action,
  HttpContext,
  RootContext,
  clearRouteCache,
  getPropertyString,
  registerRootContext,
} from "../../../assembly";
export * from "../../../assembly/exports";

class ProbeRoot extends RootContext {
  override newHttpContext(id: u32): HttpContext | null {
    return new Probe(id, this);
  }
}

class Probe extends HttpContext {
  routeBefore: string = "";
  clear: string = "not-called";

  override onRequestHeaders(n: u32, eos: bool): Action {
    const m = this.getRequestHeader("x-probe-mode");
    const mode = m === null ? "none" : m;
    const route = getPropertyString(["xds", "route_name"]);
    this.routeBefore = route === null ? "(none)" : route;
    if (mode == "add" || mode == "add+clear") this.addRequestHeader("x-route-to", "v2");
    if (mode == "add+clear" || mode == "clear-only") this.clear = clearRouteCache() ? "ok" : "refused";
    return Action.Continue;
  }

  override onResponseHeaders(n: u32, eos: bool): Action {
    this.addResponseHeader("x-probe-route-before", this.routeBefore);
    this.addResponseHeader("x-probe-clear", this.clear);
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new ProbeRoot(id), "route-cache-probe");
