// The plugin configuration (the WasmPlugin `pluginConfig`), read and validated in `onConfigure`. Every
// problem is reported with its field path; see config.schema.json and README.md for the whole surface.

import { ConfigReader, JsonKind, LogLevel, getEnv, isToken } from "../../../assembly";
import { DEFAULT_MASKED_HEADERS, DEFAULT_MASKED_QUERY_PARAMS, RedactMode, Redactor } from "./redact";

/** Status classes of `conditions.statusClasses`; "none" is a stream that ended without a response. */
export const STATUS_CLASSES: Array<string> = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];

const LOG_LEVELS: Array<string> = ["debug", "info", "warn"];

/** Headers the collector request may not set: Envoy derives them or they would break the call. */
const RESERVED_SINK_HEADERS: Array<string> = [
  ":method",
  ":path",
  ":authority",
  ":scheme",
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
];

/** Sink (b): NDJSON batches to an Envoy cluster through `dispatch_http_call`. */
export class HttpSinkConfig {
  cluster: string = "";
  path: string = "/";
  authority: string = "";
  /** Extra request headers for the collector (lower-case names), flat: name, value, name, value... */
  headers: Array<string> = new Array<string>();
  timeoutMs: i64 = 5000;
  batchMaxRecords: i32 = 100;
  batchMaxBytes: i32 = 1 << 20;
  flushIntervalMs: i64 = 1000;
  bufferMaxRecords: i32 = 10000;
  bufferMaxBytes: i32 = 8 << 20;
  initialBackoffMs: i64 = 500;
  maxBackoffMs: i64 = 30000;
  maxRetries: i32 = 10;
  jitter: f64 = 0.2;

  /** The timer period of every root context: fine enough for the flush interval and the first backoff. */
  get tickMs(): u32 {
    let t = min(this.flushIntervalMs, this.initialBackoffMs) / 2;
    if (t < 20) t = 20;
    if (t > 500) t = 500;
    return <u32>t;
  }
}

/** Optional bounded body capture. */
export class BodyConfig {
  request: bool = false;
  response: bool = false;
  maxBytes: i32 = 1024;
  /** Lower-case `type/subtype` values; parameters of the message's Content-Type are ignored. */
  contentTypes: Array<string> = ["application/json", "application/x-www-form-urlencoded", "text/plain"];
}

export class Config {
  logSink: bool = true;
  logLevel: LogLevel = LogLevel.Info;
  http: HttpSinkConfig | null = null;

  /** Request headers to log (lower-case); ["*"] logs every header. */
  requestHeaders: Array<string> = new Array<string>();
  responseHeaders: Array<string> = new Array<string>();
  /** Headers never logged, even when listed or matched by "*". */
  excludeHeaders: Array<string> = new Array<string>();

  redactor: Redactor = new Redactor();

  /** Bit i set = status class i logged (1xx..5xx at bits 1..5, "none" at bit 0). */
  statusClassMask: u32 = 0x3f;
  minDurationMs: i64 = 0;
  excludePaths: Array<string> = new Array<string>();
  excludePathPrefixes: Array<string> = new Array<string>();

  samplingRate: f64 = 1.0;
  alwaysLogErrors: bool = true;
  honorTraceSampled: bool = false;

  body: BodyConfig = new BodyConfig();
  maxValueLength: i32 = 2048;

  get allRequestHeaders(): bool {
    return this.requestHeaders.includes("*");
  }

  get allResponseHeaders(): bool {
    return this.responseHeaders.includes("*");
  }
}

function lowerHeaderList(r: ConfigReader, key: string, allowStar: bool): Array<string> {
  const list = r.optionalStringArray(key);
  const out = new Array<string>();
  for (let i = 0; i < list.length; i++) {
    const name = unchecked(list[i]).toLowerCase();
    if (name == "*" && allowStar) {
      out.push(name);
      continue;
    }
    if (name == "*" || !isToken(name)) {
      r.error(
        r.path + (r.path.length > 0 ? "." : "") + key + "[" + i.toString() + "]",
        "expected a header name" + (allowStar ? ' or "*"' : "") + ', got "' + unchecked(list[i]) + '"',
      );
      continue;
    }
    out.push(name);
  }
  return out;
}

function join(path: string, key: string): string {
  return path.length == 0 ? key : path + "." + key;
}

