// The trace block of a record, filled from whichever propagation format the request carried. Precedence
// when several arrived: B3 single (`b3`), then B3 multi (`x-b3-*`), then W3C (`traceparent`). A header
// that does not parse is ignored and the next format is tried; nothing here traps on malformed input.
// Ids are logged lower-case (upper-case hex and surrounding spaces are accepted, as the b3 plugin does).

import { HttpContext, isAllZero, isLowerHex } from "../../../assembly";

export class TraceContext {
  /** "b3", "b3multi" or "w3c". */
  format: string = "";
  traceId: string = "";
  spanId: string = "";
  parentSpanId: string | null = null;
  /** 1 sampled, 0 not sampled, -1 no decision in the headers. */
  sampled: i32 = -1;
  debug: bool = false;

  /** True when a trace id is present (a B3 "sampling state only" header has none). */
  get hasTraceId(): bool {
    return this.traceId.length > 0;
  }
}

function isId(s: string, len: i32): bool {
  return s.length == len && isLowerHex(s) && !isAllZero(s);
}

function isTraceId(s: string): bool {
  return isId(s, 16) || isId(s, 32);
}

/** `b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]` or just `{SamplingState}`. */
export function parseB3Single(value: string): TraceContext | null {
  const v = value.trim().toLowerCase();
  const t = new TraceContext();
  t.format = "b3";
  if (v == "0" || v == "1" || v == "d") {
    t.sampled = v == "0" ? 0 : 1;
    t.debug = v == "d";
    return t;
  }
  const parts = v.split("-");
  if (parts.length < 2 || parts.length > 4) return null;
  const traceId = unchecked(parts[0]);
  const spanId = unchecked(parts[1]);
  if (!isTraceId(traceId) || !isId(spanId, 16)) return null;
  t.traceId = traceId;
  t.spanId = spanId;
  if (parts.length >= 3) {
    const s = unchecked(parts[2]);
    if (s == "1") t.sampled = 1;
    else if (s == "0") t.sampled = 0;
    else if (s == "d") {
      t.sampled = 1;
      t.debug = true;
    } else return null;
  }
  if (parts.length == 4) {
    const p = unchecked(parts[3]);
    if (!isId(p, 16)) return null;
    t.parentSpanId = p;
  }
  return t;
}

/** `x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`, `x-b3-flags`. */
export function parseB3Multi(ctx: HttpContext): TraceContext | null {
  const traceId = ctx.getRequestHeader("x-b3-traceid");
  const sampled = ctx.getRequestHeader("x-b3-sampled");
  const flags = ctx.getRequestHeader("x-b3-flags");
  if (traceId === null && sampled === null && flags === null) return null;
  const t = new TraceContext();
  t.format = "b3multi";
  if (sampled !== null) {
    const s = sampled.trim();
    if (s == "1" || s == "true") t.sampled = 1;
    else if (s == "0" || s == "false") t.sampled = 0;
  }
  if (flags !== null && flags.trim() == "1") {
    t.debug = true;
    t.sampled = 1;
  }
  if (traceId === null) return t; // sampling state only
  const tid = traceId.trim().toLowerCase();
  const span = ctx.getRequestHeader("x-b3-spanid");
  const sid = span === null ? "" : span.trim().toLowerCase();
  if (!isTraceId(tid) || !isId(sid, 16)) return null;
  t.traceId = tid;
  t.spanId = sid;
  const parent = ctx.getRequestHeader("x-b3-parentspanid");
  if (parent !== null) {
    const p = parent.trim().toLowerCase();
    if (isId(p, 16)) t.parentSpanId = p;
  }
  return t;
}

/** W3C `traceparent: {version}-{trace-id}-{parent-id}-{flags}`; version ff is invalid. */
export function parseTraceparent(value: string): TraceContext | null {
  const parts = value.trim().toLowerCase().split("-");
  if (parts.length < 4) return null;
  const version = unchecked(parts[0]);
  if (version.length != 2 || !isLowerHex(version) || version == "ff") return null;
  if (version == "00" && parts.length != 4) return null;
  const traceId = unchecked(parts[1]);
  const spanId = unchecked(parts[2]);
  const flags = unchecked(parts[3]);
  if (!isId(traceId, 32) || !isId(spanId, 16) || flags.length != 2 || !isLowerHex(flags)) return null;
  const t = new TraceContext();
  t.format = "w3c";
  t.traceId = traceId;
  t.spanId = spanId;
  t.sampled = (I32.parseInt(flags, 16) & 1) != 0 ? 1 : 0;
  return t;
}

/** The trace context of a request, or null when it carried none that parses. */
export function extractTrace(ctx: HttpContext): TraceContext | null {
  const b3 = ctx.getRequestHeader("b3");
  if (b3 !== null) {
    const t = parseB3Single(b3);
    if (t !== null) return t;
  }
  const multi = parseB3Multi(ctx);
  if (multi !== null) return multi;
  const tp = ctx.getRequestHeader("traceparent");
  if (tp !== null) {
    const t = parseTraceparent(tp);
    if (t !== null) return t;
  }
  return null;
}

/** The low 64 bits of a trace id (its last 16 hex digits). */
export function traceIdLow64(traceId: string): u64 {
  const s = traceId.length > 16 ? traceId.substring(traceId.length - 16) : traceId;
  let v: u64 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = c <= 0x39 ? c - 0x30 : c - 0x61 + 10;
    v = (v << 4) | (<u64>d);
  }
  return v;
}
