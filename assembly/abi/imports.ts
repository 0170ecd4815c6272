// The raw host functions of the proxy-wasm ABI v0.2.1, in the spec's order and with the spec's names.
// Nothing but declarations lives here: the one translation step (statuses to values, bytes to strings)
// is in ../hostcalls.ts. Filters never import this file.
//
// Every function returns a `proxy_status_t` (see ./enums.ts). `→` marks out-pointers the host writes:
// u32 for pointers and sizes, u64 for times and metric values. Buffers the host returns were allocated
// through our `proxy_on_memory_allocate` export; the caller owns and frees them (see RATIONALE.md).
// Importing a function the host does not provide makes Envoy refuse the module, so a function is only
// imported when code that calls it is compiled in (AssemblyScript drops unused imports).

// --- Logging -------------------------------------------------------------------------------------

/** (import "env" "proxy_log" (func (param i32 i32 i32) (result i32))). Always allowed, even in `_initialize`. */
// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: u32, messagePtr: usize, messageSize: usize): u32;

/** (import "env" "proxy_get_log_level" (func (param i32) (result i32))). New in 0.2.1. → level. */
// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(returnLevel: usize): u32;

// --- Clocks --------------------------------------------------------------------------------------

/** (import "env" "proxy_get_current_time_nanoseconds" (func (param i32) (result i32))). → u64 wall clock. */
// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(returnTime: usize): u32;

// --- Timers --------------------------------------------------------------------------------------

/** Applies to the caller's root context; 0 disables the timer. */
// @ts-ignore: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): u32;

// --- Context management --------------------------------------------------------------------------

/** Makes later calls act on `contextId` (used before delivering callout responses). */
// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): u32;

/** Tells the host a root context that returned false from `proxy_on_done` has finished. */
// @ts-ignore: decorator
@external("env", "proxy_done")
export declare function proxy_done(): u32;

// --- Buffers -------------------------------------------------------------------------------------

/** → ptr, size. Clamps to the buffer length; NOT_FOUND when the buffer is unavailable. */
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(
  bufferType: u32,
  start: u32,
  maxSize: u32,
  returnPtr: usize,
  returnSize: usize,
): u32;

/** Envoy: start 0 drains `size` bytes then prepends; start >= length appends; else BAD_ARGUMENT. */
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(
  bufferType: u32,
  start: u32,
  size: u32,
  dataPtr: usize,
  dataSize: usize,
): u32;

/** → size, flags. Envoy always writes flags = 0. */
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(bufferType: u32, returnSize: usize, returnFlags: usize): u32;

// --- HTTP fields ---------------------------------------------------------------------------------

/** → size. Envoy answers the serialized byte size, not the number of pairs. */
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(mapType: u32, returnSize: usize): u32;

/** → ptr, size of the serialized map. Outside the map's window Envoy answers OK with an empty map. */
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: u32, returnPtr: usize, returnSize: usize): u32;

/** Replaces the whole map. A malformed buffer makes Envoy empty the map silently. */
// @ts-ignore: decorator
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(mapType: u32, pairsPtr: usize, pairsSize: usize): u32;

/** → ptr, size. NOT_FOUND when absent; Envoy returns only the first of repeated values. */
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(
  mapType: u32,
  keyPtr: usize,
  keySize: usize,
  returnPtr: usize,
  returnSize: usize,
): u32;

/** Appends a value, even when the key exists. */
// @ts-ignore: decorator
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(
  mapType: u32,
  keyPtr: usize,
  keySize: usize,
  valuePtr: usize,
  valueSize: usize,
): u32;

/** Sets the value, adding the key when absent. */
// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(
  mapType: u32,
  keyPtr: usize,
  keySize: usize,
  valuePtr: usize,
  valueSize: usize,
): u32;

/** OK even when the key was absent. */
// @ts-ignore: decorator
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: u32, keyPtr: usize, keySize: usize): u32;

// --- HTTP streams --------------------------------------------------------------------------------

/** Resumes a paused stream after the current callback returns. UNIMPLEMENTED in Envoy for UPSTREAM. */
// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(streamType: u32): u32;

/** Resets the HTTP stream (details `wasm_close_stream`) or closes the TCP connection. */
// @ts-ignore: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(streamType: u32): u32;

/** Sends a local reply after the current callback; the callback's return value is then ignored. */
// @ts-ignore: decorator
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32,
  detailsPtr: usize,
  detailsSize: usize,
  bodyPtr: usize,
  bodySize: usize,
  headersPtr: usize,
  headersSize: usize,
  grpcStatus: i32,
): u32;

// --- HTTP and gRPC calls -------------------------------------------------------------------------

/** → token (≡ 0 mod 4 in Envoy). BAD_ARGUMENT for an unknown cluster or missing :method/:path/:authority. */
// @ts-ignore: decorator
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstreamPtr: usize,
  upstreamSize: usize,
  headersPtr: usize,
  headersSize: usize,
  bodyPtr: usize,
  bodySize: usize,
  trailersPtr: usize,
  trailersSize: usize,
  timeoutMs: u32,
  returnToken: usize,
): u32;

