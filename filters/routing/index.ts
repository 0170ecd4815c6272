// routing: header-based routing for Envoy. Rules over headers, cookies, query parameters, path and method
// pick a variant; the variant's actions set routing headers, rewrite `:authority` or a `:path` prefix, or
// name a cluster for Envoy's `cluster_header`; Envoy's route table then sends the request on. Weighted
// splits hash a stable key (header, cookie or client IP) with a salt into basis-point buckets, and can pin
// a new visitor with a cookie. Client-supplied routing headers are stripped unless the client is trusted.
// README.md documents the configuration; RATIONALE.md the decisions (and what Envoy 1.39 does with the
// route cache).

import {
  Action,
  Counter,
  Header,
  HttpContext,
  LogLevel,
  RootContext,
  attributes,
  clearRouteCache,
  log,
  randomU64,
  registerRootContext,
  toHex,
} from "../../assembly";
import { canonicalIp, parseSourceAddress } from "./src/cidr";
import { CookieSpec, RoutingConfig, Source, Split, Target, parseConfig } from "./src/config";
import { takeRegexSteps } from "./src/regex";
import { RequestView, evaluate } from "./src/request";
export * from "../../assembly/exports";

const stripped = new Counter("routing.stripped");
const trustedPassthrough = new Counter("routing.trusted_passthrough");
const cookiesAssigned = new Counter("routing.cookie_assigned");
const rerouteUnavailable = new Counter("routing.reroute_unavailable");
const regexSteps = new Counter("routing.regex_steps");

class RoutingRoot extends RootContext {
  config: RoutingConfig | null = null;
  warnedNoReroute: bool = false;

  override onConfigure(size: u32): bool {
    const parsed = parseConfig(this.getPluginConfiguration());
    if (parsed.config === null) {
      parsed.reader.logErrors("routing");
      return false;
    }
    this.config = parsed.config;
    const c = parsed.config!;
    log.info(
      "routing: " +
        c.rules.length.toString() +
        " rule(s), reroute " +
        (c.reroute ? "on" : "off") +
        ", " +
        c.trusted.length.toString() +
        " trusted CIDR(s), routing headers [" +
        c.routingHeaders.join(", ") +
        "]",
    );
    return true;
  }

  override newHttpContext(id: u32): HttpContext | null {
    return new Routing(id, this);
  }
}

class Routing extends HttpContext {
  chosen: Target | null = null;
  setCookie: string = "";

  override onRequestHeaders(n: u32, eos: bool): Action {
    const root = this.root as RoutingRoot;
    const cfg = root.config;
    if (cfg === null) return Action.Continue;
    let headers = this.getRequestHeaders();
    let mutated = false;

    // Anti-spoofing: the routing headers are ours unless the client is trusted.
    if (carriesAny(headers, cfg.routingHeaders)) {
      if (isTrusted(cfg)) {
        trustedPassthrough.increment();
        if (log.enabled(LogLevel.Debug))
          log.debug("routing: trusted client sent routing headers; not evaluating rules");
        return Action.Continue;
      }
      for (let i = 0; i < cfg.routingHeaders.length; i++) {
        const name = unchecked(cfg.routingHeaders[i]);
        if (carries(headers, name)) this.removeRequestHeader(name);
      }
      headers = without(headers, cfg.routingHeaders);
      stripped.increment();
      mutated = true;
    }

    const req = new RequestView(headers);
    let chosen: Target | null = null;
    for (let i = 0; i < cfg.rules.length && chosen === null; i++) {
      const rule = unchecked(cfg.rules[i]);
      let all = true;
      for (let j = 0; j < rule.when.length && all; j++) all = evaluate(unchecked(rule.when[j]), req);
      if (!all) continue;
      const split = rule.split;
      chosen = split === null ? rule.target : this.pick(split, req);
    }
    const target = chosen === null ? cfg.defaultTarget : chosen;
    if (this.apply(target, req, cfg)) mutated = true;
    target.counter.increment();
    const steps = takeRegexSteps();
    if (steps > 0) regexSteps.increment(steps);
    if (log.enabled(LogLevel.Debug)) log.debug("routing: variant " + target.variant);

    if (mutated && cfg.reroute && !clearRouteCache()) {
      rerouteUnavailable.increment();
      if (!root.warnedNoReroute) {
        root.warnedNoReroute = true;
        log.warn(
          "routing: the host has no clear_route_cache foreign function; the route may not be re-selected",
        );
      }
    }
    this.chosen = target;
    return Action.Continue;
  }

