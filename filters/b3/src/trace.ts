// The B3 and W3C trace-context codec: header values in, a TraceContext out, and back. Pure string code:
// no host calls, and no input (empty, huge, non-hex, non-ASCII) makes it trap; a malformed value comes
// back as an error naming the header and the field.
//
// B3 (github.com/openzipkin/b3-propagation):
//   single  b3: {trace}-{span}[-{sampling}][-{parent}]  or a sampling state alone: 0 | 1 | d
//   multi   x-b3-traceid, x-b3-spanid, x-b3-parentspanid, x-b3-sampled (1|0), x-b3-flags (1 = debug)
// trace ids are 16 or 32 hex characters, span and parent ids 16; all-zero ids are invalid. Readers are
// lenient where the spec allows or where nothing is lost: upper-case hex is lower-cased, surrounding
// spaces are trimmed, `x-b3-sampled: true|false` is read as 1|0, and `{trace}-{span}-{parent}` (a parent
// with the sampling state deferred, as Brave writes it) is accepted.
//
// W3C (Trace Context Level 1): traceparent `00-{32 hex trace}-{16 hex parent}-{2 hex flags}`, strictly
// lower-case as the W3C requires; tracestate is a comma-separated list in which the `b3` member carries
// the B3 single value, so debug and the parent id survive a W3C-only hop.

/** The sampling state of a trace (B3 "Sampling State"). */
export enum Sampling {
  /** Absent: the next hop decides. */
  Defer = 0,
  Deny = 1,
  Accept = 2,
  /** Accept, and ask collectors to keep every span. */
  Debug = 3,
}

/** Where a context came from. */
export enum Source {
  None = 0,
  /** The `b3` header. */
  Single = 1,
  /** `x-b3-*` headers. */
  Multi = 2,
  /** `traceparent` (with the `b3` member of `tracestate` when it matches). */
  W3c = 3,
  /** The `b3` member of `tracestate`, read on its own. */
  TraceState = 4,
}

/** A trace context. `traceId` is "" for a sampling-only context (`b3: 0`). */
export class TraceContext {
  traceId: string = "";
  spanId: string = "";
  parentId: string = "";
  sampling: Sampling = Sampling.Defer;

  get hasIds(): bool {
    return this.traceId.length > 0;
  }

  clone(): TraceContext {
    const c = new TraceContext();
    c.traceId = this.traceId;
    c.spanId = this.spanId;
    c.parentId = this.parentId;
    c.sampling = this.sampling;
    return c;
  }
}

/** The result of parsing: a context, or an error (`ctx` null), or nothing at all (both empty). */
export class Parsed {
  ctx: TraceContext | null = null;
  error: string = "";
}

/** The longest valid `b3` value: 32 + 1 + 16 + 2 + 17. */
const SINGLE_MAX = 68;

function isHexChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * `s` as a lower-case id when it is `length` (or `alt`) hex characters; "" when it is
 * not hex of that length; "0" when it is valid hex but all zeros.
 */
function hexId(s: string, length: i32, alt: i32 = -1): string {
  const n = s.length;
  if (n != length && n != alt) return "";
  let upper = false;
  let zero = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!isHexChar(c)) return "";
    if (c >= 0x41 && c <= 0x46) upper = true;
    if (c != 0x30) zero = false;
  }
  if (zero) return "0";
  return upper ? s.toLowerCase() : s;
}

/** Strictly lower-case hex of exactly `length` characters (W3C). */
function isLowerHexOf(s: string, length: i32): bool {
  if (s.length != length) return false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function allZero(s: string): bool {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) != 0x30) return false;
  return true;
}

/** Checks an id field; returns "" when fine, else the error text after `where: `. */
function idProblem(id: string, expected: string): string {
  if (id.length == 0) return "expected " + expected;
  if (id == "0") return "all zeros";
  return "";
}

/** The sampling state of a one-character field (`0`, `1`, `d`), or -1. */
function samplingChar(s: string): i32 {
  if (s.length != 1) return -1;
  const c = s.charCodeAt(0);
  if (c == 0x30) return Sampling.Deny;
  if (c == 0x31) return Sampling.Accept;
  if (c == 0x64 || c == 0x44) return Sampling.Debug;
  return -1;
}

