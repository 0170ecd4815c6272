// IPv4/IPv6 addresses and CIDR blocks for the trusted-source check, parsed strictly and without trapping.
//
// Every address is held as 128 bits; an IPv4 address a.b.c.d is stored as the IPv4-mapped IPv6 address
// ::ffff:a.b.c.d, so "10.0.0.0/8" (stored as ::ffff:10.0.0.0/104) also covers a dual-stack listener's
// ::ffff:10.1.2.3. Refused: octets above 255 or with leading zeros ("010" is octal to some parsers),
// fewer or more than 4 octets, more than one "::", groups of more than 4 hex digits, zone ids in a CIDR,
// prefix lengths out of range, and blocks with host bits set ("10.1.2.3/8").

/** A 128-bit address. */
export class Ip {
  constructor(
    public hi: u64,
    public lo: u64,
    public v4: bool,
  ) {}
}

/** An address block. */
export class Cidr {
  constructor(
    public hi: u64,
    public lo: u64,
    /** Prefix length over 128 bits (IPv4 /n is stored as /(96+n)). */
    public bits: i32,
  ) {}

  contains(ip: Ip): bool {
    const mh = maskHi(this.bits);
    const ml = maskLo(this.bits);
    return (ip.hi & mh) == this.hi && (ip.lo & ml) == this.lo;
  }
}

function maskHi(bits: i32): u64 {
  if (bits >= 64) return 0xffffffffffffffff;
  if (bits <= 0) return 0;
  const shift: u64 = 64 - bits;
  return 0xffffffffffffffff << shift;
}

function maskLo(bits: i32): u64 {
  if (bits >= 128) return 0xffffffffffffffff;
  if (bits <= 64) return 0;
  const shift: u64 = 128 - bits;
  return 0xffffffffffffffff << shift;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexVal(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Dotted IPv4 → 32-bit value, or -1. */
function parseV4(s: string): i64 {
  let value: i64 = 0;
  let parts = 0;
  let i = 0;
  while (parts < 4) {
    const start = i;
    let n = 0;
    while (i < s.length && isDigit(s.charCodeAt(i)) && i - start < 4) {
      n = n * 10 + (s.charCodeAt(i) - 0x30);
      i++;
    }
    const digits = i - start;
    if (digits == 0 || digits > 3 || n > 255) return -1;
    if (digits > 1 && s.charCodeAt(start) == 0x30) return -1; // leading zero
    value = (value << 8) | n;
    parts++;
    if (parts < 4) {
      if (i >= s.length || s.charCodeAt(i) != 0x2e) return -1;
      i++;
    }
  }
  return i == s.length ? value : -1;
}

/** IPv6 text (no zone, no brackets) → 8 groups, or null. */
function parseV6(s: string): Array<i32> | null {
  if (s.length < 2 || s.length > 45) return null;
  const groups = new Array<i32>();
  let gap = -1; // index in groups where "::" was
  let i = 0;
  if (s.startsWith("::")) {
    gap = 0;
    i = 2;
    if (i == s.length) {
      for (let k = 0; k < 8; k++) groups.push(0);
      return groups;
    }
  } else if (s.charCodeAt(0) == 0x3a) {
    return null;
  }
  while (i < s.length) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) takes two groups and must be last.
    const rest = s.substring(i);
    if (rest.indexOf(".") >= 0 && rest.indexOf(":") < 0) {
      const v4 = parseV4(rest);
      if (v4 < 0 || groups.length > 6) return null;
      groups.push(<i32>((v4 >> 16) & 0xffff));
      groups.push(<i32>(v4 & 0xffff));
      i = s.length;
      break;
    }
    let n = 0;
    const start = i;
    while (i < s.length && hexVal(s.charCodeAt(i)) >= 0 && i - start < 5) {
      n = (n << 4) | hexVal(s.charCodeAt(i));
      i++;
    }
    const digits = i - start;
    if (digits == 0 || digits > 4) return null;
    groups.push(n);
    if (groups.length > 8) return null;
    if (i == s.length) break;
    if (s.charCodeAt(i) != 0x3a) return null;
    i++;
    if (i < s.length && s.charCodeAt(i) == 0x3a) {
      if (gap >= 0) return null; // a second "::"
      gap = groups.length;
      i++;
      if (i == s.length) break;
    } else if (i == s.length) {
      return null; // trailing single ':'
    }
  }
  if (gap < 0) return groups.length == 8 ? groups : null;
  if (groups.length >= 8) return null; // "::" must stand for at least one group
  const out = new Array<i32>();
  for (let k = 0; k < gap; k++) out.push(unchecked(groups[k]));
  for (let k = 0; k < 8 - groups.length; k++) out.push(0);
  for (let k = gap; k < groups.length; k++) out.push(unchecked(groups[k]));
  return out;
}

