// The one translation step between the raw ABI (./abi/imports.ts) and the idiomatic API: pointers become
// strings and buffers, and host statuses are mapped in exactly one way, here.
//
// - A status the caller can meet in normal operation becomes a value: `null` for "absent", `false` for
//   "refused", `0` for "no token". Which statuses count as expected is listed per function.
// - Any other status is a bug in the SDK or the host: `fail` logs it at critical, naming the host call
//   and the status, and traps (Envoy then applies the plugin's failure policy).
//
// Filters normally use the methods of the context classes (./context.ts) instead of these functions.

import * as abi from "./abi/imports";
import { BufferType, LogLevel, MapType, MetricType, Status, StreamType } from "./abi/enums";
import { fail } from "./internal/fail";
import {
  bytesLen,
  bytesPtr,
  clearOut,
  encode,
  encodedLength,
  freeHost,
  OUT0,
  OUT1,
  OUT2,
  out32,
  out64,
  takeBytes,
  takeString,
} from "./internal/memory";
import { deserializeHeaders, serializeHeaders, serializePath } from "./internal/serde";
import { Header } from "./headers";

// Masks of the statuses a wrapper treats as expected values.
const NONE: u32 = 0;
const NOT_FOUND: u32 = 1 << Status.NotFound;
const BAD_ARGUMENT: u32 = 1 << Status.BadArgument;
const SERIALIZATION_FAILURE: u32 = 1 << Status.SerializationFailure;
const PARSE_FAILURE: u32 = 1 << Status.ParseFailure;
const EMPTY: u32 = 1 << Status.Empty;
const CAS_MISMATCH: u32 = 1 << Status.CasMismatch;
const INTERNAL_FAILURE: u32 = 1 << Status.InternalFailure;
const UNIMPLEMENTED: u32 = 1 << Status.Unimplemented;

/**
 * The status policy: true for OK, false for a status in `expected`, and for anything else a critical
 * log line naming `hostcall` and the status, then a trap.
 */
function check(hostcall: string, status: u32, expected: u32): bool {
  if (status == Status.Ok) return true;
  if (status < 32 && (expected & (1 << status)) != 0) return false;
  fail(hostcall, status);
  return false;
}

// --- Logging -------------------------------------------------------------------------------------

/** Sends a log line to the host. Never fails: a refused log line is dropped. Valid in every phase. */
export function log(level: LogLevel, message: string): void {
  const p = encode(0, message);
  abi.proxy_log(level, p, encodedLength(0));
}

/** The host's current log level for this plugin (Envoy: the `wasm` logger; 6 = off). */
export function getLogLevel(): LogLevel {
  const s = abi.proxy_get_log_level(OUT0);
  check("proxy_get_log_level", s, NONE);
  return <LogLevel>out32(OUT0);
}

// --- Clocks and timers ---------------------------------------------------------------------------

/** Wall-clock time in nanoseconds since the Unix epoch (Envoy's system time source). */
export function getCurrentTimeNanoseconds(): u64 {
  const s = abi.proxy_get_current_time_nanoseconds(OUT0);
  check("proxy_get_current_time_nanoseconds", s, NONE);
  return out64(OUT0);
}

/** Sets the tick period of the calling root context; 0 stops ticks. Not valid during `_initialize`. */
export function setTickPeriodMilliseconds(periodMs: u32): void {
  const s = abi.proxy_set_tick_period_milliseconds(periodMs);
  check("proxy_set_tick_period_milliseconds", s, NONE);
}

// --- Context management --------------------------------------------------------------------------

/** Switches later host calls to `contextId`. Expected: BAD_ARGUMENT (unknown id) → false. */
export function setEffectiveContext(contextId: u32): bool {
  const s = abi.proxy_set_effective_context(contextId);
  return check("proxy_set_effective_context", s, BAD_ARGUMENT | NOT_FOUND);
}

/** Signals that a root context that deferred its shutdown is done. Expected: NOT_FOUND → false. */
export function done(): bool {
  const s = abi.proxy_done();
  return check("proxy_done", s, NOT_FOUND);
}

// --- Buffers -------------------------------------------------------------------------------------

/**
 * Up to `maxSize` bytes of a buffer from `start`. Expected: NOT_FOUND and BAD_ARGUMENT (the buffer is
 * not available in this callback) → null. An existing but empty buffer is an empty ArrayBuffer.
 */
export function getBufferBytes(bufferType: BufferType, start: u32, maxSize: u32): ArrayBuffer | null {
  clearOut();
  const s = abi.proxy_get_buffer_bytes(bufferType, start, maxSize, OUT0, OUT1);
  if (check("proxy_get_buffer_bytes", s, NOT_FOUND | BAD_ARGUMENT))
    return takeBytes(<usize>out32(OUT0), <usize>out32(OUT1));
  return null;
}

