// Small helpers gateway filters share: hashing, hex, cookies and query strings. None of them traps on
// malformed input.

/** FNV-1a, 64-bit, over the UTF-16 code units of `s` (stable across VMs and runs). */
export function fnv1a64(s: string, seed: u64 = 0xcbf29ce484222325): u64 {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    const c = <u64>s.charCodeAt(i);
    h ^= c & 0xff;
    h *= 0x100000001b3;
    h ^= c >> 8;
    h *= 0x100000001b3;
  }
  return h;
}

/** A 64-bit finalizer (splitmix64) to spread a hash's bits before taking a modulus. */
export function mix64(x: u64): u64 {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9;
  x ^= x >> 27;
  x *= 0x94d049bb133111eb;
  x ^= x >> 31;
  return x;
}

const HEX = "0123456789abcdef";

/** `v` as `width` lower-case hex digits (zero-padded, truncated to the low bits). */
export function toHex(v: u64, width: i32 = 16): string {
  let out = "";
  for (let i = width - 1; i >= 0; i--) out += HEX.charAt(<i32>((v >> (<u64>i * 4)) & 0xf));
  return out;
}

/** Lower-case hex of a byte buffer. */
export function bytesToHex(buf: ArrayBuffer): string {
  const p = changetype<usize>(buf);
  const n = buf.byteLength;
  const out = new StaticArray<u16>(n << 1);
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    unchecked((out[i << 1] = <u16>HEX.charCodeAt(b >> 4)));
    unchecked((out[(i << 1) + 1] = <u16>HEX.charCodeAt(b & 0xf)));
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(out), (<usize>n) << 2);
}

/** True when `s` is non-empty and only `0-9a-f` (lower-case). */
export function isLowerHex(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** True when `c` is an RFC 9110 `tchar`: a letter, a digit or one of ``!#$%&'*+-.^_`|~``. */
export function isTokenChar(c: i32): bool {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) return true;
  return "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) >= 0;
}

/** True when `s` is an RFC 9110 `token`: header names, auth schemes, media-type parts, cookie names. */
export function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/** True when `s` is a header name as Envoy stores it: a token without upper-case letters. */
export function isHeaderName(s: string): bool {
  if (!isToken(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}

/** True when every character of `s` is `0`. */
export function isAllZero(s: string): bool {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) != 0x30) return false;
  return true;
}

/**
 * The value of cookie `name` in a `Cookie` header (`a=1; b=2`), or null. Surrounding quotes are kept as
 * sent; names are case-sensitive (RFC 6265).
 */
export function getCookie(header: string | null, name: string): string | null {
  if (header === null) return null;
  const h = header!;
  let start = 0;
  while (start < h.length) {
    let end = h.indexOf(";", start);
    if (end < 0) end = h.length;
    const part = h.substring(start, end).trim();
    const eq = part.indexOf("=");
    if (eq > 0 && part.substring(0, eq).trim() == name) return part.substring(eq + 1).trim();
    start = end + 1;
  }
  return null;
}

/** The names and values of a `Cookie` header, in order (malformed parts without `=` are skipped). */
export function parseCookies(header: string): Array<string> {
  const out = new Array<string>(); // flat: name, value, name, value, ...
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end < 0) end = header.length;
    const part = header.substring(start, end).trim();
    const eq = part.indexOf("=");
    if (eq > 0) {
      out.push(part.substring(0, eq).trim());
      out.push(part.substring(eq + 1).trim());
    }
    start = end + 1;
  }
  return out;
}

/** The value of hex digit `c` (either case), or -1. */
export function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Percent-decodes a query component (`+` is a space). Invalid escapes are kept literally; the bytes are
 * decoded as UTF-8 without trapping.
 */
export function percentDecode(s: string): string {
  if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
  const bytes = new Array<u8>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2b) {
      bytes.push(0x20);
    } else if (
      c == 0x25 &&
      i + 2 < s.length &&
      hexDigit(s.charCodeAt(i + 1)) >= 0 &&
      hexDigit(s.charCodeAt(i + 2)) >= 0
    ) {
      bytes.push(<u8>((hexDigit(s.charCodeAt(i + 1)) << 4) | hexDigit(s.charCodeAt(i + 2))));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(<u8>c);
    } else {
      const enc = String.UTF8.encode(String.fromCharCode(c), false);
      const p = changetype<usize>(enc);
      for (let j = 0; j < enc.byteLength; j++) bytes.push(load<u8>(p + <usize>j));
    }
  }
  const buf = new ArrayBuffer(bytes.length);
  for (let i = 0; i < bytes.length; i++) store<u8>(changetype<usize>(buf) + <usize>i, unchecked(bytes[i]));
  return String.UTF8.decode(buf, false);
}

/** The first value of query parameter `name` in a `:path` (`/x?a=1&b=2`), percent-decoded, or null. */
export function getQueryParam(path: string | null, name: string): string | null {
  if (path === null) return null;
  const p = path!;
  const q = p.indexOf("?");
  if (q < 0) return null;
  let start = q + 1;
  let end = p.indexOf("#", start);
  if (end < 0) end = p.length;
  const query = p.substring(start, end);
  start = 0;
  while (start <= query.length) {
    let amp = query.indexOf("&", start);
    if (amp < 0) amp = query.length;
    const part = query.substring(start, amp);
    const eq = part.indexOf("=");
    const k = percentDecode(eq < 0 ? part : part.substring(0, eq));
    if (k == name) return eq < 0 ? "" : percentDecode(part.substring(eq + 1));
    start = amp + 1;
  }
  return null;
}
