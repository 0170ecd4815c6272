// The context classes a filter extends. Every callback has a do-nothing default, so a filter overrides
// only what it needs.
//
//   Envoy process
//    └─ VM (one per worker thread, plus a canary and the main thread; VMs with the same vm_id share
//        │   shared data and queues)
//        └─ RootContext (one per plugin: PluginConfig `root_id`, Istio `pluginName`)        1:N
//            ├─ HttpContext   (one per HTTP stream, created at its first request headers)   1:N
//            └─ StreamContext (one per TCP connection, for network filters)                  1:N
//
// Lifecycle in Envoy (it differs from the spec's text; see RATIONALE.md):
//   root:   onVmStart (first root of a VM only) → onConfigure → ... onTick/onQueueReady ... → onDone → onDelete
//   HTTP:   onRequestHeaders → onRequestBody* → onRequestTrailers → onResponseHeaders → onResponseBody*
//           → onResponseTrailers → onLog → onDone → onDelete
//   TCP:    onNewConnection → onDownstreamData* / onUpstreamData* → ...Close → onDone → onLog → onDelete
//
// Host calls act on the context whose callback is running (or the one a callout response was delivered
// to): call a context's methods only from inside its own callbacks.

import { Action, BufferType, MapType, PeerType, StreamType } from "./abi/enums";
import * as host from "./hostcalls";
import { Header } from "./headers";
import { forgetCallout, rememberCallout } from "./internal/dispatcher";

/** What every context can do: callouts (HTTP and gRPC) and end-of-life callbacks. */
export class BaseContext {
  constructor(public readonly id: u32) {}

  // --- HTTP callouts -----------------------------------------------------------------------------

  /**
   * Sends an HTTP request to Envoy cluster `cluster`. `headers` must contain `:method`, `:path` and
   * `:authority`. Returns the call's token, or 0 when Envoy refused it (unknown cluster, missing
   * pseudo-header; see `lastCalloutRefusal()`). The answer arrives later in `onHttpCallResponse` of this
   * same context, with host calls again acting on this context; if the context is gone by then the
   * answer is dropped. Envoy runs the call on the root context, so it outlives an HTTP stream.
   * `timeoutMs` 0 means no timeout. Valid in any callback after `_initialize`.
   */
  dispatchHttpCall(
    cluster: string,
    headers: Array<Header>,
    body: ArrayBuffer | null,
    trailers: Array<Header>,
    timeoutMs: u32,
  ): u32 {
    const token = host.httpCall(cluster, headers, body, trailers, timeoutMs);
    if (token != 0) rememberCallout(token, this.id);
    return token;
  }

  /** The answer to `dispatchHttpCall`. `response.failed` is true when Envoy reset the call. */
  onHttpCallResponse(token: u32, response: HttpCallResponse): void {}

  // --- gRPC callouts -----------------------------------------------------------------------------

  /**
   * A unary gRPC call to `upstream` (an Envoy cluster name). Returns the token, or 0 when refused.
   * Answers arrive in `onGrpcReceiveInitialMetadata`, `onGrpcReceive`, `onGrpcReceiveTrailingMetadata`
   * and finally `onGrpcClose` of this context.
   */
  grpcCall(
    upstream: string,
    service: string,
    method: string,
    initialMetadata: Array<Header>,
    message: ArrayBuffer | null,
    timeoutMs: u32,
  ): u32 {
    const token = host.grpcCall(upstream, service, method, initialMetadata, message, timeoutMs);
    if (token != 0) rememberCallout(token, this.id);
    return token;
  }

  /** Opens a gRPC stream; returns the token or 0. Send with `grpcSend`; it ends with `onGrpcClose`. */
  grpcStream(upstream: string, service: string, method: string, initialMetadata: Array<Header>): u32 {
    const token = host.grpcStream(upstream, service, method, initialMetadata);
    if (token != 0) rememberCallout(token, this.id);
    return token;
  }