/** An IPv4 or IPv6 address in text form (no brackets, no zone), or null. */
export function parseIp(s: string): Ip | null {
  if (s.indexOf(":") < 0) {
    const v4 = parseV4(s);
    if (v4 < 0) return null;
    return new Ip(0, 0x0000ffff00000000 | (<u64>v4), true);
  }
  const g = parseV6(s);
  if (g === null) return null;
  let hi: u64 = 0;
  let lo: u64 = 0;
  for (let k = 0; k < 4; k++) hi = (hi << 16) | (<u64>unchecked(g[k]));
  for (let k = 4; k < 8; k++) lo = (lo << 16) | (<u64>unchecked(g[k]));
  return new Ip(hi, lo, false);
}

/**
 * The address of Envoy's `source.address` (`1.2.3.4:5678`, `[::1]:5678`, `[fe80::1%eth0]:80`, or a bare
 * address), or null when it is not one.
 */
export function parseSourceAddress(a: string): Ip | null {
  let host = a;
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    if (close < 0) return null;
    host = a.substring(1, close);
  } else {
    const colon = a.indexOf(":");
    if (colon >= 0 && a.indexOf(":", colon + 1) < 0) host = a.substring(0, colon); // v4:port
  }
  const zone = host.indexOf("%");
  if (zone >= 0) host = host.substring(0, zone);
  return parseIp(host);
}

/** The outcome of `parseCidr`: a block, or an error message. */
export class CidrResult {
  constructor(
    readonly cidr: Cidr | null,
    readonly error: string,
  ) {}
}

/** `"10.0.0.0/8"`, `"fd00::/8"`, or a bare address (a /32 or /128). */
export function parseCidr(s: string): CidrResult {
  const bad = new CidrResult(
    null,
    'expected an IPv4 or IPv6 CIDR like "10.0.0.0/8" or "fd00::/8", got "' + s + '"',
  );
  const slash = s.indexOf("/");
  const addrText = slash < 0 ? s : s.substring(0, slash);
  const ip = parseIp(addrText);
  if (ip === null) return bad;
  const max = ip.v4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const t = s.substring(slash + 1);
    if (t.length == 0 || t.length > 3) return bad;
    len = 0;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (!isDigit(c)) return bad;
      len = len * 10 + (c - 0x30);
    }
    if (t.length > 1 && t.charCodeAt(0) == 0x30) return bad;
    if (len > max) {
      return new CidrResult(
        null,
        "prefix length " +
          len.toString() +
          " is out of range for an IPv" +
          (ip.v4 ? "4" : "6") +
          ' address in "' +
          s +
          '"',
      );
    }
  }
  const bits = ip.v4 ? len + 96 : len;
  const hi = ip.hi & maskHi(bits);
  const lo = ip.lo & maskLo(bits);
  if (hi != ip.hi || lo != ip.lo) {
    const fixed = formatIp(new Ip(hi, lo, ip.v4)) + "/" + len.toString();
    return new CidrResult(null, '"' + s + '" has host bits set; did you mean "' + fixed + '"?');
  }
  return new CidrResult(new Cidr(hi, lo, bits), "");
}

const HEX = "0123456789abcdef";

function hex16(n: i32): string {
  let out = "";
  let started = false;
  for (let shift = 12; shift >= 0; shift -= 4) {
    const d = (n >> shift) & 0xf;
    if (d != 0 || started || shift == 0) {
      out += HEX.charAt(d);
      started = true;
    }
  }
  return out;
}

/**
 * The canonical text of an address, the split key of `clientIp`: IPv4 (also when it arrived IPv4-mapped,
 * `::ffff:10.1.2.3` → `10.1.2.3`) or RFC 5952 IPv6 (`2001:DB8:0::7` → `2001:db8::7`).
 */
export function canonicalIp(ip: Ip): string {
  if (!ip.v4 && ip.hi == 0 && ip.lo >> 32 == 0xffff) return formatIp(new Ip(0, ip.lo, true));
  return formatIp(ip);
}

/** Text form of an address (IPv6 with the longest zero run compressed, RFC 5952). */
export function formatIp(ip: Ip): string {
  if (ip.v4) {
    const v = ip.lo & 0xffffffff;
    return (
      ((v >> 24) & 0xff).toString() +
      "." +
      ((v >> 16) & 0xff).toString() +
      "." +
      ((v >> 8) & 0xff).toString() +
      "." +
      (v & 0xff).toString()
    );
  }
  const g = new Array<i32>(8);
  for (let k = 0; k < 4; k++) {
    const shift: u64 = 48 - 16 * k;
    unchecked((g[k] = <i32>((ip.hi >> shift) & 0xffff)));
    unchecked((g[k + 4] = <i32>((ip.lo >> shift) & 0xffff)));
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (unchecked(g[k]) != 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && unchecked(g[e]) == 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  let out = "";
  for (let k = 0; k < 8; k++) {
    if (k == bestStart) {
      out += "::";
      k += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += hex16(unchecked(g[k]));
  }
  return out;
}
