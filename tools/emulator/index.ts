// The wasmgate host emulator: runs a compiled proxy-wasm module in Node the way Envoy does, for tests.
// See README.md for what is emulated and how it differs from Envoy.

export { Host, ConfigRejected } from "./host";
export type { HostOptions, LogEntry, HostCall, RequestSpec, ResponseSpec } from "./host";
export { HttpStream } from "./http-stream";
export type { LocalReply, Message } from "./http-stream";
export type { HttpCallout, GrpcCallout } from "./vm";
export { Status, LogLevel, MapType, BufferType, MetricType, StreamType } from "./abi";
export type {
  FailurePolicy,
  FilterHeadersStatus,
  FilterDataStatus,
  FilterTrailersStatus,
  LogLevelName,
} from "./abi";
export { serializePairs, parsePairs, serializePath, parsePath } from "./serde";
export type { HeaderList } from "./serde";
export type { PropertyValue } from "./properties";
export { readModuleInfo, checkModule, ENVOY_IMPORTS, ABI_EXPORTS } from "./module-info";
export type { ModuleInfo, ImportEntry, ExportEntry, FuncSig } from "./module-info";
