// The `match` block every wasmgate plugin accepts in its `rules[]`, because Envoy's Wasm filter has no
// per-route configuration: a rule applies to a request only when every condition it sets holds.
//
//   "match": {
//     "hosts":      ["api.example.com", "*.example.com"],   // :authority, port ignored, case-insensitive
//     "pathPrefix": "/api/",                                // or "path": "/exact" (query string ignored)
//     "methods":    ["GET", "HEAD"],
//     "routes":     ["httpbin-v2"]                          // Envoy route name (xds.route_name)
//   }
//
// Lists match when any entry matches; an absent condition matches everything; an absent `match` matches
// every request.

import { formatInt } from "./internal/format";
import { ConfigReader } from "./config";
import { HttpContext } from "./context";
import { getPropertyString } from "./properties";

/** The request facts rules look at, read once per stream and lazily. */
export class RequestInfo {
  private _host: string | null = null;
  private _path: string | null = null;
  private _method: string | null = null;
  private _route: string | null = null;
  private routeRead: bool = false;

  constructor(private ctx: HttpContext) {}

  /** `:authority` without the port, lower-cased ("" when absent). */
  get host(): string {
    if (this._host === null) {
      const a = this.ctx.getRequestHeader(":authority");
      this._host = a === null ? "" : stripPort(a).toLowerCase();
    }
    return this._host!;
  }

  /** `:path` without the query string ("" when absent). */
  get path(): string {
    if (this._path === null) {
      const p = this.ctx.getRequestHeader(":path");
      this._path = p === null ? "" : withoutQuery(p);
    }
    return this._path!;
  }

  /** `:method` ("" when absent). */
  get method(): string {
    if (this._method === null) {
      const m = this.ctx.getRequestHeader(":method");
      this._method = m === null ? "" : m;
    }
    return this._method!;
  }

  /** The Envoy route name (`xds.route_name`), "" when the route has none. */
  get route(): string {
    if (!this.routeRead) {
      this.routeRead = true;
      this._route = getPropertyString(["xds", "route_name"]);
    }
    const r = this._route;
    return r === null ? "" : r;
  }
}

/** The conditions of one `match` block. */
export class RequestMatch {
  hosts: Array<string> = new Array<string>();
  pathPrefix: string = "";
  pathExact: string = "";
  methods: Array<string> = new Array<string>();
  routes: Array<string> = new Array<string>();

  /** Reads `match` from a rule; absent → matches everything. Errors go to the rule's reader. */
  static parse(rule: ConfigReader, key: string = "match"): RequestMatch {
    const m = new RequestMatch();
    const r = rule.optionalObject(key);
    if (r === null) return m;
    m.hosts = r.optionalStringArray("hosts");
    for (let i = 0; i < m.hosts.length; i++) {
      const h = unchecked(m.hosts[i]).toLowerCase();
      unchecked((m.hosts[i] = h));
      if (h.indexOf("*") > 0 || (h.startsWith("*") && h != "*" && !h.startsWith("*."))) {
        r.error(
          r.path + ".hosts[" + formatInt(i) + "]",
          'expected a host name, "*" or "*.suffix", got "' + h + '"',
        );
      }
    }
    m.pathPrefix = r.optionalString("pathPrefix", "");
    m.pathExact = r.optionalString("path", "");
    if (m.pathPrefix.length > 0 && !m.pathPrefix.startsWith("/"))
      r.fieldError("pathPrefix", 'expected a path starting with "/", got "' + m.pathPrefix + '"');
    if (m.pathExact.length > 0 && !m.pathExact.startsWith("/"))
      r.fieldError("path", 'expected a path starting with "/", got "' + m.pathExact + '"');
    if (m.pathPrefix.length > 0 && m.pathExact.length > 0)
      r.fieldError("path", 'set either "path" or "pathPrefix", not both');
    m.methods = r.optionalStringArray("methods");
    for (let i = 0; i < m.methods.length; i++)
      unchecked((m.methods[i] = unchecked(m.methods[i]).toUpperCase()));
    m.routes = r.optionalStringArray("routes");
    r.finish();
    return m;
  }

  /** True when this block needs the route name (a property read) to decide. */
  get usesRoute(): bool {
    return this.routes.length > 0;
  }

  matches(req: RequestInfo): bool {
    if (this.hosts.length > 0 && !matchHost(this.hosts, req.host)) return false;
    if (this.pathExact.length > 0 && req.path != this.pathExact) return false;
    if (this.pathPrefix.length > 0 && !req.path.startsWith(this.pathPrefix)) return false;
    if (this.methods.length > 0 && !this.methods.includes(req.method)) return false;
    if (this.routes.length > 0 && !this.routes.includes(req.route)) return false;
    return true;
  }
}

function matchHost(patterns: Array<string>, host: string): bool {
  for (let i = 0; i < patterns.length; i++) {
    const p = unchecked(patterns[i]);
    if (p == "*" || p == host) return true;
    if (p.startsWith("*.") && host.length > p.length - 1 && host.endsWith(p.substring(1))) return true;
  }
  return false;
}

/** `host:port` → `host`; IPv6 `[::1]:80` → `[::1]`. */
export function stripPort(authority: string): string {
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    return close < 0 ? authority : authority.substring(0, close + 1);
  }
  const colon = authority.lastIndexOf(":");
  return colon < 0 ? authority : authority.substring(0, colon);
}

/** `/a/b?x=1` → `/a/b`. */
export function withoutQuery(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.substring(0, q);
}
