// The callbacks of the proxy-wasm ABI v0.2.1 that this SDK exports, in the spec's order. Each only
// forwards to the dispatcher. A filter's entry file re-exports this module, which is what makes the
// compiled `.wasm` a proxy-wasm module:
//
//   export * from "../../assembly/exports";
//
// `_initialize` (the module's top-level code) is emitted by the compiler (`--exportStart _initialize`).
// Host-returned memory is allocated by `proxy_on_memory_allocate` as unmanaged heap memory that the SDK
// frees once it copied the bytes (see RATIONALE.md). `malloc` is deliberately not exported: cpp-host
// would prefer it over `proxy_on_memory_allocate`.

import { Action, PeerType } from "./abi/enums";
import * as d from "./internal/dispatcher";
import { allocateForHost } from "./internal/memory";

/** ABI version marker; never called. */
export function proxy_abi_version_0_2_1(): void {}

/** Allocates `size` bytes for the host to copy data into; the SDK frees them after use. */
export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

// --- Integration / lifecycle ---------------------------------------------------------------------

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  d.onContextCreate(contextId, parentContextId);
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  return d.onVmStart(rootContextId, vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  return d.onConfigure(rootContextId, pluginConfigurationSize);
}

export function proxy_on_tick(rootContextId: u32): void {
  d.onTick(rootContextId);
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  d.onQueueReady(rootContextId, queueId);
}

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, argumentsSize: u32): void {
  d.onForeignFunction(rootContextId, functionId, argumentsSize);
}

export function proxy_on_done(contextId: u32): bool {
  return d.onDone(contextId);
}

export function proxy_on_log(contextId: u32): void {
  d.onLog(contextId);
}

export function proxy_on_delete(contextId: u32): void {
  d.onDelete(contextId);
}

// --- TCP streams ---------------------------------------------------------------------------------

export function proxy_on_new_connection(contextId: u32): Action {
  return d.onNewConnection(contextId);
}

export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  return d.onDownstreamData(contextId, dataSize, endOfStream);
}

export function proxy_on_downstream_connection_close(contextId: u32, peerType: PeerType): void {
  d.onDownstreamConnectionClose(contextId, peerType);
}

export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  return d.onUpstreamData(contextId, dataSize, endOfStream);
}

export function proxy_on_upstream_connection_close(contextId: u32, peerType: PeerType): void {
  d.onUpstreamConnectionClose(contextId, peerType);
}

// --- HTTP streams --------------------------------------------------------------------------------

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  return d.onRequestHeaders(contextId, numHeaders, endOfStream);
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  return d.onRequestBody(contextId, bodySize, endOfStream);
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): Action {
  return d.onRequestTrailers(contextId, numTrailers);
}

export function proxy_on_request_metadata(contextId: u32, numElements: u32): Action {
  return d.onRequestMetadata(contextId, numElements);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  return d.onResponseHeaders(contextId, numHeaders, endOfStream);
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  return d.onResponseBody(contextId, bodySize, endOfStream);
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): Action {
  return d.onResponseTrailers(contextId, numTrailers);
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): Action {
  return d.onResponseMetadata(contextId, numElements);
}

// --- HTTP and gRPC callouts (answers are addressed to the root context) ----------------------------

export function proxy_on_http_call_response(
  rootContextId: u32,
  token: u32,
  numHeaders: u32,
  bodySize: u32,
  numTrailers: u32,
): void {
  d.onHttpCallResponse(rootContextId, token, numHeaders, bodySize, numTrailers);
}

export function proxy_on_grpc_receive_initial_metadata(
  rootContextId: u32,
  token: u32,
  numElements: u32,
): void {
  d.onGrpcReceiveInitialMetadata(rootContextId, token, numElements);
}

export function proxy_on_grpc_receive(rootContextId: u32, token: u32, messageSize: u32): void {
  d.onGrpcReceive(rootContextId, token, messageSize);
}

export function proxy_on_grpc_receive_trailing_metadata(
  rootContextId: u32,
  token: u32,
  numElements: u32,
): void {
  d.onGrpcReceiveTrailingMetadata(rootContextId, token, numElements);
}

export function proxy_on_grpc_close(rootContextId: u32, token: u32, statusCode: u32): void {
  d.onGrpcClose(rootContextId, token, statusCode);
}
