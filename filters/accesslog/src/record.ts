// Building one access-log record in `onLog`: the decision whether to log (conditions, sampling) and the
// JSON itself. Field names and meanings are documented in README.md ("Record schema").

import {
  HttpContext,
  getPropertyI64,
  getPropertyString,
  fnv1a64,
  mix64,
  randomU64,
  withoutQuery,
} from "../../../assembly";
import { BodyCapture, skipName } from "./body";
import { Config } from "./config";
import { JsonWriter } from "./json";
import { TraceContext, extractTrace, traceIdLow64 } from "./trace";

export const SCHEMA_VERSION = 1;

/** Envoy's response flags by bit (StreamInfo::CoreResponseFlag), as `%RESPONSE_FLAGS%` spells them. */
const RESPONSE_FLAGS: Array<string> = [
  "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX", "SI",
  "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR", "UDO",
]; // prettier-ignore

/** The facts the logging decision needs, read once in `onLog`. */
export class Outcome {
  path: string = "";
  /** `response.code`, 0 when the stream ended without a response. */
  status: i64 = 0;
  /** `request.duration` in ns, -1 when Envoy did not set it. */
  durationNs: i64 = -1;
  trace: TraceContext | null = null;
}

export function readOutcome(ctx: HttpContext): Outcome {
  const o = new Outcome();
  const p = ctx.getRequestHeader(":path");
  o.path = p === null ? "" : p;
  const code = getPropertyI64(["response", "code"], 0);
  o.status = code < 0 ? 0 : code;
  o.durationNs = getPropertyI64(["request", "duration"], -1);
  o.trace = extractTrace(ctx);
  return o;
}

/** 0 for "none" (no response), 1..5 for 1xx..5xx. */
export function statusClass(status: i64): u32 {
  if (status <= 0) return 0;
  const c = status / 100;
  return c < 1 ? 1 : c > 5 ? 5 : <u32>c;
}

function isError(status: i64): bool {
  return status == 0 || status >= 400;
}

/**
 * The sampling key: the low 64 bits of the trace id shifted right by one, exactly what OpenTelemetry's
 * TraceIdRatioBased sampler (Go SDK) compares with `rate * 2^63`, so logs line up with traces sampled at
 * the same rate. Without a trace id: a hash of `x-request-id`, else a random value.
 */
export function samplingKey(ctx: HttpContext, trace: TraceContext | null): u64 {
  if (trace !== null && trace.hasTraceId) return traceIdLow64(trace.traceId) >> 1;
  const id = ctx.getRequestHeader("x-request-id");
  if (id !== null && id.length > 0) return mix64(fnv1a64(id)) >> 1;
  return randomU64() >> 1;
}

/** True when `key` (< 2^63) falls under `rate`. */
export function sampledAt(key: u64, rate: f64): bool {
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  const bound = <u64>(rate * 9223372036854775808.0);
  return key < bound;
}

/** Whether this stream gets a record. See README.md "Conditions and sampling" for the order. */
export function shouldLog(cfg: Config, ctx: HttpContext, o: Outcome): bool {
  const urlPath = withoutQuery(o.path);
  if (cfg.excludePaths.includes(urlPath)) return false;
  for (let i = 0; i < cfg.excludePathPrefixes.length; i++)
    if (urlPath.startsWith(unchecked(cfg.excludePathPrefixes[i]))) return false;
  if ((cfg.statusClassMask & ((<u32>1) << statusClass(o.status))) == 0) return false;
  if (cfg.alwaysLogErrors && isError(o.status)) return true;
  if (cfg.minDurationMs > 0 && (o.durationNs < 0 || o.durationNs < cfg.minDurationMs * 1_000_000))
    return false;
  const t = o.trace;
  if (cfg.honorTraceSampled && t !== null && (t.sampled == 1 || t.debug)) return true;
  if (cfg.samplingRate >= 1.0) return true;
  return sampledAt(samplingKey(ctx, t), cfg.samplingRate);
}

// --- Formatting ----------------------------------------------------------------------------------

function pad(v: i64, width: i32): string {
  let s = v.toString();
  while (s.length < width) s = "0" + s;
  return s;
}

/** Nanoseconds since the epoch as RFC 3339 UTC with milliseconds: `2026-01-01T00:00:00.000Z`. */
export function rfc3339(ns: i64): string {
  const ms = ns / 1_000_000;
  let days = ms / 86_400_000;
  let rem = ms % 86_400_000;
  if (rem < 0) {
    rem += 86_400_000;
    days--;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
  const z = days + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return (
    pad(y, 4) +
    "-" +
    pad(m, 2) +
    "-" +
    pad(d, 2) +
    "T" +
    pad(rem / 3_600_000, 2) +
    ":" +
    pad((rem / 60_000) % 60, 2) +
    ":" +
    pad((rem / 1000) % 60, 2) +
    "." +
    pad(rem % 1000, 3) +
    "Z"
  );
}

/** Nanoseconds as milliseconds with microsecond precision: 1234567 → "1.234". */
export function millis(ns: i64): string {
  const us = ns / 1000;
  return (us / 1000).toString() + "." + pad(us % 1000, 3);
}

/** The names of the set bits of `response.flags`. */
export function responseFlags(bits: i64): Array<string> {
  const out = new Array<string>();
  for (let i = 0; i < RESPONSE_FLAGS.length; i++)
    if ((bits & ((<i64>1) << i)) != 0) out.push(unchecked(RESPONSE_FLAGS[i]));
  return out;
}

// --- The record ----------------------------------------------------------------------------------

function headersBlock(
  w: JsonWriter,
  key: string,
  cfg: Config,
  names: Array<string>,
  all: bool,
  pairs: Array<string>,
): void {
  // pairs: flat name, value list as Envoy delivered them (names lower-case).
  const outNames = new Array<string>();
  const outValues = new Array<string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = unchecked(pairs[i]);
    if (name.startsWith(":")) continue;
    if (!all && !names.includes(name)) continue;
    if (cfg.excludeHeaders.includes(name)) continue;
    let value = unchecked(pairs[i + 1]);
    const red = cfg.redactor;
    if (red.isSensitiveHeader(name)) value = red.header(name, value);
    else if (name == "referer" || name == "location") value = red.path(value);
    const at = outNames.indexOf(name);
    if (at < 0) {
      outNames.push(name);
      outValues.push(value);
    } else {
      const sep = name == "cookie" ? "; " : ", ";
      unchecked((outValues[at] = unchecked(outValues[at]) + sep + value));
    }
  }
  w.key(key);
  w.beginObject();
  for (let i = 0; i < outNames.length; i++) w.fieldString(unchecked(outNames[i]), unchecked(outValues[i]));
  w.endObject();
}