function readHttpSink(r: ConfigReader): HttpSinkConfig {
  const h = new HttpSinkConfig();
  h.cluster = r.requiredString("cluster");
  if (h.cluster.length == 0 && r.has("cluster"))
    r.fieldError("cluster", 'expected a non-empty string, got ""');
  h.path = r.optionalString("path", "/");
  if (!h.path.startsWith("/"))
    r.fieldError("path", 'expected a path starting with "/", got "' + h.path + '"');
  h.authority = r.optionalNonEmptyString("authority", h.cluster);
  const headers = r.optionalObject("headers");
  if (headers !== null) {
    const v = headers.value;
    for (let i = 0; i < v.keys.length; i++) {
      const name = unchecked(v.keys[i]).toLowerCase();
      const value = unchecked(v.values[i]);
      const p = join(headers.path, unchecked(v.keys[i]));
      if (RESERVED_SINK_HEADERS.includes(name))
        r.error(p, "is set by the plugin or Envoy and cannot be configured");
      else if (!isToken(name)) r.error(p, "expected a header name");
      else if (value.kind != JsonKind.String) r.error(p, "expected a string, got " + value.describe());
      else {
        h.headers.push(name);
        h.headers.push(value.str);
      }
    }
  }
  h.timeoutMs = r.optionalDurationMs("timeout", 5000, 1, 300_000);
  h.batchMaxRecords = <i32>r.optionalInt("batchMaxRecords", 100, 1, 100_000);
  h.batchMaxBytes = <i32>r.optionalInt("batchMaxBytes", 1 << 20, 1024, 64 << 20);
  h.flushIntervalMs = r.optionalDurationMs("flushInterval", 1000, 10, 3_600_000);
  h.bufferMaxRecords = <i32>r.optionalInt("bufferMaxRecords", 10000, 1, 10_000_000);
  h.bufferMaxBytes = <i32>r.optionalInt("bufferMaxBytes", 8 << 20, 1024, 1 << 30);
  if (h.bufferMaxRecords < h.batchMaxRecords && r.has("bufferMaxRecords")) {
    r.fieldError(
      "bufferMaxRecords",
      "expected at least batchMaxRecords (" +
        h.batchMaxRecords.toString() +
        "), got " +
        h.bufferMaxRecords.toString(),
    );
  }
  const retry = r.optionalObject("retry");
  if (retry !== null) {
    h.initialBackoffMs = retry.optionalDurationMs("initialBackoff", 500, 10, 3_600_000);
    h.maxBackoffMs = retry.optionalDurationMs("maxBackoff", 30000, 10, 3_600_000);
    h.maxRetries = <i32>retry.optionalInt("maxRetries", 10, 0, 1_000_000);
    h.jitter = retry.optionalNumber("jitter", 0.2, 0, 1);
    if (h.maxBackoffMs < h.initialBackoffMs && retry.has("maxBackoff")) {
      retry.fieldError(
        "maxBackoff",
        "expected at least initialBackoff (" +
          h.initialBackoffMs.toString() +
          "ms), got " +
          h.maxBackoffMs.toString() +
          "ms",
      );
    }
    retry.finish();
  }
  r.finish();
  return h;
}

function readPaths(r: ConfigReader, key: string): Array<string> {
  const list = r.optionalStringArray(key);
  for (let i = 0; i < list.length; i++) {
    if (!unchecked(list[i]).startsWith("/")) {
      r.error(
        join(r.path, key) + "[" + i.toString() + "]",
        'expected a path starting with "/", got "' + unchecked(list[i]) + '"',
      );
    }
  }
  return list;
}

/** True for `type/subtype` made of token characters. */
function isMediaType(s: string): bool {
  const slash = s.indexOf("/");
  if (slash <= 0 || slash == s.length - 1) return false;
  return isToken(s.substring(0, slash)) && isToken(s.substring(slash + 1));
}

