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
import { hostBytesSinceReset, resetHostBytes } from "./memory";

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
  callouts.delete(token);
}

// Garbage collection (the `minimal` runtime collects only when asked). Every dispatcher entry point ends
// with `collect()` or `collectIfBusy()`: the wasm stack is then unwound to the export, and every live
// object is reachable from `contexts`, `callouts` or a global, so nothing only the stack refers to is freed.
// Root callbacks always collect. Stream ends collect every STREAMS_PER_COLLECT streams (a full collection per
// request was half of a busy plugin's time in the benchmark). Every callback also collects when the host
// handed the module more than HOST_BYTES_PER_COLLECT since the last collection (a body chunk, a large header
// map) or when linear memory grew, so a long stream cannot pile up garbage until the VM hits Envoy's 1 GiB
// limit. test/sdk/memory.test.ts and test/sdk/config.test.ts hold both bounds.
const HOST_BYTES_PER_COLLECT: usize = 256 * 1024;
const STREAMS_PER_COLLECT: i32 = 16;
let pagesAtLastCollect: i32 = 0;
let streamsSinceCollect: i32 = 0;
let streamsCreated: u32 = 0;

function collect(): void {
  if (ASC_RUNTIME == 1) {
    __collect();
    pagesAtLastCollect = memory.size();
    streamsSinceCollect = 0;
    resetHostBytes();
  }
}

function collectIfBusy(): void {
  if (hostBytesSinceReset() > HOST_BYTES_PER_COLLECT || memory.size() != pagesAtLastCollect) collect();
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
  // The host's log level can change at runtime (Envoy admin /logging); re-read it now and then, not per stream.
  if ((++streamsCreated & 63) == 0) refreshLogLevel();
  const http = root.newHttpContext(contextId);
  if (http !== null) {
    contexts.set(contextId, http);
    return;
  }
  const stream = root.newStreamContext(contextId);
  if (stream !== null) contexts.set(contextId, stream);
}

/** The context with `contextId` if it is a `T`, else null. */
function lookup<T>(contextId: u32): T | null {
  if (!contexts.has(contextId)) return null;
  const c = contexts.get(contextId);
  return c instanceof T ? changetype<T>(c) : null;
}

function rootOf(contextId: u32): RootContext | null {
  return lookup<RootContext>(contextId);
}

export function onVmStart(rootId: u32, vmConfigurationSize: u32): bool {
  const root = rootOf(rootId);
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
  collectIfBusy();
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
  collectIfBusy();
}

export function onDelete(contextId: u32): void {
  if (!contexts.has(contextId)) return;
  const c = contexts.get(contextId);
  contexts.delete(contextId);
  c.onDelete();
  if (c instanceof RootContext || ++streamsSinceCollect >= STREAMS_PER_COLLECT) collect();
  else collectIfBusy();
}

// --- HTTP streams --------------------------------------------------------------------------------

function http(contextId: u32): HttpContext | null {
  return lookup<HttpContext>(contextId);
}

export function onRequestHeaders(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onRequestHeaders(numHeaders, endOfStream);
  collectIfBusy();
  return action;
}

export function onRequestBody(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onRequestBody(bodySize, endOfStream);
  collectIfBusy();
  return action;
}

export function onRequestTrailers(contextId: u32, numTrailers: u32): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onRequestTrailers(numTrailers);
  collectIfBusy();
  return action;
}

export function onRequestMetadata(contextId: u32, numElements: u32): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onRequestMetadata(numElements);
  collectIfBusy();
  return action;
}

export function onResponseHeaders(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onResponseHeaders(numHeaders, endOfStream);
  collectIfBusy();
  return action;
}

export function onResponseBody(contextId: u32, bodySize: u32, endOfStream: bool): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onResponseBody(bodySize, endOfStream);
  collectIfBusy();
  return action;
}

export function onResponseTrailers(contextId: u32, numTrailers: u32): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onResponseTrailers(numTrailers);
  collectIfBusy();
  return action;
}

export function onResponseMetadata(contextId: u32, numElements: u32): Action {
  const c = http(contextId);
  const action = c === null ? Action.Continue : c.onResponseMetadata(numElements);
  collectIfBusy();
  return action;
}

// --- TCP streams ---------------------------------------------------------------------------------

function tcp(contextId: u32): StreamContext | null {
  return lookup<StreamContext>(contextId);
}

export function onNewConnection(contextId: u32): Action {
  const c = tcp(contextId);
  const action = c === null ? Action.Continue : c.onNewConnection();
  collectIfBusy();
  return action;
}

export function onDownstreamData(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  const c = tcp(contextId);
  const action = c === null ? Action.Continue : c.onDownstreamData(dataSize, endOfStream);
  collectIfBusy();
  return action;
}

export function onDownstreamConnectionClose(contextId: u32, peer: PeerType): void {
  const c = tcp(contextId);
  if (c !== null) c.onDownstreamConnectionClose(peer);
  collectIfBusy();
}

export function onUpstreamData(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  const c = tcp(contextId);
  const action = c === null ? Action.Continue : c.onUpstreamData(dataSize, endOfStream);
  collectIfBusy();
  return action;
}

export function onUpstreamConnectionClose(contextId: u32, peer: PeerType): void {
  const c = tcp(contextId);
  if (c !== null) c.onUpstreamConnectionClose(peer);
  collectIfBusy();
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
  collectIfBusy();
}

export function onGrpcReceive(rootId: u32, token: u32, messageSize: u32): void {
  const target = calloutTarget(rootId, token, false);
  if (target === null) return;
  const message = host.getBufferBytes(BufferType.GrpcReceiveBuffer, 0, messageSize);
  target.onGrpcReceive(token, message === null ? new ArrayBuffer(0) : message);
  collectIfBusy();
}

export function onGrpcReceiveTrailingMetadata(rootId: u32, token: u32, numElements: u32): void {
  const target = calloutTarget(rootId, token, false);
  if (target === null) return;
  target.onGrpcReceiveTrailingMetadata(token, host.getHeaderMapPairs(MapType.GrpcReceiveTrailingMetadata));
  collectIfBusy();
}

export function onGrpcClose(rootId: u32, token: u32, statusCode: u32): void {
  const target = calloutTarget(rootId, token, true);
  if (target === null) return;
  const status = host.getStatus();
  target.onGrpcClose(token, statusCode, status.message);
  collect();
}
