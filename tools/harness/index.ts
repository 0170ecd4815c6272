/** E2E harness: stock Envoy + go-httpbin on loopback. */
export {
  SETUP_HINT,
  HarnessSetupError,
  repoRoot,
  toolsDir,
  venvDir,
  toolsBinDir,
  runDir,
  logsDir,
  findEnvoyBinary,
  findHttpbinBinary,
} from "./paths";
export { LOOPBACK, freePort, canConnect, waitForPort, type WaitForPortOptions } from "./ports";
export {
  ManagedProcess,
  ProcessExitedError,
  WaitTimeoutError,
  spawnManaged,
  waitUntil,
  isRunning,
  liveProcesses,
  stopAll,
  leaveSignalsToCaller,
  readTail,
  type SpawnOptions,
  type ExitStatus,
  type WaitOptions,
} from "./process";
export { startHttpbin, type HttpbinOptions, type HttpbinInstance } from "./httpbin";
export {
  startEnvoy,
  validateEnvoyConfig,
  envoyErrorLines,
  parseStats,
  EnvoyStartError,
  type EnvoyOptions,
  type EnvoyInstance,
  type ListenerAddress,
  type ValidateOptions,
  type ValidateResult,
} from "./envoy";
export {
  bootstrap,
  wasmHttpFilter,
  routerFilter,
  staticCluster,
  ROUTER_FILTER_NAME,
  WASM_FILTER_NAME,
  HCM_STAT_PREFIX,
  type BootstrapOptions,
  type ClusterSpec,
  type WasmFilterOptions,
  type FailurePolicy,
  type Json,
} from "./bootstrap";
export { request, httpbinHeaders, type RequestOptions, type HttpResponse } from "./httpclient";
export * from "./gateway";