  /** Sends a message on an open gRPC stream; false when the token is unknown or closed. */
  grpcSend(token: u32, message: ArrayBuffer | null, endStream: bool = false): bool {
    return host.grpcSend(token, message, endStream);
  }

  /** Cancels a gRPC call or stream; no further callbacks arrive for it. */
  grpcCancel(token: u32): bool {
    forgetCallout(token);
    return host.grpcCancel(token);
  }

  /** Half-closes a gRPC stream (no more messages from us); the server's close still arrives. */
  grpcClose(token: u32): bool {
    return host.grpcClose(token);
  }

  onGrpcReceiveInitialMetadata(token: u32, metadata: Array<Header>): void {}
  onGrpcReceive(token: u32, message: ArrayBuffer): void {}
  onGrpcReceiveTrailingMetadata(token: u32, metadata: Array<Header>): void {}
  /** The call or stream ended with gRPC `status` (0 = OK) and `message`. */
  onGrpcClose(token: u32, status: u32, message: string): void {}

  // --- End of life -------------------------------------------------------------------------------

  /**
   * Envoy is done with this context. For a root context, returning false defers its deletion until it
   * calls `done()`; Envoy ignores the value for streams.
   */
  onDone(): bool {
    return true;
  }

  /** The last callback: release anything held for this context. */
  onDelete(): void {}
}

/** One plugin instance in one VM: configuration, timers, queues, and the factory of stream contexts. */
export class RootContext extends BaseContext {
  /** The PluginConfig `root_id` this context was created for ("" when unset). */
  rootId: string = "";

  /**
   * The VM started; read `vm_config.configuration` with `getVmConfiguration()`. Called once per VM, for
   * its first root context. Returning false makes Envoy reject the configuration.
   */
  onVmStart(vmConfigurationSize: u32): bool {
    return true;
  }

  /**
   * The plugin's configuration arrived (`getPluginConfiguration()`); also called again on updates.
   * Returning false rejects it: at startup Envoy refuses to start, on an update it keeps the old config.
   * Log the field and what was expected before returning false.
   */
  onConfigure(configurationSize: u32): bool {
    return true;
  }

  /** The timer set by `setTickPeriod` fired. */
  onTick(): void {}

  /** An item was enqueued on a queue this root registered. Dequeue until null: items may be batched. */
  onQueueReady(queueId: u32): void {}

  /** The host called a function of this module by id (Envoy-internal features only). */
  onForeignFunction(functionId: u32, argumentsSize: u32): void {}

  /** Creates the context of a new HTTP stream, or null when this plugin does not filter HTTP. */
  newHttpContext(contextId: u32): HttpContext | null {
    return null;
  }

  /** Creates the context of a new TCP connection, or null when this plugin does not filter TCP. */
  newStreamContext(contextId: u32): StreamContext | null {
    return null;
  }

  /** The plugin configuration (`PluginConfig.configuration`; Istio `pluginConfig` as JSON). Valid in `onConfigure`. */
  getPluginConfiguration(): string {
    const b = host.getBufferBytes(BufferType.PluginConfiguration, 0, 0x7fffffff);
    return b === null ? "" : String.UTF8.decode(b, false);
  }

  /** The VM configuration (`vm_config.configuration`). Valid in `onVmStart`. */
  getVmConfiguration(): string {
    const b = host.getBufferBytes(BufferType.VmConfiguration, 0, 0x7fffffff);
    return b === null ? "" : String.UTF8.decode(b, false);
  }

  /** Calls `onTick` every `periodMs` on this VM's thread; 0 stops it. Not valid during `_initialize`. */
  setTickPeriod(periodMs: u32): void {
    host.setTickPeriodMilliseconds(periodMs);
  }

  /** Ends a shutdown deferred by returning false from `onDone`. */
  done(): bool {
    return host.done();
  }
}

/** The answer to an HTTP callout. Its accessors read from the host: valid only inside `onHttpCallResponse`. */
export class HttpCallResponse {
  constructor(
    public readonly numHeaders: u32,
    public readonly bodySize: u32,
    public readonly numTrailers: u32,
  ) {}