/**
 * Parses a B3 single value (`b3` header, or the `b3` member of tracestate). `name` prefixes errors.
 * A sampling-only value gives a context without ids.
 */
export function parseSingle(raw: string, name: string): Parsed {
  const r = new Parsed();
  const v = raw.trim();
  if (v.length == 0) {
    r.error = name + ": empty value";
    return r;
  }
  if (v.length > SINGLE_MAX) {
    r.error = name + ": longer than " + SINGLE_MAX.toString() + " characters";
    return r;
  }
  const ctx = new TraceContext();
  if (v.length == 1) {
    const s = samplingChar(v);
    if (s < 0) {
      r.error = name + ": expected a sampling state 0, 1 or d";
      return r;
    }
    ctx.sampling = <Sampling>s;
    r.ctx = ctx;
    return r;
  }
  const parts = v.split("-");
  if (parts.length < 2 || parts.length > 4) {
    r.error = name + ": expected {trace id}-{span id}[-{sampling state}][-{parent span id}]";
    return r;
  }
  const trace = hexId(unchecked(parts[0]), 32, 16);
  let p = idProblem(trace, "16 or 32 hex characters");
  if (p.length > 0) {
    r.error = name + ": trace id: " + p;
    return r;
  }
  const span = hexId(unchecked(parts[1]), 16);
  p = idProblem(span, "16 hex characters");
  if (p.length > 0) {
    r.error = name + ": span id: " + p;
    return r;
  }
  ctx.traceId = trace;
  ctx.spanId = span;
  let parentField = "";
  if (parts.length == 3 && unchecked(parts[2]).length == 16) {
    parentField = unchecked(parts[2]); // {trace}-{span}-{parent}: deferred, with a parent (Brave)
  } else if (parts.length >= 3) {
    const s = samplingChar(unchecked(parts[2]));
    if (s < 0) {
      r.error = name + ": sampling state: expected 0, 1 or d";
      return r;
    }
    ctx.sampling = <Sampling>s;
    if (parts.length == 4) parentField = unchecked(parts[3]);
  }
  if (parts.length == 4 || parentField.length > 0) {
    const parent = hexId(parentField, 16);
    p = idProblem(parent, "16 hex characters");
    if (p.length > 0) {
      r.error = name + ": parent span id: " + p;
      return r;
    }
    ctx.parentId = parent;
  }
  r.ctx = ctx;
  return r;
}

/**
 * Parses the multi-header form from the first value of each header (null = absent). Returns an empty
 * Parsed (no context, no error) when every header is absent, or when only `x-b3-flags: 0` is there.
 */
export function parseMulti(
  traceId: string | null,
  spanId: string | null,
  parentId: string | null,
  sampled: string | null,
  flags: string | null,
): Parsed {
  const r = new Parsed();
  const ctx = new TraceContext();
  if (traceId !== null) {
    const t = hexId(traceId.trim(), 32, 16);
    const p = idProblem(t, "16 or 32 hex characters");
    if (p.length > 0) {
      r.error = "x-b3-traceid: " + p;
      return r;
    }
    ctx.traceId = t;
  }
  if (spanId !== null) {
    const s = hexId(spanId.trim(), 16);
    const p = idProblem(s, "16 hex characters");
    if (p.length > 0) {
      r.error = "x-b3-spanid: " + p;
      return r;
    }
    ctx.spanId = s;
  }
  if (parentId !== null) {
    const s = hexId(parentId.trim(), 16);
    const p = idProblem(s, "16 hex characters");
    if (p.length > 0) {
      r.error = "x-b3-parentspanid: " + p;
      return r;
    }
    ctx.parentId = s;
  }
  if (traceId !== null && spanId === null) {
    r.error = "x-b3-spanid: missing while x-b3-traceid is set";
    return r;
  }
  if (spanId !== null && traceId === null) {
    r.error = "x-b3-traceid: missing while x-b3-spanid is set";
    return r;
  }
  if (parentId !== null && traceId === null) {
    r.error = "x-b3-parentspanid: set without x-b3-traceid and x-b3-spanid";
    return r;
  }
  if (sampled !== null) {
    const s = sampled.trim().toLowerCase();
    if (s == "1" || s == "true") ctx.sampling = Sampling.Accept;
    else if (s == "0" || s == "false") ctx.sampling = Sampling.Deny;
    else {
      r.error = "x-b3-sampled: expected 1, 0, true or false";
      return r;
    }
  }
  if (flags !== null) {
    const f = flags.trim();
    if (f == "1")
      ctx.sampling = Sampling.Debug; // debug implies accept and wins over x-b3-sampled
    else if (f != "0") {
      r.error = "x-b3-flags: expected 1 or 0";
      return r;
    }
  }
  if (!ctx.hasIds && ctx.sampling == Sampling.Defer) return r; // nothing but `x-b3-flags: 0`
  r.ctx = ctx;
  return r;
}