function flatPairs(ctx: HttpContext, response: bool): Array<string> {
  const list = response ? ctx.getResponseHeaders() : ctx.getRequestHeaders();
  const out = new Array<string>();
  for (let i = 0; i < list.length; i++) {
    const h = unchecked(list[i]);
    out.push(h.name);
    out.push(h.value);
  }
  return out;
}

function bodyBlock(w: JsonWriter, key: string, b: BodyCapture | null): void {
  w.key(key);
  if (b === null || b.seen == 0) {
    w.null();
    return;
  }
  const text = b.text();
  w.beginObject();
  if (text === null) {
    w.fieldString("skipped", skipName(b.skip));
  } else {
    // The capture is already bounded by body.maxBytes; do not cut it again.
    const max = w.maxValueLength;
    w.maxValueLength = 0x7fffffff;
    w.fieldString("text", text);
    w.maxValueLength = max;
    w.fieldBool("truncated", b.truncated);
  }
  w.fieldInt("size", b.seen);
  w.endObject();
}

function stringProperty(w: JsonWriter, key: string, path: Array<string>): void {
  w.fieldNullableString(key, getPropertyString(path));
}

/** The record of the stream `ctx`, as one line of JSON. */
export function buildRecord(
  cfg: Config,
  ctx: HttpContext,
  o: Outcome,
  reqBody: BodyCapture | null,
  resBody: BodyCapture | null,
): string {
  const w = new JsonWriter(cfg.maxValueLength);
  w.beginObject();
  w.fieldInt("schema_version", SCHEMA_VERSION);
  const start = getPropertyI64(["request", "time"], -1);
  w.fieldNullableString("start_time", start < 0 ? null : rfc3339(start));
  w.key("duration_ms");
  if (o.durationNs < 0) w.null();
  else w.number(millis(o.durationNs));
  w.fieldNullableString("method", ctx.getRequestHeader(":method"));
  w.fieldNullableString("scheme", ctx.getRequestHeader(":scheme"));
  w.fieldNullableString("authority", ctx.getRequestHeader(":authority"));
  w.fieldString("path", cfg.redactor.path(o.path));
  stringProperty(w, "protocol", ["request", "protocol"]);
  w.key("status");
  if (o.status == 0) w.null();
  else w.int(o.status);
  stringProperty(w, "response_code_details", ["response", "code_details"]);
  const flags = responseFlags(getPropertyI64(["response", "flags"], 0));
  w.key("response_flags");
  w.beginArray();
  for (let i = 0; i < flags.length; i++) w.string(unchecked(flags[i]));
  w.endArray();
  w.fieldIntOrNull("request_size", getPropertyI64(["request", "size"], -1));
  w.fieldIntOrNull("request_total_size", getPropertyI64(["request", "total_size"], -1));
  w.fieldIntOrNull("response_size", getPropertyI64(["response", "size"], -1));
  w.fieldIntOrNull("response_total_size", getPropertyI64(["response", "total_size"], -1));
  stringProperty(w, "client_address", ["source", "address"]);
  w.fieldNullableString("user_agent", ctx.getRequestHeader("user-agent"));
  w.fieldNullableString("request_id", ctx.getRequestHeader("x-request-id"));
  stringProperty(w, "route_name", ["xds", "route_name"]);
  stringProperty(w, "upstream_cluster", ["xds", "cluster_name"]);
  stringProperty(w, "upstream_host", ["upstream", "address"]);

  w.key("trace");
  const t = o.trace;
  if (t === null) w.null();
  else {
    w.beginObject();
    w.fieldString("format", t.format);
    w.fieldNullableString("trace_id", t.hasTraceId ? t.traceId : null);
    w.fieldNullableString("span_id", t.hasTraceId ? t.spanId : null);
    w.fieldNullableString("parent_span_id", t.parentSpanId);
    w.key("sampled");
    if (t.sampled < 0) w.null();
    else w.bool(t.sampled == 1);
    w.fieldBool("debug", t.debug);
    w.endObject();
  }

  if (cfg.requestHeaders.length > 0)
    headersBlock(w, "request_headers", cfg, cfg.requestHeaders, cfg.allRequestHeaders, flatPairs(ctx, false));
  if (cfg.responseHeaders.length > 0)
    headersBlock(
      w,
      "response_headers",
      cfg,
      cfg.responseHeaders,
      cfg.allResponseHeaders,
      flatPairs(ctx, true),
    );
  if (cfg.body.request) bodyBlock(w, "request_body", reqBody);
  if (cfg.body.response) bodyBlock(w, "response_body", resBody);
  w.endObject();
  return w.toString();
}