/**
 * Writes `data` into a buffer. Envoy: `start == 0` drops the first `size` bytes and prepends `data`;
 * `start >=` the buffer length appends; anything else is refused. Expected: NOT_FOUND, BAD_ARGUMENT → false.
 */
export function setBufferBytes(bufferType: BufferType, start: u32, size: u32, data: ArrayBuffer): bool {
  const s = abi.proxy_set_buffer_bytes(bufferType, start, size, bytesPtr(data), bytesLen(data));
  return check("proxy_set_buffer_bytes", s, NOT_FOUND | BAD_ARGUMENT);
}

/** The length of a buffer, or -1 when it is not available (NOT_FOUND, BAD_ARGUMENT). */
export function getBufferSize(bufferType: BufferType): i64 {
  clearOut();
  const s = abi.proxy_get_buffer_status(bufferType, OUT0, OUT1);
  if (check("proxy_get_buffer_status", s, NOT_FOUND | BAD_ARGUMENT)) return <i64>out32(OUT0);
  return -1;
}

// --- HTTP fields ---------------------------------------------------------------------------------

/**
 * The serialized size in bytes of a map (Envoy answers bytes, not pairs), or -1 when the map is not
 * available (NOT_FOUND, BAD_ARGUMENT).
 */
export function getHeaderMapSize(mapType: MapType): i64 {
  clearOut();
  const s = abi.proxy_get_header_map_size(mapType, OUT0);
  if (check("proxy_get_header_map_size", s, NOT_FOUND | BAD_ARGUMENT)) return <i64>out32(OUT0);
  return -1;
}

/** Every pair of a map, in order. Outside the map's window Envoy answers an empty list. */
export function getHeaderMapPairs(mapType: MapType): Array<Header> {
  clearOut();
  const s = abi.proxy_get_header_map_pairs(mapType, OUT0, OUT1);
  if (!check("proxy_get_header_map_pairs", s, NOT_FOUND | BAD_ARGUMENT)) return new Array<Header>();
  const ptr = <usize>out32(OUT0);
  const pairs = deserializeHeaders(ptr, <usize>out32(OUT1));
  freeHost(ptr);
  return pairs;
}

/** Replaces a whole map. Expected: NOT_FOUND, BAD_ARGUMENT (map not writable now) → false. */
export function setHeaderMapPairs(mapType: MapType, headers: Array<Header>): bool {
  const buf = serializeHeaders(headers);
  const s = abi.proxy_set_header_map_pairs(mapType, changetype<usize>(buf), <usize>buf.byteLength);
  return check("proxy_set_header_map_pairs", s, NOT_FOUND | BAD_ARGUMENT);
}

/**
 * The value of `key` (first value in Envoy when repeated), `""` when present and empty, null when absent
 * (NOT_FOUND) or when the map is not available in this callback (BAD_ARGUMENT).
 */
export function getHeaderMapValue(mapType: MapType, key: string): string | null {
  clearOut();
  const k = encode(0, key);
  const s = abi.proxy_get_header_map_value(mapType, k, encodedLength(0), OUT0, OUT1);
  if (check("proxy_get_header_map_value", s, NOT_FOUND | BAD_ARGUMENT))
    return takeString(<usize>out32(OUT0), <usize>out32(OUT1));
  return null;
}

/** Appends a value. Expected: NOT_FOUND, BAD_ARGUMENT (map not writable now) → false. */
export function addHeaderMapValue(mapType: MapType, key: string, value: string): bool {
  const k = encode(0, key);
  const v = encode(1, value);
  const s = abi.proxy_add_header_map_value(mapType, k, encodedLength(0), v, encodedLength(1));
  return check("proxy_add_header_map_value", s, NOT_FOUND | BAD_ARGUMENT);
}

/** Sets a value, adding the key when absent. Expected: NOT_FOUND, BAD_ARGUMENT → false. */
export function replaceHeaderMapValue(mapType: MapType, key: string, value: string): bool {
  const k = encode(0, key);
  const v = encode(1, value);
  const s = abi.proxy_replace_header_map_value(mapType, k, encodedLength(0), v, encodedLength(1));
  return check("proxy_replace_header_map_value", s, NOT_FOUND | BAD_ARGUMENT);
}

