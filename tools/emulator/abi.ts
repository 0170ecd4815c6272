// Constants of the proxy-wasm ABI v0.2.1, mirroring assembly/abi/enums.ts (the host's side of the contract).

export enum Status {
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

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
  Off = 6,
}

export const LOG_LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "critical", "off"] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

export enum BufferType {
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

export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** What Envoy's filter manager does with a headers callback's return value (after cpp-host conversion). */
export type FilterHeadersStatus =
  "Continue" | "StopIteration" | "StopAllIterationAndBuffer" | "StopAllIterationAndWatermark";
export type FilterDataStatus =
  "Continue" | "StopIterationAndBuffer" | "StopIterationAndWatermark" | "StopIterationNoBuffer";
export type FilterTrailersStatus = "Continue" | "StopIteration";

/** Envoy PluginConfig.failure_policy. */
export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

export const WASI_ERRNO = { SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOSYS: 52, NOTSUP: 58 } as const;
