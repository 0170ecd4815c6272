// Building a rule's key from the request: each part is read from its source, and the parts are joined
// with length prefixes (`7:1.2.3.4|3:GET`) so that no two different part lists give the same key.
// A part that is absent or empty makes the whole key missing (null); the rule's `onMissingKey` decides.

import { HttpContext, RequestInfo, getCookie, getPropertyString, getQueryParam } from "../../../assembly";
import { KeyPart, Source } from "./config";

/** `1.2.3.4:5678` → `1.2.3.4`, `[::1]:80` → `::1`, `::1` → `::1` (a bare IPv6 address keeps its colons). */
export function stripAddressPort(addr: string): string {
  const a = addr.trim();
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    return close < 0 ? a : a.substring(1, close);
  }
  const colon = a.indexOf(":");
  if (colon >= 0 && a.lastIndexOf(":") == colon) return a.substring(0, colon);
  return a;
}

/** Loose IP address check (digits, hex, `.` and `:` only): rejects junk such as `unknown` or `_hidden`. */
function looksLikeIp(s: string): bool {
  if (s.length == 0 || s.length > 45) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x61 && c <= 0x66) ||
      (c >= 0x41 && c <= 0x46) ||
      c == 0x2e ||
      c == 0x3a;
    if (!ok) return false;
  }
  return true;
}

/**
 * The client address: the peer (`source.address`, which is already the XFF-derived address when the
 * HTTP connection manager has `xff_num_trusted_hops`) for `hops` 0, else the `hops`-th entry from the
 * right of every `X-Forwarded-For` value as this filter sees it. Null when there is none or it is not
 * an address.
 */
function clientIp(ctx: HttpContext, hops: i32): string | null {
  if (hops == 0) {
    const src = getPropertyString(["source", "address"]);
    if (src === null) return null;
    const ip = stripAddressPort(src);
    return looksLikeIp(ip) ? ip : null;
  }
  const headers = ctx.getRequestHeaders();
  let xff = "";
  for (let i = 0; i < headers.length; i++) {
    const h = unchecked(headers[i]);
    if (h.name != "x-forwarded-for") continue;
    xff = xff.length == 0 ? h.value : xff + "," + h.value;
  }
  if (xff.length == 0) return null;
  const entries = xff.split(",");
  if (entries.length < hops) return null;
  const ip = stripAddressPort(unchecked(entries[entries.length - hops]));
  return looksLikeIp(ip) ? ip : null;
}

function partValue(part: KeyPart, ctx: HttpContext, info: RequestInfo): string | null {
  switch (part.source) {
    case Source.Ip:
      return clientIp(ctx, part.xffTrustedHops);
    case Source.Header:
      return ctx.getRequestHeader(part.name);
    case Source.Query:
      return getQueryParam(ctx.getRequestHeader(":path"), part.name);
    case Source.Cookie:
      return getCookie(ctx.getRequestHeader("cookie"), part.name);
    case Source.Path:
      return info.path;
    case Source.Method:
      return info.method;
    case Source.Host:
      return info.host;
    case Source.Route:
      return info.route;
  }
  return null;
}

/** The key of a request for `parts` ("" for a rule without key parts), or null when a part is missing. */
export function buildKey(parts: Array<KeyPart>, ctx: HttpContext, info: RequestInfo): string | null {
  let key = "";
  for (let i = 0; i < parts.length; i++) {
    const v = partValue(unchecked(parts[i]), ctx, info);
    if (v === null || v.length == 0) return null;
    key += (i == 0 ? "" : "|") + v.length.toString() + ":" + v;
  }
  return key;
}