  /** True when Envoy reset the call (no response; `failure()` says why, e.g. 11 "reset"). */
  get failed(): bool {
    return this.numHeaders == 0;
  }

  /** The numeric `:status`, or 0 when the call failed. */
  status(): u32 {
    const s = host.getHeaderMapValue(MapType.HttpCallResponseHeaders, ":status");
    if (s === null) return 0;
    const n = I32.parseInt(s, 10);
    return n > 0 && n < 1000 ? <u32>n : 0;
  }

  header(name: string): string | null {
    return host.getHeaderMapValue(MapType.HttpCallResponseHeaders, name);
  }

  headers(): Array<Header> {
    return host.getHeaderMapPairs(MapType.HttpCallResponseHeaders);
  }

  trailers(): Array<Header> {
    return host.getHeaderMapPairs(MapType.HttpCallResponseTrailers);
  }

  body(): ArrayBuffer {
    if (this.bodySize == 0) return new ArrayBuffer(0);
    const b = host.getBufferBytes(BufferType.HttpCallResponseBody, 0, this.bodySize);
    return b === null ? new ArrayBuffer(0) : b;
  }

  bodyText(): string {
    return String.UTF8.decode(this.body(), false);
  }

  /** The host's status for the call (`proxy_get_status`). */
  failure(): host.CalloutStatus {
    return host.getStatus();
  }
}

/**
 * One HTTP stream. Header and body methods follow one grid:
 * (get|set|add|replace|remove) × (Request|Response) × (Header|Headers|Trailer|Trailers|Body).
 *
 * Availability (Envoy): request headers are readable and writable in `onRequestHeaders` and while the
 * request is paused there; response headers likewise on the response side; in `onLog` request and
 * response headers and response trailers are read-only and request trailers are gone. Outside its window
 * a read gives null (or an empty list) and a write gives false; nothing traps.
 */
export class HttpContext extends BaseContext {
  constructor(
    id: u32,
    public readonly root: RootContext,
  ) {
    super(id);
  }

  // --- Callbacks ---------------------------------------------------------------------------------