/** Removes every value of `key` (OK when absent). Expected: NOT_FOUND, BAD_ARGUMENT → false. */
export function removeHeaderMapValue(mapType: MapType, key: string): bool {
  const k = encode(0, key);
  const s = abi.proxy_remove_header_map_value(mapType, k, encodedLength(0));
  return check("proxy_remove_header_map_value", s, NOT_FOUND | BAD_ARGUMENT);
}

// --- HTTP streams --------------------------------------------------------------------------------

/** Resumes a paused stream. Expected: BAD_ARGUMENT, NOT_FOUND, UNIMPLEMENTED (Envoy: UPSTREAM) → false. */
export function continueStream(streamType: StreamType): bool {
  const s = abi.proxy_continue_stream(streamType);
  return check("proxy_continue_stream", s, BAD_ARGUMENT | NOT_FOUND | UNIMPLEMENTED);
}

/** Resets or closes a stream. Expected: BAD_ARGUMENT, NOT_FOUND, UNIMPLEMENTED → false. */
export function closeStream(streamType: StreamType): bool {
  const s = abi.proxy_close_stream(streamType);
  return check("proxy_close_stream", s, BAD_ARGUMENT | NOT_FOUND | UNIMPLEMENTED);
}

/** Sends a local reply. Expected: BAD_ARGUMENT, NOT_FOUND (no stream to answer) → false. */
export function sendLocalResponse(
  statusCode: u32,
  details: string,
  body: ArrayBuffer | null,
  headers: Array<Header>,
  grpcStatus: i32,
): bool {
  const d = encode(0, details);
  const h = serializeHeaders(headers);
  const s = abi.proxy_send_local_response(
    statusCode,
    d,
    encodedLength(0),
    bytesPtr(body),
    bytesLen(body),
    changetype<usize>(h),
    <usize>h.byteLength,
    grpcStatus,
  );
  return check("proxy_send_local_response", s, BAD_ARGUMENT | NOT_FOUND);
}

// --- HTTP and gRPC calls -------------------------------------------------------------------------

/** The status the host last reported for a refused callout (for the caller's log line). */
let lastCalloutStatus: Status = Status.Ok;

/** Why the last `httpCall`/`grpcCall`/`grpcStream` answered 0. */
export function lastCalloutRefusal(): Status {
  return lastCalloutStatus;
}

/**
 * Starts an HTTP callout to cluster `upstream`; returns its token, or 0 when the host refused it
 * (BAD_ARGUMENT: unknown cluster, missing `:method`/`:path`/`:authority`, negative timeout;
 * INTERNAL_FAILURE: could not send). `timeoutMs` 0 means no timeout in Envoy.
 */
export function httpCall(
  upstream: string,
  headers: Array<Header>,
  body: ArrayBuffer | null,
  trailers: Array<Header>,
  timeoutMs: u32,
): u32 {
  clearOut();
  const u = encode(0, upstream);
  const h = serializeHeaders(headers);
  const t = serializeHeaders(trailers);
  const s = abi.proxy_http_call(
    u,
    encodedLength(0),
    changetype<usize>(h),
    <usize>h.byteLength,
    bytesPtr(body),
    bytesLen(body),
    changetype<usize>(t),
    <usize>t.byteLength,
    timeoutMs,
    OUT0,
  );
  if (check("proxy_http_call", s, BAD_ARGUMENT | INTERNAL_FAILURE | NOT_FOUND)) return out32(OUT0);
  lastCalloutStatus = <Status>s;
  return 0;
}

/** Starts a unary gRPC call; returns its token or 0 when refused (BAD_ARGUMENT, PARSE_FAILURE, INTERNAL_FAILURE). */
export function grpcCall(
  upstream: string,
  service: string,
  method: string,
  initialMetadata: Array<Header>,
  message: ArrayBuffer | null,
  timeoutMs: u32,
): u32 {
  clearOut();
  const u = encode(0, upstream);
  const sv = encode(1, service);
  const m = encode(2, method);
  const md = serializeHeaders(initialMetadata);
  const s = abi.proxy_grpc_call(
    u,
    encodedLength(0),
    sv,
    encodedLength(1),
    m,
    encodedLength(2),
    changetype<usize>(md),
    <usize>md.byteLength,
    bytesPtr(message),
    bytesLen(message),
    timeoutMs,
    OUT0,
  );
  if (check("proxy_grpc_call", s, BAD_ARGUMENT | PARSE_FAILURE | INTERNAL_FAILURE | NOT_FOUND))
    return out32(OUT0);
  lastCalloutStatus = <Status>s;
  return 0;
}