  /** The split's variant for this request, or null when the key is missing and nothing stands in. */
  pick(split: Split, req: RequestView): Target | null {
    let key: string | null = null;
    if (split.keySource == Source.ClientIp) {
      const src = attributes.sourceAddress();
      if (src !== null) {
        const ip = parseSourceAddress(src);
        if (ip !== null) key = canonicalIp(ip);
      }
    } else {
      const values =
        split.keySource == Source.Header
          ? req.headerValues(split.keyName, false)
          : req.cookieValues(split.keyName);
      if (values.length > 0 && unchecked(values[0]).length > 0) key = unchecked(values[0]);
    }
    if (key === null) {
      const spec = split.assignCookie;
      if (spec !== null) {
        const id = toHex(randomU64()) + toHex(randomU64());
        this.setCookie = cookieLine(split.keyName, id, spec);
        cookiesAssigned.increment();
        return split.pick(id);
      } else if (split.fallback >= 0) {
        return unchecked(split.variants[split.fallback]);
      } else {
        return null;
      }
    }
    return split.pick(key);
  }

  /** Applies a variant's actions to the request headers; true when anything changed. */
  apply(t: Target, req: RequestView, cfg: RoutingConfig): bool {
    let changed = false;
    for (let i = 0; i < t.setNames.length; i++) {
      this.replaceRequestHeader(unchecked(t.setNames[i]), unchecked(t.setValues[i]));
      changed = true;
    }
    if (t.cluster.length > 0) {
      this.replaceRequestHeader(cfg.clusterHeader, t.cluster);
      changed = true;
    }
    if (t.authority.length > 0) {
      this.replaceRequestHeader(":authority", t.authority);
      changed = true;
    }
    if (t.pathFrom.length > 0) {
      const p = req.rawPath;
      if (p.startsWith(t.pathFrom)) {
        this.replaceRequestHeader(":path", t.pathTo + p.substring(t.pathFrom.length));
        changed = true;
      }
    }
    return changed;
  }

  override onResponseHeaders(n: u32, eos: bool): Action {
    const cfg = (this.root as RoutingRoot).config;
    const t = this.chosen;
    if (cfg !== null && t !== null && cfg.variantHeader.length > 0) {
      this.replaceResponseHeader(cfg.variantHeader, t.variant);
    }
    if (this.setCookie.length > 0) this.addResponseHeader("set-cookie", this.setCookie);
    return Action.Continue;
  }
}

function carries(headers: Array<Header>, name: string): bool {
  for (let i = 0; i < headers.length; i++) if (unchecked(headers[i]).name == name) return true;
  return false;
}

function carriesAny(headers: Array<Header>, names: Array<string>): bool {
  for (let i = 0; i < headers.length; i++) if (names.includes(unchecked(headers[i]).name)) return true;
  return false;
}

function without(headers: Array<Header>, names: Array<string>): Array<Header> {
  const out = new Array<Header>();
  for (let i = 0; i < headers.length; i++) {
    const h = unchecked(headers[i]);
    if (!names.includes(h.name)) out.push(h);
  }
  return out;
}

/** True when Envoy's downstream address is inside a trusted block. */
function isTrusted(cfg: RoutingConfig): bool {
  if (cfg.trusted.length == 0) return false;
  const src = attributes.sourceAddress();
  if (src === null) return false;
  const ip = parseSourceAddress(src);
  if (ip === null) return false;
  for (let i = 0; i < cfg.trusted.length; i++) if (unchecked(cfg.trusted[i]).contains(ip)) return true;
  return false;
}

function cookieLine(name: string, value: string, spec: CookieSpec): string {
  let s = name + "=" + value + "; Path=" + spec.path + "; Max-Age=" + spec.maxAgeSeconds.toString();
  if (spec.httpOnly) s += "; HttpOnly";
  if (spec.secure) s += "; Secure";
  s += "; SameSite=" + spec.sameSite;
  return s;
}

registerRootContext((id: u32): RootContext => new RoutingRoot(id), "routing");
