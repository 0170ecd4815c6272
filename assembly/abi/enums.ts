// Enumerations of the proxy-wasm ABI v0.2.1, with the spec's numeric values (gaps included).
// See https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1

/** `proxy_status_t`: the result of every host call. 5, 9 and 11 are host-only codes Envoy uses. */
export const enum Status {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

/** `proxy_log_level_t`. Envoy maps these to spdlog levels; `proxy_get_log_level` answers 6 when off. */
export const enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
  Off = 6,
}

/** `proxy_buffer_type_t`. */
export const enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

/** `proxy_map_type_t`. */
export const enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

/** `proxy_stream_type_t`, for `proxy_continue_stream` and `proxy_close_stream`. */
export const enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

/** `proxy_peer_type_t`, passed to the connection-close callbacks. */
export const enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** `proxy_metric_type_t`. */
export const enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/**
 * `proxy_action_t`: what a stream callback returns.
 *
 * In Envoy, `Pause` from a headers callback becomes StopAllIterationAndWatermark (no body callbacks are
 * delivered until the stream is resumed); from a body callback it becomes StopIterationAndBuffer (the
 * next `body_size` is the total buffered so far). After `sendLocalResponse` the host ignores the value.
 */
export const enum Action {
  Continue = 0,
  Pause = 1,
}

/** gRPC status codes; `-1` (None) means "no grpc-status" in `proxy_send_local_response`. */
export const enum GrpcStatus {
  None = -1,
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** WASI errno values the host can return. */
export const enum WasiErrno {
  Success = 0,
  Badf = 8,
  Fault = 21,
  Inval = 28,
  Notsup = 58,
}

/** WASI clock ids. */
export const enum WasiClock {
  Realtime = 0,
  Monotonic = 1,
}
