// One HTTP stream through the plugin, driven the way Envoy's filter manager drives the Wasm filter:
// header-map windows, pause and resume, buffering, local replies through the encoder path, the
// log → done → delete end sequence, and the failure policy when the VM traps.

import {
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  LogLevel,
  MapType,
  Status,
} from "./abi";
import type { Host } from "./host";
import { PropertyValue, pathKey } from "./properties";
import { HeaderList, addHeader } from "./serde";
import type { RootState, Vm } from "./vm";

export interface LocalReply {
  status: number;
  /** Response code details (Envoy replaces whitespace with `_`). */
  details: string;
  body: Uint8Array;
  /** Headers the plugin added (lower-cased). */
  headers: HeaderList;
  /** grpc-status to send, or null. */
  grpcStatus: number | null;
}

/** What one side (request to upstream, response to downstream) carried after the filter. */
export interface Message {
  headers: HeaderList | null;
  body: Uint8Array;
  trailers: HeaderList | null;
  /** The last frame (end_of_stream) went through. */
  complete: boolean;
}

type Side = "request" | "response";
type Held = { kind: "body"; data: Uint8Array; eos: boolean } | { kind: "trailers"; trailers: HeaderList };

interface SideState {
  /** Where the filter stopped iteration, or null when data flows. */
  stoppedAt: "headers" | "body" | "trailers" | null;
  /** Frames Envoy holds while iteration is stopped at headers or trailers. */
  held: Held[];
  /** Body accumulated while the filter returned StopIterationAndBuffer. */
  buffer: Uint8Array | null;
  buffering: boolean;
  /** The body chunk visible to the running body callback. */
  current: Uint8Array | null;
  endOfStream: boolean;
  /** Set while a body callback for this side runs (request trailers may be added then). */
  inBodyCallback: boolean;
  /** continue_stream dropped Envoy's pointer to this body chunk during the running callback. */
  bodyDetached: boolean;
}

const newSide = (): SideState => ({
  stoppedAt: null,
  held: [],
  buffer: null,
  buffering: false,
  current: null,
  endOfStream: false,
  inBodyCallback: false,
  bodyDetached: false,
});

