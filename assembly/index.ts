// wasmgate SDK: the public API for writing Envoy filters in AssemblyScript (proxy-wasm ABI v0.2.1).
// A filter imports from here and re-exports "./exports" from its entry file:
//
//   import { RootContext, HttpContext, Action, registerRootContext } from "../../assembly";
//   export * from "../../assembly/exports";

export { Action, GrpcStatus, LogLevel, MetricType, PeerType, Status } from "./abi/enums";
export { BaseContext, HttpCallResponse, HttpContext, RootContext, StreamContext } from "./context";
export { registerRootContext, RootFactory } from "./internal/dispatcher";
export { Header, Headers, allHeaders, firstHeader, headersOf } from "./headers";
export { log } from "./log";
export { Counter, Gauge, Histogram } from "./metrics";
export {
  attributes,
  getProperty,
  getPropertyBool,
  getPropertyF64,
  getPropertyI64,
  getPropertyMap,
  getPropertyString,
  setProperty,
  setPropertyString,
} from "./properties";
export {
  SharedData,
  dequeueSharedQueue,
  enqueueSharedQueue,
  getSharedData,
  registerSharedQueue,
  resolveSharedQueue,
  setSharedData,
} from "./shared";
export {
  currentTimeMillis,
  currentTimeNanos,
  getEnv,
  monotonicNanos,
  randomBytes,
  randomU64,
} from "./runtime";
export { CalloutStatus, callForeignFunction, lastCalloutRefusal } from "./hostcalls";
export { clearRouteCache } from "./foreign";
export { ConfigErrors, ConfigReader, parseDurationMs } from "./config";
export { JsonKind, JsonResult, JsonValue, parseJson, quote } from "./json";
export { RequestInfo, RequestMatch, stripPort, withoutQuery } from "./match";
export {
  bytesToHex,
  fnv1a64,
  getCookie,
  getQueryParam,
  isAllZero,
  isHeaderName,
  isLowerHex,
  isToken,
  isTokenChar,
  mix64,
  parseCookies,
  percentDecode,
  toHex,
} from "./util";