/**
 * The value of the first `b3` member of a tracestate list (all tracestate header values joined with
 * ","), or null when there is none.
 */
export function traceStateB3(tracestate: string): string | null {
  let start = 0;
  const n = tracestate.length;
  while (start < n) {
    let end = tracestate.indexOf(",", start);
    if (end < 0) end = n;
    const member = tracestate.substring(start, end).trim();
    if (member.startsWith("b3=")) return member.substring(3);
    start = end + 1;
  }
  return null;
}

/** A list member longer than this cannot be valid (W3C: key and value of at most 256 characters each). */
const MEMBER_MAX = 513;

/**
 * The members of a tracestate list other than `b3`, in order, trimmed, at most `max`; empty members and
 * members too long to be valid are dropped (W3C allows dropping oversized members first).
 */
export function traceStateOthers(tracestate: string, max: i32): Array<string> {
  const out = new Array<string>();
  let start = 0;
  const n = tracestate.length;
  while (start < n && out.length < max) {
    let end = tracestate.indexOf(",", start);
    if (end < 0) end = n;
    const member = tracestate.substring(start, end).trim();
    if (member.length > 0 && member.length <= MEMBER_MAX && !member.startsWith("b3=")) out.push(member);
    start = end + 1;
  }
  return out;
}

/** A parsed traceparent. */
export class TraceParent {
  traceId: string = "";
  spanId: string = "";
  sampled: bool = false;
}

/** Parses a traceparent value; `error` is set when it is invalid (W3C: then ignore it and tracestate). */
export function parseTraceParent(raw: string, out: TraceParent): string {
  const v = raw.trim();
  const shape = "traceparent: expected {version}-{32 hex trace id}-{16 hex parent id}-{2 hex flags}";
  if (v.length < 55 || v.charCodeAt(2) != 0x2d || v.charCodeAt(35) != 0x2d || v.charCodeAt(52) != 0x2d)
    return shape;
  const version = v.substring(0, 2);
  if (!isLowerHexOf(version, 2)) return shape;
  if (version == "ff") return "traceparent: version ff is invalid";
  // Version 00 has exactly four fields; later versions may append fields after a "-".
  if (v.length > 55 && (version == "00" || v.charCodeAt(55) != 0x2d)) return shape;
  const trace = v.substring(3, 35);
  const span = v.substring(36, 52);
  const flags = v.substring(53, 55);
  if (!isLowerHexOf(trace, 32) || !isLowerHexOf(span, 16) || !isLowerHexOf(flags, 2)) return shape;
  if (allZero(trace)) return "traceparent: trace id: all zeros";
  if (allZero(span)) return "traceparent: parent id: all zeros";
  out.traceId = trace;
  out.spanId = span;
  const last = flags.charCodeAt(1);
  out.sampled = ((last <= 0x39 ? last - 0x30 : last - 0x61 + 10) & 1) == 1; // bit 0 of the flags: sampled
  return "";
}

