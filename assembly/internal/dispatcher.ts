// The context registry: turns `proxy_on_*(context_id, ...)` calls into method calls on the right object.
// Internal: filters only call `registerRootContext` (re-exported by ../index.ts).
//
// Invariants the host guarantees (cpp-host + Envoy) and how a breach is handled:
// - ids are unique per VM; a root is created with parent 0 before its streams. An unknown id in a
//   stream callback is answered with Continue (the plugin does not filter that stream), never a trap.
// - callout answers name the root; we deliver them to the context that made the call, after
//   `proxy_set_effective_context`, or drop them when that context is gone.

import { formatInt } from "./format";
import { Action, BufferType, LogLevel, MapType, PeerType } from "../abi/enums";
import { BaseContext, HttpCallResponse, HttpContext, RootContext, StreamContext } from "../context";
import * as host from "../hostcalls";
import { log, refreshLogLevel } from "../log";
import { panic } from "./fail";

/** Creates the root context of a plugin, given its context id. */
export type RootFactory = (contextId: u32) => RootContext;

class RootRegistration {
  constructor(
    public rootId: string,
    public factory: RootFactory,
  ) {}
}

const registrations = new Array<RootRegistration>();
const contexts = new Map<u32, BaseContext>();
const callouts = new Map<u32, u32>(); // token → id of the context that made the call
let vmStarted = false;

/**
 * Registers the factory for root contexts with PluginConfig `root_id` == `rootId` (Istio: `pluginName`).
 * A factory registered with "" serves any root_id that has no factory of its own. Call it from module
 * top-level code, which runs in `_initialize`.
 */
export function registerRootContext(factory: RootFactory, rootId: string = ""): void {
  registrations.push(new RootRegistration(rootId, factory));
}

function findFactory(rootId: string): RootFactory | null {
  let fallback: RootFactory | null = null;
  for (let i = 0; i < registrations.length; i++) {
    const r = unchecked(registrations[i]);
    if (r.rootId == rootId) return r.factory;
    if (r.rootId == "") fallback = r.factory;
  }
  return fallback;
}

export function rememberCallout(token: u32, contextId: u32): void {
  callouts.set(token, contextId);
}

export function forgetCallout(token: u32): void {
  if (callouts.has(token)) callouts.delete(token);
}

/** Garbage collection point: the wasm stack is unwound to an export, and every live object is in `contexts`. */
function collect(): void {
  if (ASC_RUNTIME == 1) __collect();
}

// --- Lifecycle -----------------------------------------------------------------------------------

export function onContextCreate(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    refreshLogLevel();
    const rootIdBytes = host.getProperty(["plugin_root_id"]);
    const rootId = rootIdBytes === null ? "" : String.UTF8.decode(rootIdBytes, false);
    const factory = findFactory(rootId);
    if (factory === null) {
      panic("no root context registered for root_id '" + rootId + "'");
      return;
    }
    const root = factory(contextId);
    root.rootId = rootId;
    contexts.set(contextId, root);
    return;
  }
  if (!contexts.has(parentId)) return;
  const parent = contexts.get(parentId);
  if (!(parent instanceof RootContext)) return;
  const root = changetype<RootContext>(parent);
  refreshLogLevel();
  const http = root.newHttpContext(contextId);
  if (http !== null) {
    contexts.set(contextId, http);
    return;
  }
  const stream = root.newStreamContext(contextId);
  if (stream !== null) contexts.set(contextId, stream);
}

function rootOf(contextId: u32): RootContext | null {
  if (!contexts.has(contextId)) return null;
  const c = contexts.get(contextId);
  return c instanceof RootContext ? changetype<RootContext>(c) : null;
}

export function onVmStart(rootId: u32, vmConfigurationSize: u32): bool {
  const root = rootOf(rootId);
  vmStarted = true;
  return root === null ? true : root.onVmStart(vmConfigurationSize);
}

export function onConfigure(rootId: u32, configurationSize: u32): bool {
  const root = rootOf(rootId);
  if (root === null) return false;
  refreshLogLevel();
  const ok = root.onConfigure(configurationSize);
  collect();
  return ok;
}

export function onTick(rootId: u32): void {
  const root = rootOf(rootId);
  if (root === null) return;
  refreshLogLevel();
  root.onTick();
  collect();
}

export function onQueueReady(rootId: u32, queueId: u32): void {
  const root = rootOf(rootId);
  if (root === null) return;
  root.onQueueReady(queueId);
  collect();
}

export function onForeignFunction(rootId: u32, functionId: u32, argumentsSize: u32): void {
  const root = rootOf(rootId);
  if (root !== null) root.onForeignFunction(functionId, argumentsSize);
}

export function onDone(contextId: u32): bool {
  if (!contexts.has(contextId)) return true;
  return contexts.get(contextId).onDone();
}

export function onLog(contextId: u32): void {
  if (!contexts.has(contextId)) return;
  const c = contexts.get(contextId);
  if (c instanceof HttpContext) changetype<HttpContext>(c).onLog();
  else if (c instanceof StreamContext) changetype<StreamContext>(c).onLog();
}