/** 12 parameters. → token. PARSE_FAILURE for an unknown upstream. */
// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  upstreamPtr: usize,
  upstreamSize: usize,
  servicePtr: usize,
  serviceSize: usize,
  methodPtr: usize,
  methodSize: usize,
  initialMetadataPtr: usize,
  initialMetadataSize: usize,
  messagePtr: usize,
  messageSize: usize,
  timeoutMs: u32,
  returnToken: usize,
): u32;

/** 9 parameters. → token. */
// @ts-ignore: decorator
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  upstreamPtr: usize,
  upstreamSize: usize,
  servicePtr: usize,
  serviceSize: usize,
  methodPtr: usize,
  methodSize: usize,
  initialMetadataPtr: usize,
  initialMetadataSize: usize,
  returnToken: usize,
): u32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(token: u32, messagePtr: usize, messageSize: usize, endStream: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(token: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(token: u32): u32;

/** → code, message ptr, message size: the status of the callout whose callback is running. */
// @ts-ignore: decorator
@external("env", "proxy_get_status")
export declare function proxy_get_status(returnCode: usize, returnMessagePtr: usize, returnMessageSize: usize): u32;

// --- Shared key-value store ----------------------------------------------------------------------

/** → value ptr, value size, cas (u32). NOT_FOUND for a missing key. */
// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(
  keyPtr: usize,
  keySize: usize,
  returnValuePtr: usize,
  returnValueSize: usize,
  returnCas: usize,
): u32;

/** cas 0 writes unconditionally; a stale cas gives CAS_MISMATCH; a missing key is always written. */
// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(
  keyPtr: usize,
  keySize: usize,
  valuePtr: usize,
  valueSize: usize,
  cas: u32,
): u32;

// --- Shared queues -------------------------------------------------------------------------------

/** → queue id (never 0). Reopens an existing queue; the latest registrant gets `proxy_on_queue_ready`. */
// @ts-ignore: decorator
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(namePtr: usize, nameSize: usize, returnId: usize): u32;

/** → queue id. NOT_FOUND when no such queue; an empty vm_id means the caller's own. */
// @ts-ignore: decorator
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(
  vmIdPtr: usize,
  vmIdSize: usize,
  namePtr: usize,
  nameSize: usize,
  returnId: usize,
): u32;

// @ts-ignore: decorator
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(queueId: u32, valuePtr: usize, valueSize: usize): u32;

/** → ptr, size. EMPTY when there is nothing; NOT_FOUND for an unknown queue. */
// @ts-ignore: decorator
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(queueId: u32, returnPtr: usize, returnSize: usize): u32;

// --- Metrics -------------------------------------------------------------------------------------

/** → metric id. Envoy encodes the type in the id's low bits and prefixes stats with `wasmcustom.`. */
// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: u32, namePtr: usize, nameSize: usize, returnId: usize): u32;

/** Counters need delta > 0; gauges add or subtract; histograms answer BAD_ARGUMENT. */
// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, delta: i64): u32;

/** Counters add the value (Envoy); gauges set it; histograms record a sample. */
// @ts-ignore: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: u64): u32;

/** → u64. BAD_ARGUMENT for histograms. */
// @ts-ignore: decorator
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metricId: u32, returnValue: usize): u32;

// --- Properties ----------------------------------------------------------------------------------

/** Path segments joined by NUL. → ptr, size. NOT_FOUND; SERIALIZATION_FAILURE for unencodable values. */
// @ts-ignore: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, returnPtr: usize, returnSize: usize): u32;

/** Envoy stores the value in filter state as `wasm.<path>`; needs a stream context. */
// @ts-ignore: decorator
@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): u32;

// --- Foreign functions ---------------------------------------------------------------------------

/** → ptr, size. NOT_FOUND for an unknown function. Envoy 1.33+ has `clear_route_cache`. */
// @ts-ignore: decorator
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  namePtr: usize,
  nameSize: usize,
  argsPtr: usize,
  argsSize: usize,
  returnPtr: usize,
  returnSize: usize,
): u32;

// --- WASI (wasi_snapshot_preview1), the subset Envoy implements ---------------------------------

/** Fills `size` bytes with host randomness; Envoy allows at most 64 KiB per call. Returns a WASI errno. */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function wasi_random_get(bufPtr: usize, bufSize: usize): u16;

/** Clock 0 = realtime, 1 = monotonic; → u64 nanoseconds. Returns a WASI errno. */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
export declare function wasi_clock_time_get(clockId: u32, precision: u64, returnTime: usize): u16;

/** Sizes of the environment Envoy exposes (`vm_config.environment_variables`). */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "environ_sizes_get")
export declare function wasi_environ_sizes_get(returnCount: usize, returnBufSize: usize): u16;

/** Fills pointers to NUL-terminated `KEY=VALUE` strings. */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "environ_get")
export declare function wasi_environ_get(environ: usize, environBuf: usize): u16;
