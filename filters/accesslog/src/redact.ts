// Redaction: what a record may say about secrets. Applied to every header the record carries and to the
// query string of `path`, whatever sink the record goes to.
//
//   authorization, proxy-authorization   scheme only:           "Bearer"           (hash: "Bearer hmac:…")
//   cookie                               names kept:            "a=[REDACTED]; b=[REDACTED]"
//   set-cookie                           name and attributes:   "sid=[REDACTED]; Path=/; HttpOnly"
//   masked headers (defaults + config)   whole value:           "[REDACTED]"       (hash: "hmac:…")
//   masked query parameters              value:                 "/p?token=[REDACTED]&q=1"
//
// In `hash` mode the value becomes `hmac:` + the first 16 hex digits of HMAC-SHA-256(key, value), so equal
// secrets stay equal across records (and across Envoys sharing the key) while the logs never hold them.

import { isToken, percentDecode } from "../../../assembly";
import { hmacSha256 } from "./sha256";

export const MASK = "[REDACTED]";

/** Headers whose whole value is always masked (besides authorization and cookies, handled by shape). */
export const DEFAULT_MASKED_HEADERS: Array<string> = [
  "x-api-key",
  "api-key",
  "apikey",
  "x-auth-token",
  "x-access-token",
  "x-refresh-token",
  "x-id-token",
  "x-csrf-token",
  "x-xsrf-token",
  "x-amz-security-token",
  "x-goog-api-key",
  "x-vault-token",
];

/** Query parameters whose value is always masked (names compared case-insensitively, percent-decoded). */
export const DEFAULT_MASKED_QUERY_PARAMS: Array<string> = [
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "api_key",
  "apikey",
  "key",
  "password",
  "passwd",
  "pwd",
  "secret",
  "client_secret",
  "code",
  "signature",
  "sig",
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "jwt",
  "session",
  "sessionid",
];

export const enum RedactMode {
  Mask = 0,
  Hash = 1,
}

const HEX = "0123456789abcdef";

export class Redactor {
  mode: RedactMode = RedactMode.Mask;
  maskedHeaders: Array<string> = new Array<string>();
  /** Lower-case parameter names. */
  maskedParams: Array<string> = new Array<string>();
  private key: ArrayBuffer = new ArrayBuffer(0);

  setKey(key: string): void {
    this.key = String.UTF8.encode(key, false);
  }

  /** What replaces a secret value: the mask, or its keyed hash. */
  secret(value: string): string {
    if (this.mode == RedactMode.Mask) return MASK;
    const mac = hmacSha256(this.key, String.UTF8.encode(value, false));
    const p = changetype<usize>(mac);
    let out = "hmac:";
    for (let i = 0; i < 8; i++) {
      const b = load<u8>(p + <usize>i);
      out += HEX.charAt(b >> 4) + HEX.charAt(b & 0xf);
    }
    return out;
  }

  /** True when header `name` (lower-case) needs redaction of some kind. */
  isSensitiveHeader(name: string): bool {
    return (
      name == "authorization" ||
      name == "proxy-authorization" ||
      name == "cookie" ||
      name == "set-cookie" ||
      this.maskedHeaders.includes(name)
    );
  }

  /** The loggable form of header `name` (lower-case) with value `value`. */
  header(name: string, value: string): string {
    if (name == "authorization" || name == "proxy-authorization") return this.authorization(value);
    if (name == "cookie") return this.cookie(value);
    if (name == "set-cookie") return this.setCookie(value);
    if (this.maskedHeaders.includes(name)) return this.secret(value);
    return value;
  }

  /**
   * `Bearer abc` → `Bearer` (mask) or `Bearer hmac:…` (hash). A value without a recognisable scheme
   * (no space, or a first word that is not a token) is a bare credential and is redacted whole.
   */
  authorization(value: string): string {
    const v = value.trim();
    const sp = v.indexOf(" ");
    const scheme = sp > 0 ? v.substring(0, sp) : "";
    if (sp <= 0 || !isToken(scheme) || scheme.length > 32) return this.secret(v);
    if (this.mode == RedactMode.Mask) return scheme;
    return scheme + " " + this.secret(v.substring(sp + 1).trim());
  }

  /** `a=1; b=2` → `a=[REDACTED]; b=[REDACTED]`; parts without `=` are redacted whole. */
  cookie(value: string): string {
    const out = new Array<string>();
    let start = 0;
    while (start <= value.length) {
      let end = value.indexOf(";", start);
      if (end < 0) end = value.length;
      const part = value.substring(start, end).trim();
      if (part.length > 0) {
        const eq = part.indexOf("=");
        if (eq > 0) out.push(part.substring(0, eq).trim() + "=" + this.secret(part.substring(eq + 1).trim()));
        else out.push(this.secret(part));
      }
      start = end + 1;
    }
    return out.join("; ");
  }

  /** `sid=abc; Path=/; HttpOnly` → `sid=[REDACTED]; Path=/; HttpOnly` (attributes are not secret). */
  setCookie(value: string): string {
    const semi = value.indexOf(";");
    const pair = semi < 0 ? value : value.substring(0, semi);
    const rest = semi < 0 ? "" : value.substring(semi);
    const eq = pair.indexOf("=");
    if (eq <= 0) return this.secret(pair.trim()) + rest;
    return pair.substring(0, eq).trim() + "=" + this.secret(pair.substring(eq + 1).trim()) + rest;
  }

  /** `:path` with the values of masked query parameters replaced; everything else kept byte for byte. */
  path(path: string): string {
    const q = path.indexOf("?");
    if (q < 0 || this.maskedParams.length == 0) return path;
    let end = path.indexOf("#", q + 1);
    if (end < 0) end = path.length;
    const out = new Array<string>();
    out.push(path.substring(0, q + 1));
    let start = q + 1;
    let first = true;
    while (start <= end) {
      let amp = path.indexOf("&", start);
      if (amp < 0 || amp > end) amp = end;
      const part = path.substring(start, amp);
      if (!first) out.push("&");
      first = false;
      const eq = part.indexOf("=");
      const rawName = eq < 0 ? part : part.substring(0, eq);
      if (eq >= 0 && this.maskedParams.includes(percentDecode(rawName).toLowerCase())) {
        out.push(rawName + "=" + this.secret(percentDecode(part.substring(eq + 1))));
      } else out.push(part);
      start = amp + 1;
    }
    out.push(path.substring(end));
    return out.join("");
  }
}
