// The callbacks every module needs: the ABI marker, the allocator, the context lifecycle (create, vm start,
// configure, done, log, delete) and the root-level events (tick, queue, foreign function, callout answers).
// The host calls the root-level ones only after the module asked for them (a tick period, a queue, a callout).
// One of the export groups described in ../exports.ts.

import * as d from "../internal/dispatcher";
import { allocateForHost } from "../internal/memory";

/** ABI version marker; never called. */
export function proxy_abi_version_0_2_1(): void {}

/** Allocates `size` bytes for the host to copy data into; the SDK frees them after use. */
export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

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