  /** Request headers arrived. `Pause` stops the request (no body callbacks) until `resumeRequest()`. */
  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  /** A request body chunk; after a `Pause` here, `bodySize` is the total buffered so far. */
  onRequestBody(bodySize: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onRequestTrailers(numTrailers: u32): Action {
    return Action.Continue;
  }
  onRequestMetadata(numElements: u32): Action {
    return Action.Continue;
  }
  /** Response headers arrived (also for a local reply, including one this filter sent). */
  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onResponseBody(bodySize: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onResponseTrailers(numTrailers: u32): Action {
    return Action.Continue;
  }
  onResponseMetadata(numElements: u32): Action {
    return Action.Continue;
  }
  /**
   * The stream is complete (Envoy's access-log phase, before `onDone`): request and response headers are
   * readable, and attributes such as `response.code` and `request.duration` are set.
   */
  onLog(): void {}

  // --- Request headers and trailers --------------------------------------------------------------

  /** The first value of request header `name` (lower-case), "" when empty, null when absent. */
  getRequestHeader(name: string): string | null {
    return host.getHeaderMapValue(MapType.HttpRequestHeaders, name);
  }
  getRequestHeaders(): Array<Header> {
    return host.getHeaderMapPairs(MapType.HttpRequestHeaders);
  }
  /** Replaces every request header. In Envoy (ABI 0.2.1) any request-header change re-selects the route. */
  setRequestHeaders(headers: Array<Header>): bool {
    return host.setHeaderMapPairs(MapType.HttpRequestHeaders, headers);
  }
  addRequestHeader(name: string, value: string): bool {
    return host.addHeaderMapValue(MapType.HttpRequestHeaders, name, value);
  }
  replaceRequestHeader(name: string, value: string): bool {
    return host.replaceHeaderMapValue(MapType.HttpRequestHeaders, name, value);
  }
  removeRequestHeader(name: string): bool {
    return host.removeHeaderMapValue(MapType.HttpRequestHeaders, name);
  }
  getRequestTrailer(name: string): string | null {
    return host.getHeaderMapValue(MapType.HttpRequestTrailers, name);
  }
  getRequestTrailers(): Array<Header> {
    return host.getHeaderMapPairs(MapType.HttpRequestTrailers);
  }
  setRequestTrailers(trailers: Array<Header>): bool {
    return host.setHeaderMapPairs(MapType.HttpRequestTrailers, trailers);
  }
  addRequestTrailer(name: string, value: string): bool {
    return host.addHeaderMapValue(MapType.HttpRequestTrailers, name, value);
  }
  replaceRequestTrailer(name: string, value: string): bool {
    return host.replaceHeaderMapValue(MapType.HttpRequestTrailers, name, value);
  }
  removeRequestTrailer(name: string): bool {
    return host.removeHeaderMapValue(MapType.HttpRequestTrailers, name);
  }

  // --- Response headers and trailers -------------------------------------------------------------

  getResponseHeader(name: string): string | null {
    return host.getHeaderMapValue(MapType.HttpResponseHeaders, name);
  }
  getResponseHeaders(): Array<Header> {
    return host.getHeaderMapPairs(MapType.HttpResponseHeaders);
  }
  setResponseHeaders(headers: Array<Header>): bool {
    return host.setHeaderMapPairs(MapType.HttpResponseHeaders, headers);
  }
  addResponseHeader(name: string, value: string): bool {
    return host.addHeaderMapValue(MapType.HttpResponseHeaders, name, value);
  }
  replaceResponseHeader(name: string, value: string): bool {
    return host.replaceHeaderMapValue(MapType.HttpResponseHeaders, name, value);
  }
  removeResponseHeader(name: string): bool {
    return host.removeHeaderMapValue(MapType.HttpResponseHeaders, name);
  }
  getResponseTrailer(name: string): string | null {
    return host.getHeaderMapValue(MapType.HttpResponseTrailers, name);
  }
  getResponseTrailers(): Array<Header> {
    return host.getHeaderMapPairs(MapType.HttpResponseTrailers);
  }
  setResponseTrailers(trailers: Array<Header>): bool {
    return host.setHeaderMapPairs(MapType.HttpResponseTrailers, trailers);
  }
  addResponseTrailer(name: string, value: string): bool {
    return host.addHeaderMapValue(MapType.HttpResponseTrailers, name, value);
  }
  replaceResponseTrailer(name: string, value: string): bool {
    return host.replaceHeaderMapValue(MapType.HttpResponseTrailers, name, value);
  }
  removeResponseTrailer(name: string): bool {
    return host.removeHeaderMapValue(MapType.HttpResponseTrailers, name);
  }

  // --- Bodies ------------------------------------------------------------------------------------

  /** Up to `maxSize` bytes of the request body from `start` (the buffered body while paused), or null. */
  getRequestBody(start: u32 = 0, maxSize: u32 = 0x7fffffff): ArrayBuffer | null {
    return host.getBufferBytes(BufferType.HttpRequestBody, start, maxSize);
  }
  /** Replaces the whole request body seen so far. Valid in `onRequestBody`. */
  setRequestBody(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.HttpRequestBody, 0, 0x7fffffff, data);
  }
  appendRequestBody(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.HttpRequestBody, 0x7fffffff, 0, data);
  }
  prependRequestBody(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.HttpRequestBody, 0, 0, data);
  }
  getResponseBody(start: u32 = 0, maxSize: u32 = 0x7fffffff): ArrayBuffer | null {
    return host.getBufferBytes(BufferType.HttpResponseBody, start, maxSize);
  }
  setResponseBody(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.HttpResponseBody, 0, 0x7fffffff, data);
  }
  appendResponseBody(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.HttpResponseBody, 0x7fffffff, 0, data);
  }
  prependResponseBody(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.HttpResponseBody, 0, 0, data);
  }

  // --- Flow control ------------------------------------------------------------------------------

  /** Resumes a request paused by `Pause` (after the current callback returns). */
  resumeRequest(): bool {
    return host.continueStream(StreamType.HttpRequest);
  }
  /** Resumes a response paused by `Pause`. */
  resumeResponse(): bool {
    return host.continueStream(StreamType.HttpResponse);
  }
  /** Resets the stream (Envoy response code details `wasm_close_stream`). */
  closeRequest(): bool {
    return host.closeStream(StreamType.HttpRequest);
  }
  closeResponse(): bool {
    return host.closeStream(StreamType.HttpResponse);
  }

  /**
   * Answers the request from the proxy: Envoy sends it after the current callback returns and ignores
   * that callback's return value. Header names are lower-cased and added to Envoy's own. Valid from the
   * request callbacks, a paused request (e.g. in `onHttpCallResponse`), or response headers not yet
   * sent. The reply passes back through this filter's response callbacks. `details` becomes the
   * response code details (spaces replaced by `_`). `grpcStatus` -1 sends none.
   */
  sendLocalResponse(
    statusCode: u32,
    body: string = "",
    headers: Array<Header> = new Array<Header>(),
    details: string = "",
    grpcStatus: i32 = -1,
  ): bool {
    const b = body.length > 0 ? String.UTF8.encode(body, false) : null;
    return host.sendLocalResponse(statusCode, details, b, headers, grpcStatus);
  }

  /** Like `sendLocalResponse` with a binary body. */
  sendLocalResponseBytes(
    statusCode: u32,
    body: ArrayBuffer | null,
    headers: Array<Header>,
    details: string = "",
    grpcStatus: i32 = -1,
  ): bool {
    return host.sendLocalResponse(statusCode, details, body, headers, grpcStatus);
  }
}