/** Opens a gRPC stream; returns its token or 0 when refused (BAD_ARGUMENT, PARSE_FAILURE, INTERNAL_FAILURE). */
export function grpcStream(
  upstream: string,
  service: string,
  method: string,
  initialMetadata: Array<Header>,
): u32 {
  clearOut();
  const u = encode(0, upstream);
  const sv = encode(1, service);
  const m = encode(2, method);
  const md = serializeHeaders(initialMetadata);
  const s = abi.proxy_grpc_stream(
    u,
    encodedLength(0),
    sv,
    encodedLength(1),
    m,
    encodedLength(2),
    changetype<usize>(md),
    <usize>md.byteLength,
    OUT0,
  );
  if (check("proxy_grpc_stream", s, BAD_ARGUMENT | PARSE_FAILURE | INTERNAL_FAILURE | NOT_FOUND))
    return out32(OUT0);
  lastCalloutStatus = <Status>s;
  return 0;
}

/** Sends a message on a gRPC stream. Expected: BAD_ARGUMENT, NOT_FOUND (unknown or closed token) → false. */
export function grpcSend(token: u32, message: ArrayBuffer | null, endStream: bool): bool {
  const s = abi.proxy_grpc_send(token, bytesPtr(message), bytesLen(message), endStream ? 1 : 0);
  return check("proxy_grpc_send", s, BAD_ARGUMENT | NOT_FOUND);
}

/** Cancels a gRPC call or stream. Expected: BAD_ARGUMENT, NOT_FOUND → false. */
export function grpcCancel(token: u32): bool {
  const s = abi.proxy_grpc_cancel(token);
  return check("proxy_grpc_cancel", s, BAD_ARGUMENT | NOT_FOUND);
}

/** Half-closes a gRPC stream. Expected: BAD_ARGUMENT, NOT_FOUND → false. */
export function grpcClose(token: u32): bool {
  const s = abi.proxy_grpc_close(token);
  return check("proxy_grpc_close", s, BAD_ARGUMENT | NOT_FOUND);
}

/** A callout's status as reported by `proxy_get_status`. */
export class CalloutStatus {
  constructor(
    public code: u32,
    public message: string,
  ) {}
}

/** The status of the callout whose callback is running (Envoy: 11 "reset" for a failed HTTP call). */
export function getStatus(): CalloutStatus {
  clearOut();
  const s = abi.proxy_get_status(OUT0, OUT1, OUT2);
  if (!check("proxy_get_status", s, NOT_FOUND | BAD_ARGUMENT)) return new CalloutStatus(0, "");
  return new CalloutStatus(out32(OUT0), takeString(<usize>out32(OUT1), <usize>out32(OUT2)));
}

// --- Shared key-value store ----------------------------------------------------------------------

/** A value from the shared store with the stamp to pass back for a compare-and-swap. */
export class SharedData {
  constructor(
    public value: ArrayBuffer,
    public cas: u32,
  ) {}
}

/** Reads `key` from the store of this VM's `vm_id`. Expected: NOT_FOUND → null. */
export function getSharedData(key: string): SharedData | null {
  clearOut();
  const k = encode(0, key);
  const s = abi.proxy_get_shared_data(k, encodedLength(0), OUT0, OUT1, OUT2);
  if (check("proxy_get_shared_data", s, NOT_FOUND))
    return new SharedData(takeBytes(<usize>out32(OUT0), <usize>out32(OUT1)), out32(OUT2));
  return null;
}

/**
 * Writes `key`. `cas` 0 writes unconditionally; otherwise the write succeeds only if the entry still has
 * that stamp (a missing key is always written). Expected: CAS_MISMATCH → false (re-read and retry).
 */
export function setSharedData(key: string, value: ArrayBuffer | null, cas: u32): bool {
  const k = encode(0, key);
  const s = abi.proxy_set_shared_data(k, encodedLength(0), bytesPtr(value), bytesLen(value), cas);
  return check("proxy_set_shared_data", s, CAS_MISMATCH);
}

// --- Shared queues -------------------------------------------------------------------------------

/** Creates or reopens queue `name` in this VM's `vm_id`; the caller's root receives `onQueueReady`. */
export function registerSharedQueue(name: string): u32 {
  clearOut();
  const n = encode(0, name);
  const s = abi.proxy_register_shared_queue(n, encodedLength(0), OUT0);
  check("proxy_register_shared_queue", s, NONE);
  return out32(OUT0);
}

/** Finds queue `name` of `vmId` ("" = own). Expected: NOT_FOUND → 0 (queue ids are never 0). */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  clearOut();
  const v = encode(0, vmId);
  const n = encode(1, name);
  const s = abi.proxy_resolve_shared_queue(v, encodedLength(0), n, encodedLength(1), OUT0);
  if (check("proxy_resolve_shared_queue", s, NOT_FOUND)) return out32(OUT0);
  return 0;
}