/** `id` as the 32 hex characters W3C needs: a 64-bit id is left-padded with zeros. */
export function to128(id: string): string {
  return id.length == 16 ? "0000000000000000" + id : id;
}

/**
 * The context of a valid traceparent, refined by the `b3` member of tracestate (`b3`, may be null) when
 * that member describes the same trace: it restores a 64-bit trace id, debug, a deferred decision and
 * the parent. When a W3C-only hop created a new span (traceparent's span differs from the member's), the
 * member's span becomes the parent. The traceparent's sampled flag wins over the member's decision.
 */
export function fromW3c(tp: TraceParent, b3: string | null): TraceContext {
  const ctx = new TraceContext();
  ctx.traceId = tp.traceId;
  ctx.spanId = tp.spanId;
  ctx.sampling = tp.sampled ? Sampling.Accept : Sampling.Deny;
  if (b3 === null) return ctx;
  const m = parseSingle(b3, "tracestate b3");
  const mc = m.ctx;
  if (mc === null || !mc.hasIds || to128(mc.traceId) != tp.traceId) return ctx;
  ctx.traceId = mc.traceId;
  ctx.parentId = mc.spanId == tp.spanId ? mc.parentId : mc.spanId;
  if (tp.sampled) ctx.sampling = mc.sampling == Sampling.Debug ? Sampling.Debug : Sampling.Accept;
  else ctx.sampling = mc.sampling == Sampling.Defer ? Sampling.Defer : Sampling.Deny;
  return ctx;
}

// --- Encoding --------------------------------------------------------------------------------------

function samplingText(s: Sampling): string {
  if (s == Sampling.Deny) return "0";
  if (s == Sampling.Accept) return "1";
  if (s == Sampling.Debug) return "d";
  return "";
}

/** The `b3` single value, or "" for a deferred context without ids (nothing to say). */
export function encodeSingle(ctx: TraceContext): string {
  const s = samplingText(ctx.sampling);
  if (!ctx.hasIds) return s;
  let out = ctx.traceId + "-" + ctx.spanId;
  if (s.length > 0) out += "-" + s;
  if (ctx.parentId.length > 0) out += "-" + ctx.parentId;
  return out;
}

/** `x-b3-sampled` for a context: "1", "0", or "" (absent: debug says it through x-b3-flags; defer). */
export function multiSampled(ctx: TraceContext): string {
  if (ctx.sampling == Sampling.Accept) return "1";
  if (ctx.sampling == Sampling.Deny) return "0";
  return "";
}

/** `traceparent` for a context with ids. W3C flags cannot say "defer": it is sent as 00. */
export function encodeTraceParent(ctx: TraceContext): string {
  const sampled = ctx.sampling == Sampling.Accept || ctx.sampling == Sampling.Debug;
  return "00-" + to128(ctx.traceId) + "-" + ctx.spanId + (sampled ? "-01" : "-00");
}

/** `tracestate` with the `b3` member first (W3C: an updated member moves left), at most 32 members. */
export function encodeTraceState(ctx: TraceContext, incoming: string | null): string {
  let out = "b3=" + encodeSingle(ctx);
  if (incoming !== null) {
    const others = traceStateOthers(incoming, 31);
    for (let i = 0; i < others.length; i++) out += "," + unchecked(others[i]);
  }
  return out;
}

/** The name of a sampling state as the plugin exposes it (property `wasmgate.sampling`). */
export function samplingName(s: Sampling): string {
  if (s == Sampling.Deny) return "deny";
  if (s == Sampling.Accept) return "accept";
  if (s == Sampling.Debug) return "debug";
  return "defer";
}

/** The low 64 bits of a hex trace id (its last 16 characters). */
export function low64(traceId: string): u64 {
  let v: u64 = 0;
  const start = traceId.length > 16 ? traceId.length - 16 : 0;
  for (let i = start; i < traceId.length; i++) {
    const c = traceId.charCodeAt(i);
    const d = c <= 0x39 ? c - 0x30 : c - 0x61 + 10;
    v = (v << 4) | (<u64>(d & 0xf));
  }
  return v;
}