/** One TCP connection through a network filter (`envoy.filters.network.wasm`). */
export class StreamContext extends BaseContext {
  constructor(
    id: u32,
    public readonly root: RootContext,
  ) {
    super(id);
  }

  onNewConnection(): Action {
    return Action.Continue;
  }
  /** Bytes from the client; read them with `getDownstreamData`. */
  onDownstreamData(dataSize: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onDownstreamConnectionClose(peer: PeerType): void {}
  /** Bytes from the upstream; read them with `getUpstreamData`. */
  onUpstreamData(dataSize: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onUpstreamConnectionClose(peer: PeerType): void {}
  /** The connection is closed on both sides (Envoy calls it after `onDone`). */
  onLog(): void {}

  getDownstreamData(start: u32 = 0, maxSize: u32 = 0x7fffffff): ArrayBuffer | null {
    return host.getBufferBytes(BufferType.DownstreamData, start, maxSize);
  }
  setDownstreamData(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.DownstreamData, 0, 0x7fffffff, data);
  }
  appendDownstreamData(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.DownstreamData, 0x7fffffff, 0, data);
  }
  prependDownstreamData(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.DownstreamData, 0, 0, data);
  }
  getUpstreamData(start: u32 = 0, maxSize: u32 = 0x7fffffff): ArrayBuffer | null {
    return host.getBufferBytes(BufferType.UpstreamData, start, maxSize);
  }
  setUpstreamData(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.UpstreamData, 0, 0x7fffffff, data);
  }
  appendUpstreamData(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.UpstreamData, 0x7fffffff, 0, data);
  }
  prependUpstreamData(data: ArrayBuffer): bool {
    return host.setBufferBytes(BufferType.UpstreamData, 0, 0, data);
  }
  /** Resumes a connection paused by `Pause` from a downstream callback. */
  resumeDownstream(): bool {
    return host.continueStream(StreamType.Downstream);
  }
  /** Envoy answers UNIMPLEMENTED (false) for upstream. */
  resumeUpstream(): bool {
    return host.continueStream(StreamType.Upstream);
  }
  closeDownstream(): bool {
    return host.closeStream(StreamType.Downstream);
  }
  closeUpstream(): bool {
    return host.closeStream(StreamType.Upstream);
  }
}