/** Appends to a queue. Expected: NOT_FOUND (unknown queue) → false. */
export function enqueueSharedQueue(queueId: u32, value: ArrayBuffer | null): bool {
  const s = abi.proxy_enqueue_shared_queue(queueId, bytesPtr(value), bytesLen(value));
  return check("proxy_enqueue_shared_queue", s, NOT_FOUND);
}

/** Takes the oldest item. Expected: EMPTY (another VM may have taken it), NOT_FOUND → null. */
export function dequeueSharedQueue(queueId: u32): ArrayBuffer | null {
  clearOut();
  const s = abi.proxy_dequeue_shared_queue(queueId, OUT0, OUT1);
  if (check("proxy_dequeue_shared_queue", s, EMPTY | NOT_FOUND))
    return takeBytes(<usize>out32(OUT0), <usize>out32(OUT1));
  return null;
}

// --- Metrics -------------------------------------------------------------------------------------

/** Defines (or finds) a metric; Envoy exposes it as `wasmcustom.<name>` in /stats. */
export function defineMetric(metricType: MetricType, name: string): u32 {
  clearOut();
  const n = encode(0, name);
  const s = abi.proxy_define_metric(metricType, n, encodedLength(0), OUT0);
  check("proxy_define_metric", s, NONE);
  return out32(OUT0);
}

/** Adds `delta`. Expected: BAD_ARGUMENT (counter with delta ≤ 0, histogram), NOT_FOUND → false. */
export function incrementMetric(metricId: u32, delta: i64): bool {
  const s = abi.proxy_increment_metric(metricId, delta);
  return check("proxy_increment_metric", s, BAD_ARGUMENT | NOT_FOUND);
}

/** Records `value` (Envoy: counters add it, gauges set it, histograms sample it). NOT_FOUND → false. */
export function recordMetric(metricId: u32, value: u64): bool {
  const s = abi.proxy_record_metric(metricId, value);
  return check("proxy_record_metric", s, BAD_ARGUMENT | NOT_FOUND);
}

/** The value of a counter or gauge. Expected: BAD_ARGUMENT (histogram), NOT_FOUND → 0. */
export function getMetric(metricId: u32): u64 {
  clearOut();
  const s = abi.proxy_get_metric(metricId, OUT0);
  if (check("proxy_get_metric", s, BAD_ARGUMENT | NOT_FOUND)) return out64(OUT0);
  return 0;
}

// --- Properties ----------------------------------------------------------------------------------

/**
 * The raw bytes of a property (`["request", "path"]`). Expected → null: NOT_FOUND and BAD_ARGUMENT (no such
 * attribute, or not available in this phase), SERIALIZATION_FAILURE and INTERNAL_FAILURE (Envoy could not
 * encode the value, e.g. some protobuf fields under `xds.node`).
 */
export function getProperty(path: Array<string>): ArrayBuffer | null {
  clearOut();
  const p = serializePath(path);
  const s = abi.proxy_get_property(changetype<usize>(p), <usize>p.byteLength, OUT0, OUT1);
  if (check("proxy_get_property", s, NOT_FOUND | SERIALIZATION_FAILURE | BAD_ARGUMENT | INTERNAL_FAILURE))
    return takeBytes(<usize>out32(OUT0), <usize>out32(OUT1));
  return null;
}

/** Sets a property (Envoy: filter state `wasm.<path>`, stream contexts only). NOT_FOUND, BAD_ARGUMENT → false. */
export function setProperty(path: Array<string>, value: ArrayBuffer): bool {
  const p = serializePath(path);
  const s = abi.proxy_set_property(
    changetype<usize>(p),
    <usize>p.byteLength,
    bytesPtr(value),
    bytesLen(value),
  );
  return check("proxy_set_property", s, NOT_FOUND | BAD_ARGUMENT | SERIALIZATION_FAILURE);
}

// --- Foreign functions ---------------------------------------------------------------------------

/**
 * Calls a host extension function. Any non-OK status is the function's own answer (NOT_FOUND for an
 * unknown name, or the function's error) and becomes null; an OK with no bytes is an empty buffer.
 */
export function callForeignFunction(name: string, args: ArrayBuffer | null): ArrayBuffer | null {
  clearOut();
  const n = encode(0, name);
  const s = abi.proxy_call_foreign_function(n, encodedLength(0), bytesPtr(args), bytesLen(args), OUT0, OUT1);
  if (s == Status.Ok) return takeBytes(<usize>out32(OUT0), <usize>out32(OUT1));
  freeHost(<usize>out32(OUT0));
  return null;
}
