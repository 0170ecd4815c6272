/** Envoy `@type` URLs shared by the harness's bootstrap builders and the CLI's renderer. */
export const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
export const WASM_HTTP_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
export const WASM_NETWORK_TYPE = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm";
export const STRING_VALUE_TYPE = "type.googleapis.com/google.protobuf.StringValue";
export const STDOUT_ACCESS_LOG_TYPE =
  "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
export const UPSTREAM_TLS_TYPE =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