/** Parses and validates the configuration; `errors` of the returned reader say what is wrong. */
export function parseConfig(text: string, cfg: Config): ConfigReader {
  const r = ConfigReader.parse(text);

  // --- Sinks
  const sinks = r.optionalObject("sinks");
  if (sinks !== null) {
    const logSink = sinks.optionalObject("log");
    if (logSink !== null) {
      cfg.logSink = logSink.optionalBool("enabled", true);
      const level = logSink.optionalEnum("level", LOG_LEVELS, "info");
      cfg.logLevel = level == "debug" ? LogLevel.Debug : level == "warn" ? LogLevel.Warn : LogLevel.Info;
      logSink.finish();
    }
    const http = sinks.optionalObject("http");
    if (http !== null) cfg.http = readHttpSink(http);
    sinks.finish();
    if (!cfg.logSink && cfg.http === null) {
      r.error("sinks", "no sink enabled: set sinks.log.enabled to true or configure sinks.http");
    }
  }

  // --- Headers
  const headers = r.optionalObject("headers");
  if (headers !== null) {
    cfg.requestHeaders = lowerHeaderList(headers, "request", true);
    cfg.responseHeaders = lowerHeaderList(headers, "response", true);
    cfg.excludeHeaders = lowerHeaderList(headers, "exclude", false);
    headers.finish();
  }

  // --- Redaction
  const red = cfg.redactor;
  const redact = r.optionalObject("redact");
  if (redact !== null) {
    const mode = redact.optionalEnum("mode", ["mask", "hash"], "mask");
    red.mode = mode == "hash" ? RedactMode.Hash : RedactMode.Mask;
    const extraHeaders = lowerHeaderList(redact, "headers", false);
    for (let i = 0; i < extraHeaders.length; i++) red.maskedHeaders.push(unchecked(extraHeaders[i]));
    const params = redact.optionalStringArray("queryParams");
    for (let i = 0; i < params.length; i++) red.maskedParams.push(unchecked(params[i]).toLowerCase());
    const key = redact.optionalString("hashKey", "");
    const keyEnv = redact.optionalString("hashKeyEnv", "");
    if (redact.has("hashKey") && redact.has("hashKeyEnv")) {
      redact.fieldError("hashKeyEnv", 'set either "hashKey" or "hashKeyEnv", not both');
    }
    let keyText = key;
    if (keyEnv.length > 0) {
      const v = getEnv(keyEnv);
      if (v === null || v.length == 0) {
        redact.fieldError(
          "hashKeyEnv",
          'environment variable "' + keyEnv + '" is not set (WasmPlugin vmConfig.env)',
        );
      } else keyText = v;
    }
    if (red.mode == RedactMode.Hash) {
      if (keyText.length == 0 && keyEnv.length == 0) {
        redact.fieldError("hashKey", 'required when redact.mode is "hash" (or set hashKeyEnv)');
      } else if (keyText.length > 0 && keyText.length < 16) {
        redact.fieldError("hashKey", "expected at least 16 characters, got " + keyText.length.toString());
      }
    }
    if (keyText.length > 0) red.setKey(keyText);
    redact.finish();
  }
  for (let i = 0; i < DEFAULT_MASKED_HEADERS.length; i++) red.maskedHeaders.push(DEFAULT_MASKED_HEADERS[i]);
  for (let i = 0; i < DEFAULT_MASKED_QUERY_PARAMS.length; i++)
    red.maskedParams.push(DEFAULT_MASKED_QUERY_PARAMS[i]);

  // --- Conditions
  const cond = r.optionalObject("conditions");
  if (cond !== null) {
    if (cond.has("statusClasses")) {
      const classes = cond.optionalStringArray("statusClasses");
      let mask: u32 = 0;
      for (let i = 0; i < classes.length; i++) {
        const c = unchecked(classes[i]);
        const idx = STATUS_CLASSES.indexOf(c);
        if (idx < 0) {
          cond.error(
            join(cond.path, "statusClasses") + "[" + i.toString() + "]",
            'expected one of "1xx", "2xx", "3xx", "4xx", "5xx", "none", got "' + c + '"',
          );
        } else {
          const bit: u32 = idx == 5 ? 0 : <u32>idx + 1; // "none" is bit 0, 1xx..5xx bits 1..5
          mask |= 1 << bit;
        }
      }
      if (classes.length == 0 && cond.value.get("statusClasses")!.kind == JsonKind.Array) {
        cond.fieldError("statusClasses", "expected at least 1 item(s), got 0");
      }
      cfg.statusClassMask = mask;
    } else cond.raw("statusClasses");
    cfg.minDurationMs = cond.optionalDurationMs("minDuration", 0, 1, 86_400_000);
    cfg.excludePaths = readPaths(cond, "excludePaths");
    cfg.excludePathPrefixes = readPaths(cond, "excludePathPrefixes");
    cond.finish();
  }

  // --- Sampling
  const sampling = r.optionalObject("sampling");
  if (sampling !== null) {
    cfg.samplingRate = sampling.optionalNumber("rate", 1.0, 0, 1);
    cfg.alwaysLogErrors = sampling.optionalBool("alwaysLogErrors", true);
    cfg.honorTraceSampled = sampling.optionalBool("honorTraceSampled", false);
    sampling.finish();
  }

  // --- Body capture
  const body = r.optionalObject("body");
  if (body !== null) {
    const b = cfg.body;
    b.request = body.optionalBool("request", false);
    b.response = body.optionalBool("response", false);
    b.maxBytes = <i32>body.optionalInt("maxBytes", 1024, 1, 65536);
    if (body.has("contentTypes")) {
      const types = body.optionalStringArray("contentTypes");
      b.contentTypes = new Array<string>();
      for (let i = 0; i < types.length; i++) {
        const t = unchecked(types[i]).toLowerCase();
        if (!isMediaType(t)) {
          body.error(
            join(body.path, "contentTypes") + "[" + i.toString() + "]",
            'expected a media type like "application/json", got "' + unchecked(types[i]) + '"',
          );
        } else b.contentTypes.push(t);
      }
    } else body.raw("contentTypes");
    body.finish();
  }

  cfg.maxValueLength = <i32>r.optionalInt("maxValueLength", 2048, 16, 65536);
  r.finish();
  return r;
}