const concat = (a: Uint8Array | null, b: Uint8Array): Uint8Array => {
  if (!a || a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const HEADERS_STATUS: Record<number, FilterHeadersStatus> = {
  0: "Continue",
  1: "StopIteration",
  2: "Continue", // ContinueAndEndStream: Envoy's switch has no case for it
  3: "StopAllIterationAndBuffer",
  4: "StopAllIterationAndWatermark",
};
const DATA_STATUS: FilterDataStatus[] = [
  "Continue",
  "StopIterationAndBuffer",
  "StopIterationAndWatermark",
  "StopIterationNoBuffer",
];

export class HttpStream {
  readonly id: number;
  /** Envoy's header maps, indexed by MapType (0..3); null until they exist. */
  private readonly maps: (HeaderList | null)[] = [null, null, null, null];
  /** Whether the Wasm filter currently holds a pointer to each map (Envoy nulls it after Continue). */
  private readonly window: boolean[] = [false, false, false, false];
  private accessLogPhase = false;
  private readonly sides: Record<Side, SideState> = { request: newSide(), response: newSide() };
  private created = false;
  private localReplyRequested = false;
  private bypass = false;
  private completed = false;
  /** Filter-state properties written with proxy_set_property, plus properties the test set. */
  readonly properties = new Map<string, PropertyValue>();
  /** What reached the upstream. `headers` stays null when the request never got past the filter. */
  readonly upstream: Message = { headers: null, body: new Uint8Array(0), trailers: null, complete: false };
  /** What reached the client. */
  readonly downstream: Message = { headers: null, body: new Uint8Array(0), trailers: null, complete: false };
  /** The local reply the plugin sent, if any. */
  localResponse: LocalReply | null = null;
  /** Set when Envoy replied on its own (e.g. 503 `wasm_fail_stream`, 413 buffer overflow). */
  envoyReply: { status: number; details: string } | null = null;
  /** Response code details of a reset (`wasm_close_stream`), or null. */
  resetDetails: string | null = null;
  /** How often Envoy re-selected the route: header changes (ABI 0.2.1) and `clear_route_cache` calls. */
  routeCacheClears = 0;
  readonly routeCacheClearReasons: string[] = [];
  /** Callbacks invoked on this stream, in order (`proxy_on_request_headers`, ...). */
  readonly callbacks: string[] = [];
  readonly startedAtMs: number;
  /** `response.code`: the status as it reached this filter (upstream or local reply), or null. */
  responseCode: number | null = null;

  constructor(
    readonly host: Host,
    readonly vm: Vm,
    /** The root (plugin configuration) this stream belongs to until it ends; null on a failed VM. */
    readonly root: RootState | null,
  ) {
    this.id = vm.newContextId();
    this.startedAtMs = host.clock.nowMs;
    if (vm.failed) this.bypass = host.failurePolicy === "FAIL_OPEN";
  }

  // --- Test-side driving ----------------------------------------------------------------------------

  /** Request headers from the client. Returns the filter's status as Envoy sees it. */
  sendRequestHeaders(headers: HeaderList, endOfStream = false): FilterHeadersStatus {
    this.maps[MapType.HttpRequestHeaders] = headers.map(([k, v]) => [k.toLowerCase(), v]);
    this.sides.request.endOfStream = endOfStream;
    if (this.bypass) {
      this.forwardHeaders("request");
      return "Continue";
    }
    if (this.vm.failed) {
      this.failStream();
      return "StopAllIterationAndWatermark";
    }
    this.ensureCreated();
    return this.runHeaders("request", headers.length, endOfStream);
  }

  /** A request body chunk from the client. */
  sendRequestBody(data: Uint8Array | string, endOfStream = false): FilterDataStatus | "Held" | "Ignored" {
    return this.sendBody(
      "request",
      typeof data === "string" ? new TextEncoder().encode(data) : data,
      endOfStream,
    );
  }

  sendRequestTrailers(trailers: HeaderList): FilterTrailersStatus | "Held" | "Ignored" {
    return this.sendTrailers("request", trailers);
  }

  /** Response headers from the upstream. */
  sendResponseHeaders(headers: HeaderList, endOfStream = false): FilterHeadersStatus | "Ignored" {
    if (this.isOver()) return "Ignored";
    this.maps[MapType.HttpResponseHeaders] = headers.map(([k, v]) => [k.toLowerCase(), v]);
    const status = headers.find(([k]) => k === ":status")?.[1];
    this.responseCode = status === undefined ? null : Number(status);
    this.sides.response.endOfStream = endOfStream;
    if (this.bypass || !this.created) {
      this.forwardHeaders("response");
      return "Continue";
    }
    if (this.vm.failed) {
      this.failStream();
      return "StopAllIterationAndWatermark";
    }
    return this.runHeaders("response", headers.length, endOfStream);
  }

  sendResponseBody(data: Uint8Array | string, endOfStream = false): FilterDataStatus | "Held" | "Ignored" {
    return this.sendBody(
      "response",
      typeof data === "string" ? new TextEncoder().encode(data) : data,
      endOfStream,
    );
  }

  sendResponseTrailers(trailers: HeaderList): FilterTrailersStatus | "Held" | "Ignored" {
    return this.sendTrailers("response", trailers);
  }

  /**
   * Ends the stream as Envoy does for HTTP: `proxy_on_log` (headers readable, read-only), then
   * `proxy_on_done`, then `proxy_on_delete`. Safe to call twice.
   */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    this.checkFraming("request", this.upstream);
    this.checkFraming("response", this.downstream);
    if (this.created && !this.vm.failed) {
      this.accessLogPhase = true;
      this.invoke("proxy_on_log");
      this.accessLogPhase = false;
      this.invoke("proxy_on_done");
      this.invoke("proxy_on_delete");
    }
    this.vm.contexts.delete(this.id);
    this.host.streamEnded(this);
  }

  /** Sets a property only this stream sees (e.g. `["xds", "route_name"]`). */
  setTestProperty(path: string[], value: PropertyValue): this {
    this.properties.set(pathKey(path), value);
    return this;
  }

  /** True when the request is stopped at the filter (waiting for `continue_stream`). */
  get requestPaused(): boolean {
    return this.sides.request.stoppedAt !== null;
  }

  get responsePaused(): boolean {
    return this.sides.response.stoppedAt !== null;
  }

  /** The request headers as they are now (after the filter's changes). */
  get rootContextId(): number {
    return this.root?.id ?? 0;
  }

  get requestHeaders(): HeaderList | null {
    return this.maps[MapType.HttpRequestHeaders];
  }

  get responseHeaders(): HeaderList | null {
    return this.maps[MapType.HttpResponseHeaders];
  }

  /** The final HTTP status the client got, or null. */
  get status(): number | null {
    const s = this.downstream.headers?.find(([k]) => k === ":status")?.[1];
    return s === undefined ? null : Number(s);
  }

  // --- Host-call side (called by the VM) ------------------------------------------------------------

  readMap(type: MapType): HeaderList | "unavailable" | "not_found" {
    if (this.accessLogPhase) {
      // Envoy keeps request headers, response headers and response trailers for the access log.
      if (type === MapType.HttpRequestTrailers) return "not_found";
      return this.maps[type] ?? "not_found";
    }
    return this.window[type] && this.maps[type] ? this.maps[type]! : "unavailable";
  }

  /** Replaces a whole map (proxy_set_header_map_pairs: Envoy removes every key, then adds each pair). */
  setMap(type: MapType, pairs: HeaderList): Status {
    return this.mutateMap(type, (m) => {
      m.length = 0;
      for (const [k, v] of pairs) addHeader(m, k, v);
    });
  }

  /**
   * The map Envoy's writable lookup (`Context::getMap`) gives now, or null (BAD_ARGUMENT): none in on_log or
   * outside the map's window. Trailers are created (empty) when asked for from the last body chunk of a
   * message that has none, as Envoy's addDecodedTrailers/addEncodedTrailers do.
   */
  writableMap(type: MapType): HeaderList | null {
    if (this.accessLogPhase) return null;
    if (this.window[type] && this.maps[type]) return this.maps[type];
    if (type === MapType.HttpRequestTrailers || type === MapType.HttpResponseTrailers) {
      const side = type === MapType.HttpRequestTrailers ? this.sides.request : this.sides.response;
      if (side.inBodyCallback && side.endOfStream && !side.bodyDetached && !this.maps[type]) {
        this.window[type] = true;
        return (this.maps[type] = []);
      }
    }
    return null;
  }

  /** Applies a change to a writable map, and clears the route cache for request headers (ABI 0.2.1). */
  mutateMap(type: MapType, change: (m: HeaderList) => void): Status {
    const map = this.writableMap(type);
    if (!map) return Status.BadArgument;
    change(map);
    if (type === MapType.HttpRequestHeaders) this.clearRouteCache("request headers changed");
    return Status.Ok;
  }

  /**
   * continue_stream (HTTP_REQUEST or HTTP_RESPONSE): Envoy drops its request header, body and trailer
   * pointers at once, so for the rest of the running callback the request maps answer BAD_ARGUMENT and the
   * current request chunk is gone.
   */
  closeRequestWindows(): void {
    this.window[MapType.HttpRequestHeaders] = false;
    this.window[MapType.HttpRequestTrailers] = false;
    this.sides.request.bodyDetached = true;
  }

  clearRouteCache(reason: string): void {
    this.routeCacheClears++;
    this.routeCacheClearReasons.push(reason);
  }

  /**
   * The body buffer visible now: the whole buffered body while Envoy buffers it (also in the trailers
   * callback), else the chunk of the running body callback (gone once continue_stream dropped it).
   */
  readableBody(side: Side): Uint8Array | null {
    const s = this.sides[side];
    if (s.buffering) return s.buffer;
    return s.inBodyCallback && !s.bodyDetached ? s.current : null;
  }

  /** Envoy `Buffer::copyFrom`: start 0 drains `size` then prepends; start ≥ length appends; else BAD_ARGUMENT. */
  setBody(side: Side, start: number, size: number, data: Uint8Array): Status {
    const s = this.sides[side];
    const current = this.readableBody(side);
    if (!current) return Status.BadArgument; // Envoy: no body instance outside the body callbacks
    let next: Uint8Array;
    if (start === 0) next = concat(data, current.subarray(Math.min(size, current.length)));
    else if (start >= current.length) next = concat(current, data);
    else return Status.BadArgument;
    if (s.buffering) s.buffer = next;
    else s.current = next;
    return Status.Ok;
  }

  /** proxy_set_property: Envoy keeps the value as filter state `wasm.<path>` (segments still NUL-joined). */
  setProperty(path: string[], value: Uint8Array): void {
    this.properties.set(`wasm.${pathKey(path)}`, value);
  }

  markLocalReplyRequested(): void {
    this.localReplyRequested = true;
  }

  /** continue_stream, run after the callback returned. */
  resume(side: Side): void {
    const s = this.sides[side];
    if (s.stoppedAt === null) {
      this.host.recordLog(
        LogLevel.Warn,
        `emulator: continue_stream(${side}) on stream ${this.id} that is not paused; Envoy's behaviour is undefined (debug builds assert)`,
        this.vm.index,
        this.id,
        true,
      );
      return;
    }
    const at = s.stoppedAt;
    s.stoppedAt = null;
    if (at === "headers") {
      this.forwardHeaders(side);
    } else {
      // Stopped at the body, or at trailers that arrived while the body was buffered: both go on.
      this.forwardBody(side);
      if (at === "trailers" || s.endOfStream) this.endMessage(side);
    }
    this.flushHeld(side);
  }

  /** close_stream: Envoy resets the stream. */
  reset(details: string): void {
    this.resetDetails = details;
    this.sides.request.stoppedAt = null;
    this.sides.response.stoppedAt = null;
  }

  /**
   * Sends the plugin's local reply. From the request path it goes through this filter's encoder callbacks
   * (the plugin sees its own reply); once response headers exist it is sent directly, without callbacks.
   */
  localReply(reply: LocalReply): void {
    this.localResponse = reply;
    this.localReplyRequested = false;
    if (this.downstream.headers) {
      this.reset("local_reply_after_response_started");
      return;
    }
    const headers: HeaderList = [[":status", String(reply.status)]];
    if (reply.body.length > 0) {
      headers.push(["content-length", String(reply.body.length)], ["content-type", "text/plain"]);
    }
    if (reply.grpcStatus !== null) headers.push(["grpc-status", String(reply.grpcStatus)]);
    headers.push(...reply.headers);
    this.abandonRequest();
    this.responseCode = reply.status;
    const viaFilter = this.maps[MapType.HttpResponseHeaders] === null;
    this.maps[MapType.HttpResponseHeaders] = headers;
    this.sides.response = newSide();
    this.sides.response.endOfStream = reply.body.length === 0;
    if (!viaFilter || this.vm.failed) {
      this.downstream.headers = headers.map(([k, v]) => [k, v]);
      this.downstream.body = reply.body;
      this.downstream.complete = true;
      return;
    }
    this.runHeaders("response", headers.length, reply.body.length === 0, true);
    if (reply.body.length > 0) this.sendBody("response", reply.body, true, true);
    // A local reply ends the exchange even if the filter paused its own reply.
    if (!this.downstream.headers) this.forwardHeaders("response");
    this.downstream.complete = true;
  }

  // --- Internals ------------------------------------------------------------------------------------

  /**
   * A body whose length no longer matches the content-length that already went out: the peer reads only
   * content-length bytes (seen with go-httpbin behind Envoy 1.39). Remove content-length in the headers
   * callback when a filter changes the body's length.
   */
  private checkFraming(side: Side, m: Message): void {
    const cl = m.headers?.find(([k]) => k === "content-length")?.[1];
    if (!m.complete || cl === undefined || Number(cl) === m.body.length) return;
    this.host.recordLog(
      LogLevel.Warn,
      `emulator: ${side} body is ${m.body.length} bytes but content-length says ${cl}; the peer reads ${cl} bytes`,
      this.vm.index,
      this.id,
      true,
    );
  }

  private isOver(): boolean {
    return (
      this.completed || this.resetDetails !== null || this.localResponse !== null || this.envoyReply !== null
    );
  }

  private ensureCreated(): void {
    if (this.created) return;
    this.created = true;
    this.vm.contexts.set(this.id, {
      kind: "http",
      id: this.id,
      rootContextId: this.rootContextId,
      stream: this,
    });
    this.invoke("proxy_on_context_create", this.rootContextId);
  }

  private invoke(name: string, ...args: number[]): number | null {
    this.callbacks.push(name);
    return this.vm.invoke(name, this.id, ...args);
  }

  private headersMapType(side: Side): MapType {
    return side === "request" ? MapType.HttpRequestHeaders : MapType.HttpResponseHeaders;
  }

  private trailersMapType(side: Side): MapType {
    return side === "request" ? MapType.HttpRequestTrailers : MapType.HttpResponseTrailers;
  }

  private runHeaders(
    side: Side,
    count: number,
    endOfStream: boolean,
    fromLocalReply = false,
  ): FilterHeadersStatus {
    const type = this.headersMapType(side);
    this.window[type] = true;
    const raw = this.invoke(
      side === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers",
      count,
      endOfStream ? 1 : 0,
    );
    if (raw === null) {
      this.onTrap(side, "headers");
      return this.host.failurePolicy === "FAIL_OPEN" ? "Continue" : "StopAllIterationAndWatermark";
    }
    if (this.localResponse !== null && !fromLocalReply) return "StopAllIterationAndWatermark"; // reply already sent
    if (this.resetDetails !== null) return "StopAllIterationAndWatermark";
    let status = HEADERS_STATUS[raw] ?? "StopAllIterationAndWatermark"; // values above 4 become 4
    // cpp-host: StopIteration becomes StopAllIterationAndWatermark unless allow_on_headers_stop_iteration.
    if (status === "StopIteration" && !this.host.allowOnHeadersStopIteration)
      status = "StopAllIterationAndWatermark";
    if (this.localReplyRequested) status = "StopAllIterationAndWatermark";
    if (status === "Continue") {
      this.forwardHeaders(side);
    } else {
      this.sides[side].stoppedAt = "headers";
    }
    return status;
  }

  private target(side: Side): Message {
    return side === "request" ? this.upstream : this.downstream;
  }

  private forwardHeaders(side: Side): void {
    const type = this.headersMapType(side);
    this.target(side).headers = (this.maps[type] ?? []).map(([k, v]) => [k, v]);
    this.window[type] = false; // Envoy drops its pointer once the headers continue
    if (this.sides[side].endOfStream && this.sides[side].held.length === 0) this.endMessage(side);
  }

  /**
   * The last frame went through: trailers (the peer's, or ones the filter added from the last body chunk)
   * follow the body, and the message is complete.
   */
  private endMessage(side: Side): void {
    const type = this.trailersMapType(side);
    const target = this.target(side);
    if (this.maps[type]) target.trailers = this.maps[type]!.map(([k, v]) => [k, v]);
    this.window[type] = false;
    target.complete = true;
  }

  private sendBody(
    side: Side,
    data: Uint8Array,
    endOfStream: boolean,
    fromLocalReply = false,
  ): FilterDataStatus | "Held" | "Ignored" {
    if (!fromLocalReply && this.isOver()) return "Ignored";
    const s = this.sides[side];
    const target = this.target(side);
    if (this.bypass || !this.created) {
      target.body = concat(target.body, data);
      if (endOfStream) this.endMessage(side);
      return "Continue";
    }
    if (s.stoppedAt === "headers" || s.stoppedAt === "trailers") {
      s.held.push({ kind: "body", data, eos: endOfStream });
      return "Held";
    }
    if (this.vm.failed) {
      this.failStream();
      return "StopIterationNoBuffer";
    }
    s.endOfStream = endOfStream;
    if (s.buffering) {
      s.buffer = concat(s.buffer, data);
      if (s.buffer.length > this.host.bufferLimitBytes) {
        // Envoy: the per-connection buffer limit; overflowing it while buffering the request is a 413.
        this.envoyLocalReply(
          side === "request" ? 413 : 500,
          side === "request" ? "request_payload_too_large" : "response_payload_too_large",
        );
        return "StopIterationAndBuffer";
      }
    } else {
      s.current = data;
    }
    const size = s.buffering ? s.buffer!.length : data.length;
    s.inBodyCallback = true;
    s.bodyDetached = false;
    const raw = this.invoke(
      side === "request" ? "proxy_on_request_body" : "proxy_on_response_body",
      size,
      endOfStream ? 1 : 0,
    );
    s.inBodyCallback = false;
    if (raw === null) {
      this.onTrap(side, "body");
      return this.host.failurePolicy === "FAIL_OPEN" ? "Continue" : "StopIterationNoBuffer";
    }
    if (this.localResponse !== null && !fromLocalReply) return "StopIterationNoBuffer";
    let status: FilterDataStatus = DATA_STATUS[Math.min(raw, 3)];
    if (this.localReplyRequested) status = "StopIterationNoBuffer";
    if (status === "Continue") {
      this.forwardBody(side);
      if (endOfStream) this.endMessage(side);
    } else {
      if (!s.buffering) s.buffer = s.current;
      s.buffering = true;
      s.current = null;
      s.stoppedAt = "body";
    }
    return status;
  }

  /** Sends the body Envoy holds for this side (the buffered body, or the running callback's chunk). */
  private forwardBody(side: Side): void {
    const s = this.sides[side];
    const chunk = s.buffering ? s.buffer : s.current;
    const target = this.target(side);
    if (chunk) target.body = concat(target.body, chunk);
    s.buffer = null;
    s.buffering = false;
    s.current = null;
  }

  private sendTrailers(side: Side, trailers: HeaderList): FilterTrailersStatus | "Held" | "Ignored" {
    if (this.isOver()) return "Ignored";
    const s = this.sides[side];
    const type = this.trailersMapType(side);
    this.maps[type] = trailers.map(([k, v]) => [k.toLowerCase(), v]);
    s.endOfStream = true;
    if (this.bypass || !this.created) {
      this.endMessage(side);
      return "Continue";
    }
    if (s.stoppedAt === "headers" || s.stoppedAt === "trailers") {
      s.held.push({ kind: "trailers", trailers });
      return "Held";
    }
    if (this.vm.failed) {
      this.failStream();
      return "StopIteration";
    }
    this.window[type] = true;
    const raw = this.invoke(
      side === "request" ? "proxy_on_request_trailers" : "proxy_on_response_trailers",
      trailers.length,
    );
    if (raw === null) {
      this.onTrap(side, "trailers");
      return this.host.failurePolicy === "FAIL_OPEN" ? "Continue" : "StopIteration";
    }
    if (this.localResponse !== null || this.localReplyRequested) return "StopIteration";
    if (raw === 0) {
      // Trailers that arrive while the body is buffered (stopped at the body): Continue sends both.
      s.stoppedAt = null;
      this.forwardBody(side);
      this.endMessage(side);
      return "Continue";
    }
    s.stoppedAt = "trailers"; // a buffered body stays held with them until continue_stream
    return "StopIteration";
  }

  /** Delivers what Envoy held while iteration was stopped: the held body as one chunk, then trailers. */
  private flushHeld(side: Side): void {
    const s = this.sides[side];
    while (s.held.length > 0 && s.stoppedAt === null && !this.isOver()) {
      const bodies: Uint8Array[] = [];
      let eos = false;
      while (s.held.length > 0 && s.held[0].kind === "body") {
        const h = s.held.shift() as { kind: "body"; data: Uint8Array; eos: boolean };
        bodies.push(h.data);
        eos = h.eos;
      }
      if (bodies.length > 0)
        this.sendBody(
          side,
          bodies.reduce((a, b) => concat(a, b), new Uint8Array(0)),
          eos,
        );
      if (s.stoppedAt !== null) break;
      const next = s.held[0];
      if (next && next.kind === "trailers") {
        s.held.shift();
        this.sendTrailers(side, next.trailers);
      }
    }
  }

  /**
   * The VM trapped during a callback of this stream: Envoy applies the failure policy to it. FAIL_OPEN:
   * the callback answers Continue (cpp-host CHECK_FAIL_HTTP), so what the filter held goes on: the headers,
   * the buffered body or the current chunk, and the trailers; later frames bypass the filter.
   */
  private onTrap(side: Side, phase: "headers" | "body" | "trailers"): void {
    if (this.host.failurePolicy !== "FAIL_OPEN") {
      this.failStream();
      return;
    }
    this.bypass = true;
    const s = this.sides[side];
    s.stoppedAt = null;
    if (!this.target(side).headers) this.forwardHeaders(side);
    if (phase === "headers") return;
    this.forwardBody(side);
    if (phase === "trailers" || s.endOfStream) this.endMessage(side);
  }

  /** Envoy's fail-closed path: a 503 local reply with details `wasm_fail_stream`. */
  private failStream(): void {
    this.envoyLocalReply(503, "wasm_fail_stream");
  }

  /** A local reply drops the request where it stands: nothing more goes upstream. */
  private abandonRequest(): void {
    this.sides.request.stoppedAt = null;
    this.sides.request.held = [];
  }

  private envoyLocalReply(status: number, details: string): void {
    if (this.envoyReply || this.downstream.headers) return;
    this.envoyReply = { status, details };
    this.responseCode = status;
    this.abandonRequest();
    this.downstream.headers = [[":status", String(status)]];
    this.downstream.complete = true;
  }
}