export function onDelete(contextId: u32): void {
  if (!contexts.has(contextId)) return;
  const c = contexts.get(contextId);
  contexts.delete(contextId);
  c.onDelete();
  collect();
}

// --- HTTP streams --------------------------------------------------------------------------------

function http(contextId: u32): HttpContext | null {
  if (!contexts.has(contextId)) return null;
  const c = contexts.get(contextId);
  return c instanceof HttpContext ? changetype<HttpContext>(c) : null;
}

export function onRequestHeaders(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onRequestHeaders(numHeaders, endOfStream);
}

export function onRequestBody(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onRequestBody(bodySize, endOfStream);
}

export function onRequestTrailers(contextId: u32, numTrailers: u32): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onRequestTrailers(numTrailers);
}

export function onRequestMetadata(contextId: u32, numElements: u32): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onRequestMetadata(numElements);
}

export function onResponseHeaders(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onResponseHeaders(numHeaders, endOfStream);
}

export function onResponseBody(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onResponseBody(bodySize, endOfStream);
}

export function onResponseTrailers(contextId: u32, numTrailers: u32): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onResponseTrailers(numTrailers);
}

export function onResponseMetadata(contextId: u32, numElements: u32): Action {
  const c = http(contextId);
  return c === null ? Action.Continue : c.onResponseMetadata(numElements);
}

// --- TCP streams ---------------------------------------------------------------------------------

function tcp(contextId: u32): StreamContext | null {
  if (!contexts.has(contextId)) return null;
  const c = contexts.get(contextId);
  return c instanceof StreamContext ? changetype<StreamContext>(c) : null;
}

export function onNewConnection(contextId: u32): Action {
  const c = tcp(contextId);
  return c === null ? Action.Continue : c.onNewConnection();
}

export function onDownstreamData(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  const c = tcp(contextId);
  return c === null ? Action.Continue : c.onDownstreamData(dataSize, endOfStream);
}

export function onDownstreamConnectionClose(contextId: u32, peer: PeerType): void {
  const c = tcp(contextId);
  if (c !== null) c.onDownstreamConnectionClose(peer);
}

export function onUpstreamData(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  const c = tcp(contextId);
  return c === null ? Action.Continue : c.onUpstreamData(dataSize, endOfStream);
}

export function onUpstreamConnectionClose(contextId: u32, peer: PeerType): void {
  const c = tcp(contextId);
  if (c !== null) c.onUpstreamConnectionClose(peer);
}

// --- Callouts ------------------------------------------------------------------------------------

/**
 * The context a callout answer belongs to, made effective for host calls; null when it is gone (the
 * answer is then dropped, as the Go and Rust SDKs do).
 */
function calloutTarget(rootId: u32, token: u32, last: bool): BaseContext | null {
  if (!callouts.has(token)) return null;
  const origin = callouts.get(token);
  if (last) callouts.delete(token);
  if (!contexts.has(origin)) {
    if (log.enabled(LogLevel.Debug)) {
      log.debug(
        "wasmgate: dropping callout " +
          formatInt(token) +
          " answer: context " +
          formatInt(origin) +
          " is gone",
      );
    }
    return null;
  }
  if (origin != rootId && !host.setEffectiveContext(origin)) return null;
  return contexts.get(origin);
}

export function onHttpCallResponse(
  rootId: u32,
  token: u32,
  numHeaders: u32,
  bodySize: u32,
  numTrailers: u32,
): void {
  const target = calloutTarget(rootId, token, true);
  if (target === null) return;
  target.onHttpCallResponse(token, new HttpCallResponse(numHeaders, bodySize, numTrailers));
  collect();
}

export function onGrpcReceiveInitialMetadata(rootId: u32, token: u32, numElements: u32): void {
  const target = calloutTarget(rootId, token, false);
  if (target === null) return;
  target.onGrpcReceiveInitialMetadata(token, host.getHeaderMapPairs(MapType.GrpcReceiveInitialMetadata));
}

export function onGrpcReceive(rootId: u32, token: u32, messageSize: u32): void {
  const target = calloutTarget(rootId, token, false);
  if (target === null) return;
  const message = host.getBufferBytes(BufferType.GrpcReceiveBuffer, 0, messageSize);
  target.onGrpcReceive(token, message === null ? new ArrayBuffer(0) : message);
}

export function onGrpcReceiveTrailingMetadata(rootId: u32, token: u32, numElements: u32): void {
  const target = calloutTarget(rootId, token, false);
  if (target === null) return;
  target.onGrpcReceiveTrailingMetadata(token, host.getHeaderMapPairs(MapType.GrpcReceiveTrailingMetadata));
}

export function onGrpcClose(rootId: u32, token: u32, statusCode: u32): void {
  const target = calloutTarget(rootId, token, true);
  if (target === null) return;
  const status = host.getStatus();
  target.onGrpcClose(token, statusCode, status.message);
  collect();
}

/** True once `proxy_on_vm_start` ran in this VM. */
export function isVmStarted(): bool {
  return vmStarted;
}
