// One instance of the plugin module: what Envoy runs on one worker thread. It provides the `env.proxy_*`
// and WASI imports with Envoy's behaviour (each quirk cites where it comes from) and invokes callbacks.

import { BufferType, LogLevel, MapType, MetricType, Status, StreamType, WASI_ERRNO } from "./abi";
import type { Host } from "./host";
import type { HttpStream } from "./http-stream";
import { HeaderList, addHeader, parsePairs, parsePath, serializePairs } from "./serde";
import { encodeProperty } from "./properties";
import type { Stat } from "./state";

/** A plugin (one PluginConfig) as the host sees it. */
export interface PluginSpec {
  name: string;
  rootId: string;
  vmId: string;
  configuration: Uint8Array;
  vmConfiguration: Uint8Array;
}

export interface RootState {
  kind: "root";
  id: number;
  plugin: PluginSpec;
  tickPeriodMs: number;
  nextTickMs: number;
  /** on_done returned false: waiting for proxy_done. */
  pendingDone: boolean;
  deleted: boolean;
  /** Streams created on this root that have not ended (Envoy: they hold its PluginHandle). */
  streams: number;
  /** Replaced by a configuration update: stopped once its last stream ends. */
  retiring: boolean;
}

export interface StreamState {
  kind: "http";
  id: number;
  rootContextId: number;
  stream: HttpStream;
}

export type ContextState = RootState | StreamState;

/** An HTTP callout as Envoy received it. */
export interface HttpCallout {
  token: number;
  /** Worker index of the VM that made the call. */
  vm: number;
  /** The VM that made the call: its answer is dropped once that VM failed or was replaced. */
  owner: Vm;
  rootContextId: number;
  cluster: string;
  headers: HeaderList;
  body: Uint8Array;
  trailers: HeaderList;
  timeoutMs: number;
  /** Monotonic time (ms) at which Envoy times the call out (Infinity for timeout 0). */
  deadlineMs: number;
  done: boolean;
  /** Envoy cancelled it: the root context that owned it was deleted. */
  cancelled: boolean;
}

/** A gRPC call or stream as Envoy received it. */
export interface GrpcCallout {
  token: number;
  /** Worker index of the VM that made the call. */
  vm: number;
  /** The VM that made the call: its events are dropped once that VM failed or was replaced. */
  owner: Vm;
  rootContextId: number;
  kind: "call" | "stream";
  upstream: string;
  service: string;
  method: string;
  initialMetadata: HeaderList;
  messages: Uint8Array[];
  timeoutMs: number;
  closedByPlugin: boolean;
  cancelled: boolean;
  done: boolean;
}

/** Data a callout callback can read while it runs. */
interface CalloutView {
  headers?: HeaderList;
  trailers?: HeaderList;
  body?: Uint8Array;
  initialMetadata?: HeaderList;
  trailingMetadata?: HeaderList;
  message?: Uint8Array;
  status: { code: number; message: string };
}

/** Thrown inside a host function to trap the guest, as cpp-host does. */
export class HostTrap extends Error {}

type Phase = "initializing" | "ready";

// cpp-host: during _initialize only proxy_log and WASI may be called; inside the allocator only these.
const ALLOWED_IN_ALLOCATOR = new Set(["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"]);

// cpp-host: during _initialize only proxy_log, WASI and the emscripten fillers may be called.
const RESTRICTED_IN_INITIALIZE = (name: string): boolean =>
  (name.startsWith("proxy_") && name !== "proxy_log") || name === "envoy_resolve_dns";

/** Envoy's V8 limit on a VM's linear memory (cpp-host `PROXY_WASM_HOST_MAX_WASM_MEMORY_SIZE_BYTES`). */
export const MAX_MEMORY_BYTES = 1 << 30;

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Vm {
  readonly index: number;
  readonly vmId: string;
  readonly instance: WebAssembly.Instance;
  failed = false;
  failureReason = "";
  private phase: Phase = "initializing";
  private inAllocator = false;
  private nextContextId = 1;
  readonly contexts = new Map<number, ContextState>();
  /** Context that host calls act on (the running callback's, or the one set by proxy_set_effective_context). */
  effective = 0;
  private depth = 0;
  private readonly deferred: Array<() => void> = [];
  private nextHttpToken = 0;
  private nextGrpcCallToken = 1;
  private nextGrpcStreamToken = 2;
  private readonly metricIds = new Map<number, Stat>();
  private nextMetricIndex = [0, 0, 0];
  private callout: CalloutView | null = null;
  /** `vm_config.configuration`: Envoy lets every callback read it once the VM started. */
  private vmConfiguration: Uint8Array | null = null;
  /** Buffers readable only during specific callbacks. */
  private pluginConfigurationWindow: Uint8Array | null = null;
  private callDataWindow: Uint8Array | null = null;
  vmStarted = false;

  constructor(
    readonly host: Host,
    module: WebAssembly.Module,
    index: number,
    vmId: string,
  ) {
    this.index = index;
    this.vmId = vmId;
    this.instance = new WebAssembly.Instance(module, this.imports());
  }

  // --- Guest memory --------------------------------------------------------------------------------

  private get memory(): WebAssembly.Memory {
    return this.instance.exports.memory as WebAssembly.Memory;
  }

  /** Size of the guest's linear memory in bytes. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  // Views are re-created on every access: memory.grow detaches the old ArrayBuffer.
  private view(): DataView {
    return new DataView(this.memory.buffer);
  }

  // Guest pointers and sizes are u32 (Envoy widens them to u64 Words): a pointer above 2 GiB reaches JS as
  // a negative i32, so every helper reads them unsigned.
  private bytes(ptr: number, len: number): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    const buf = this.memory.buffer;
    if (ptr + len > buf.byteLength) throw new HostTrap(`out-of-bounds guest read at ${ptr}+${len}`);
    return new Uint8Array(buf, ptr, len).slice();
  }

  private str(ptr: number, len: number): string {
    return dec.decode(this.bytes(ptr, len));
  }

  private writeU32(ptr: number, v: number): void {
    this.view().setUint32(ptr >>> 0, v >>> 0, true);
  }

  private writeU64(ptr: number, v: bigint): void {
    this.view().setBigUint64(ptr >>> 0, BigInt.asUintN(64, v), true);
  }

  /** Copies `data` to guest memory at `ptr` (u32). */
  private writeBytes(ptr: number, data: Uint8Array): void {
    ptr >>>= 0;
    if (ptr + data.length > this.memory.buffer.byteLength)
      throw new HostTrap(`out-of-bounds guest write at ${ptr}+${data.length}`);
    new Uint8Array(this.memory.buffer, ptr, data.length).set(data);
  }

  /** Envoy's V8 refuses to grow a VM's memory past 1 GiB; the guest then traps on its failed allocation. */
  private checkMemoryLimit(): void {
    const bytes = this.memoryBytes;
    if (bytes > MAX_MEMORY_BYTES)
      throw new HostTrap(
        `linear memory grew to ${Math.ceil(bytes / 2 ** 20)} MiB, above Envoy's 1 GiB limit for a VM`,
      );
  }

  /**
   * Copies host data into the guest through its allocator and writes pointer and size to the out-pointers
   * (cpp-host `copyToPointerSize`): empty data is written as (0, 0) without allocating.
   */
  private returnBytes(data: Uint8Array, ptrOut: number, sizeOut: number): void {
    if (data.length === 0) {
      this.writeU32(ptrOut, 0);
      this.writeU32(sizeOut, 0);
      return;
    }
    const ptr = this.allocate(data.length);
    this.writeBytes(ptr, data);
    this.writeU32(ptrOut, ptr);
    this.writeU32(sizeOut, data.length);
  }

  private allocate(size: number): number {
    const exports = this.instance.exports as Record<string, (...a: number[]) => number>;
    const alloc = exports.malloc ?? exports.proxy_on_memory_allocate;
    this.inAllocator = true;
    try {
      const ptr = alloc(size) >>> 0;
      if (ptr === 0) throw new HostTrap(`allocator returned 0 for ${size} bytes`);
      this.checkMemoryLimit();
      return ptr;
    } finally {
      this.inAllocator = false;
    }
  }

  // --- Context helpers ------------------------------------------------------------------------------

  private rootOf(contextId: number): RootState | undefined {
    const c = this.contexts.get(contextId);
    if (!c) return undefined;
    if (c.kind === "root") return c;
    const r = this.contexts.get(c.rootContextId);
    return r?.kind === "root" ? r : undefined;
  }

  private streamOf(contextId: number): HttpStream | undefined {
    const c = this.contexts.get(contextId);
    return c?.kind === "http" ? c.stream : undefined;
  }

  newContextId(): number {
    return this.nextContextId++;
  }

  // --- Invoking the guest ---------------------------------------------------------------------------

  /** True when the module exports callback `name`. */
  has(name: string): boolean {
    return typeof (this.instance.exports as Record<string, unknown>)[name] === "function";
  }

  /**
   * Calls export `name(contextId, ...args)` with host calls acting on `contextId`. Returns the result (0 when the export is
   * absent), or null when the guest trapped or the VM had already failed; a trap marks the VM failed.
   * After the outermost call returns, deferred actions run (Envoy's "after VM call" actions).
   */
  invoke(name: string, contextId: number, ...args: number[]): number | null {
    if (this.failed) return null;
    const fn = (this.instance.exports as Record<string, (...a: number[]) => number | undefined>)[name];
    if (typeof fn !== "function") return 0;
    const saved = this.effective;
    this.effective = contextId;
    this.depth++;
    let result: number | null;
    try {
      const r = fn(contextId, ...args);
      this.checkMemoryLimit();
      result = typeof r === "number" ? r >>> 0 : 0;
    } catch (e) {
      this.fail(`${name}: ${(e as Error).message}`);
      result = null;
    } finally {
      this.depth--;
      this.effective = saved;
    }
    if (this.depth === 0) {
      this.runDeferred();
      // Envoy posts on_queue_ready to the registrant's thread: it runs once this call has returned.
      this.host.deliverQueueNotifications();
    }
    return result;
  }

  /** Marks the VM failed (a trap), as cpp-host does with FailState::RuntimeError. */
  fail(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.failureReason = reason;
    this.host.recordLog(
      LogLevel.Critical,
      `wasm trap in VM ${this.index}: ${reason}`,
      this.index,
      this.effective,
      true,
    );
  }

  private defer(action: () => void): void {
    this.deferred.push(action);
  }

  private runDeferred(): void {
    while (this.deferred.length > 0) {
      const action = this.deferred.shift()!;
      action();
    }
  }

  /** Runs `_initialize` (or `_start`) with the restrictions cpp-host applies. */
  initialize(): boolean {
    this.phase = "initializing";
    const name = this.has("_initialize") ? "_initialize" : this.has("_start") ? "_start" : null;
    let ok = true;
    if (name) ok = this.invoke(name, 0) !== null; // extra arguments are ignored by a () export
    if (ok && this.has("main")) ok = this.invoke("main", 0, 0) !== null;
    this.phase = "ready";
    return ok;
  }

  /**
   * Creates a root context for `plugin`: on_context_create, on_vm_start (first root only), on_configure.
   * A refused start (false or a trap) returns null and leaves no root behind: on_delete runs if the root
   * was created and the VM still works, so a rejected configuration has no timers or queues left running.
   */
  startRoot(plugin: PluginSpec): RootState | null {
    const id = this.newContextId();
    const root: RootState = {
      kind: "root",
      id,
      plugin,
      tickPeriodMs: 0,
      nextTickMs: 0,
      pendingDone: false,
      deleted: false,
      streams: 0,
      retiring: false,
    };
    this.contexts.set(id, root);
    const refuse = (created: boolean): null => {
      if (created && !this.failed) this.deleteRoot(root);
      else this.contexts.delete(id);
      root.deleted = true;
      return null;
    };
    if (this.invoke("proxy_on_context_create", id, 0) === null) return refuse(false);
    if (!this.vmStarted) {
      this.vmConfiguration = plugin.vmConfiguration;
      const r = this.invoke("proxy_on_vm_start", id, plugin.vmConfiguration.length);
      if (r === null || (this.has("proxy_on_vm_start") && r === 0)) return refuse(true);
      this.vmStarted = true;
    }
    this.pluginConfigurationWindow = plugin.configuration;
    const r = this.invoke("proxy_on_configure", id, plugin.configuration.length);
    this.pluginConfigurationWindow = null;
    if (r === null || (this.has("proxy_on_configure") && r === 0)) return refuse(true);
    return root;
  }

  /** Root shutdown: on_done, then on_delete (now, or after the plugin calls proxy_done). */
  stopRoot(root: RootState): void {
    if (root.deleted) return;
    const done = this.invoke("proxy_on_done", root.id);
    if (done === 0 && this.has("proxy_on_done")) {
      root.pendingDone = true;
      return;
    }
    this.deleteRoot(root);
  }

  private deleteRoot(root: RootState): void {
    root.deleted = true;
    this.invoke("proxy_on_delete", root.id);
    this.contexts.delete(root.id);
    this.host.rootDeleted(this, root.id);
  }

  /** Fires on_tick for every root whose period elapsed by `nowMs`. */
  fireTicks(nowMs: number, force = false): void {
    for (const c of [...this.contexts.values()]) {
      if (c.kind !== "root" || c.tickPeriodMs === 0) continue;
      if (force || nowMs >= c.nextTickMs) {
        c.nextTickMs = nowMs + c.tickPeriodMs;
        this.invoke("proxy_on_tick", c.id);
      }
    }
  }

  /** Delivers an HTTP callout answer to its root context; `response` null means Envoy reset the call. */
  deliverHttpCallResponse(
    callout: HttpCallout,
    response: { headers: HeaderList; body: Uint8Array; trailers: HeaderList } | null,
  ): void {
    const view: CalloutView = response
      ? {
          headers: response.headers,
          body: response.body,
          trailers: response.trailers,
          status: { code: Status.Ok, message: "" },
        }
      : { status: { code: Status.BrokenConnection, message: "reset" } };
    this.callout = view;
    try {
      this.invoke(
        "proxy_on_http_call_response",
        callout.rootContextId,
        callout.token,
        response ? response.headers.length : 0,
        response ? response.body.length : 0,
        response ? response.trailers.length : 0,
      );
    } finally {
      this.callout = null;
    }
  }

  deliverGrpc(
    callout: GrpcCallout,
    event:
      | { type: "initial_metadata"; metadata: HeaderList }
      | { type: "message"; message: Uint8Array }
      | { type: "trailing_metadata"; metadata: HeaderList }
      | { type: "close"; status: number; message: string },
  ): void {
    const view: CalloutView = { status: { code: 0, message: "" } };
    let fn: string;
    let arg: number;
    if (event.type === "initial_metadata") {
      view.initialMetadata = event.metadata;
      fn = "proxy_on_grpc_receive_initial_metadata";
      arg = event.metadata.length;
    } else if (event.type === "message") {
      view.message = event.message;
      fn = "proxy_on_grpc_receive";
      arg = event.message.length;
    } else if (event.type === "trailing_metadata") {
      view.trailingMetadata = event.metadata;
      fn = "proxy_on_grpc_receive_trailing_metadata";
      arg = event.metadata.length;
    } else {
      view.status = { code: event.status, message: event.message };
      fn = "proxy_on_grpc_close";
      arg = event.status;
      callout.done = true;
    }
    this.callout = view;
    try {
      this.invoke(fn, callout.rootContextId, callout.token, arg);
    } finally {
      this.callout = null;
    }
  }

  /** Calls proxy_on_foreign_function with `args` readable as the CallData buffer. */
  callForeign(rootContextId: number, functionId: number, args: Uint8Array): void {
    this.callDataWindow = args;
    try {
      this.invoke("proxy_on_foreign_function", rootContextId, functionId, args.length);
    } finally {
      this.callDataWindow = null;
    }
  }

  // --- Imports --------------------------------------------------------------------------------------

  /**
   * Wraps a host function: restriction checks, tracing, BigInt-safe status return. Every i32 argument is
   * passed on as unsigned, as cpp-host reads them (u32 widened to a u64 Word); i64 arguments stay BigInt.
   */
  private fn(name: string, impl: (...args: never[]) => number | void): (...args: unknown[]) => number | void {
    return (...raw: unknown[]) => {
      if (this.phase === "initializing" && RESTRICTED_IN_INITIALIZE(name))
        throw new HostTrap(`restricted_callback: ${name} is not allowed during _initialize`);
      if (this.inAllocator && !ALLOWED_IN_ALLOCATOR.has(name))
        throw new HostTrap(`restricted_callback: ${name} is not allowed inside the allocator`);
      const args = raw.map((a) => (typeof a === "number" ? a >>> 0 : a));
      const status = (impl as (...a: unknown[]) => number | void)(...args);
      this.host.recordCall(this.index, this.effective, name, args, status);
      return status;
    };
  }

  private imports(): WebAssembly.Imports {
    const env: Record<string, (...args: unknown[]) => number | void> = {};
    const wasi: Record<string, (...args: unknown[]) => number | void> = {};
    const def = (name: string, impl: (...args: never[]) => number | void) => {
      env[name] = this.fn(name, impl);
    };
    const defWasi = (name: string, impl: (...args: never[]) => number | void) => {
      wasi[name] = this.fn(name, impl);
    };
    const host = this.host;

    // --- Logging
    def("proxy_log", (level: number, ptr: number, len: number) => {
      if (level < 0 || level > LogLevel.Critical) return Status.BadArgument;
      host.recordLog(level as LogLevel, this.str(ptr, len), this.index, this.effective);
      return Status.Ok;
    });
    def("proxy_get_log_level", (out: number) => {
      this.writeU32(out, host.logLevel);
      return Status.Ok;
    });

    // --- Clocks and timers
    def("proxy_get_current_time_nanoseconds", (out: number) => {
      this.writeU64(out, host.clock.wallNs);
      return Status.Ok;
    });
    def("proxy_set_tick_period_milliseconds", (period: number) => {
      // cpp-host: the timer always belongs to the caller's root context.
      const root = this.rootOf(this.effective);
      if (!root) return Status.BadArgument;
      root.tickPeriodMs = period;
      root.nextTickMs = host.clock.nowMs + root.tickPeriodMs;
      return Status.Ok;
    });

    // --- Context management
    def("proxy_set_effective_context", (id: number) => {
      if (!this.contexts.has(id)) return Status.BadArgument;
      this.effective = id;
      return Status.Ok;
    });
    def("proxy_done", () => {
      const root = this.rootOf(this.effective);
      if (!root || !root.pendingDone) return Status.NotFound;
      root.pendingDone = false;
      this.defer(() => this.deleteRoot(root));
      return Status.Ok;
    });

    // --- Buffers
    def(
      "proxy_get_buffer_bytes",
      (type: number, start: number, max: number, ptrOut: number, sizeOut: number) => {
        const buf = this.getBuffer(type);
        if (buf === undefined) return Status.NotFound;
        // cpp-host: the range is clamped to the buffer; nothing left to read (start at or past the end,
        // or max 0) is OK with (0, 0) written. start + max cannot overflow its 64-bit Words.
        const slice = start >= buf.length ? new Uint8Array(0) : buf.subarray(start, start + max);
        this.returnBytes(slice, ptrOut, sizeOut);
        return Status.Ok;
      },
    );
    def("proxy_set_buffer_bytes", (type: number, start: number, size: number, ptr: number, len: number) => {
      const data = this.bytes(ptr, len);
      if (type === BufferType.HttpRequestBody || type === BufferType.HttpResponseBody) {
        const s = this.streamOf(this.effective);
        if (!s) return Status.NotFound;
        return s.setBody(type === BufferType.HttpRequestBody ? "request" : "response", start, size, data);
      }
      // Configuration, call responses and gRPC messages are immutable (Envoy: BAD_ARGUMENT); TCP is not emulated.
      return this.getBuffer(type) === undefined ? Status.NotFound : Status.BadArgument;
    });
    def("proxy_get_buffer_status", (type: number, sizeOut: number, flagsOut: number) => {
      const buf = this.getBuffer(type);
      if (buf === undefined) return Status.NotFound;
      this.writeU32(sizeOut, buf.length);
      this.writeU32(flagsOut, 0); // cpp-host always writes 0
      return Status.Ok;
    });

    // --- HTTP fields
    def("proxy_get_header_map_size", (type: number, out: number) => {
      // Envoy getHeaderMapSize uses the *writable* map lookup (getMap): BAD_ARGUMENT for the callout and
      // gRPC maps (4-7), in on_log and outside the map's window. It answers HeaderMap::byteSize(): the
      // sum of the key and value lengths, not the pair count nor the serialized size.
      const s = this.streamOf(this.effective);
      const m = s && type <= MapType.HttpResponseTrailers ? s.writableMap(type as MapType) : null;
      if (!m) return Status.BadArgument;
      this.writeU32(
        out,
        m.reduce((n, [k, v]) => n + enc.encode(k).length + enc.encode(v).length, 0),
      );
      return Status.Ok;
    });
    def("proxy_get_header_map_pairs", (type: number, ptrOut: number, sizeOut: number) => {
      const m = this.readMap(type);
      // Envoy answers OK with an empty map when the map is not available; cpp-host writes an empty map
      // as (0, 0) without allocating.
      const pairs = typeof m === "string" ? [] : m;
      this.returnBytes(pairs.length === 0 ? new Uint8Array(0) : serializePairs(pairs), ptrOut, sizeOut);
      return Status.Ok;
    });
    def("proxy_set_header_map_pairs", (type: number, ptr: number, len: number) => {
      const parsed = parsePairs(this.bytes(ptr, len));
      if (parsed.error) {
        // cpp-host silently treats a malformed buffer as an empty map, wiping every header. Say it loudly.
        host.recordLog(
          LogLevel.Warn,
          `emulator: proxy_set_header_map_pairs got a malformed buffer (${parsed.error}); Envoy empties the map`,
          this.index,
          this.effective,
          true,
        );
      }
      return this.writeMap(type, (s, mapType) =>
        s.setMap(
          mapType,
          parsed.pairs.map(([k, v]) => [k.toLowerCase(), v]),
        ),
      );
    });
    def(
      "proxy_get_header_map_value",
      (type: number, kp: number, kl: number, ptrOut: number, sizeOut: number) => {
        const m = this.readMap(type);
        if (m === "unavailable") return Status.BadArgument;
        if (m === "not_found") return Status.NotFound;
        const key = this.str(kp, kl).toLowerCase();
        const found = m.find(([k]) => k === key); // Envoy: only the first of repeated values
        if (!found) return Status.NotFound;
        this.returnBytes(enc.encode(found[1]), ptrOut, sizeOut);
        return Status.Ok;
      },
    );
    def("proxy_add_header_map_value", (type: number, kp: number, kl: number, vp: number, vl: number) => {
      const key = this.str(kp, kl).toLowerCase();
      const value = this.str(vp, vl);
      return this.writeMap(type, (s, mapType) => s.mutateMap(mapType, (m) => addHeader(m, key, value)));
    });
    def("proxy_replace_header_map_value", (type: number, kp: number, kl: number, vp: number, vl: number) => {
      const key = this.str(kp, kl).toLowerCase();
      const value = this.str(vp, vl);
      // Envoy setCopy (1.39): remove(key) then addCopy(key, value): every occurrence goes and the header
      // is added again at the end (a pseudo-header at the end of the pseudo-headers).
      return this.writeMap(type, (s, mapType) =>
        s.mutateMap(mapType, (m) => {
          for (let j = m.length - 1; j >= 0; j--) if (m[j][0] === key) m.splice(j, 1);
          addHeader(m, key, value);
        }),
      );
    });
    def("proxy_remove_header_map_value", (type: number, kp: number, kl: number) => {
      const key = this.str(kp, kl).toLowerCase();
      return this.writeMap(type, (s, mapType) =>
        s.mutateMap(mapType, (m) => {
          for (let j = m.length - 1; j >= 0; j--) if (m[j][0] === key) m.splice(j, 1);
        }),
      );
    });

    // --- HTTP streams
    def("proxy_continue_stream", (type: number) => {
      // Envoy Context::continueStream: DOWNSTREAM is OK (a no-op without a TCP stream), UPSTREAM is
      // UNIMPLEMENTED. For HTTP_REQUEST *and* HTTP_RESPONSE it drops its request header, body and trailer
      // pointers at once, so the request maps are closed for the rest of this callback; only
      // continueDecoding/continueEncoding wait until the callback returns. Without a stream (a root
      // context) there is nothing to continue, and the answer is still OK.
      if (type === StreamType.Downstream) return Status.Ok;
      if (type === StreamType.Upstream) return Status.Unimplemented;
      if (type !== StreamType.HttpRequest && type !== StreamType.HttpResponse) return Status.BadArgument;
      const s = this.streamOf(this.effective);
      if (!s) return Status.Ok;
      s.closeRequestWindows();
      this.defer(() => s.resume(type === StreamType.HttpRequest ? "request" : "response"));
      return Status.Ok;
    });
    def("proxy_close_stream", (type: number) => {
      // Envoy Context::closeStream: OK for every known type; only an HTTP stream is reset.
      if (type > StreamType.Upstream) return Status.BadArgument;
      const s = this.streamOf(this.effective);
      if (s && (type === StreamType.HttpRequest || type === StreamType.HttpResponse))
        this.defer(() => s.reset("wasm_close_stream"));
      return Status.Ok;
    });
    def(
      "proxy_send_local_response",
      (
        status: number,
        dp: number,
        dl: number,
        bp: number,
        bl: number,
        hp: number,
        hl: number,
        grpc: number,
      ) => {
        const s = this.streamOf(this.effective);
        if (!s) return Status.NotFound;
        const headers = parsePairs(this.bytes(hp, hl)).pairs.map(
          ([k, v]) => [k.toLowerCase(), v] as [string, string],
        );
        const details = this.str(dp, dl).replace(/\s/g, "_"); // Envoy replaceAllEmptySpace
        const body = this.bytes(bp, bl);
        const grpcStatus = grpc | 0;
        s.markLocalReplyRequested();
        this.defer(() =>
          s.localReply({
            status: status >>> 0,
            details,
            body,
            headers,
            grpcStatus: grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus : null,
          }),
        );
        return Status.Ok;
      },
    );
    def("proxy_get_status", (codeOut: number, ptrOut: number, sizeOut: number) => {
      if (!this.callout) return Status.NotFound;
      this.writeU32(codeOut, this.callout.status.code);
      this.returnBytes(enc.encode(this.callout.status.message), ptrOut, sizeOut);
      return Status.Ok;
    });

    // --- HTTP and gRPC calls
    def(
      "proxy_http_call",
      (
        up: number,
        ul: number,
        hp: number,
        hl: number,
        bp: number,
        bl: number,
        tp: number,
        tl: number,
        timeout: number,
        tokenOut: number,
      ) => {
        const cluster = this.str(up, ul);
        const headers = parsePairs(this.bytes(hp, hl)).pairs;
        const body = this.bytes(bp, bl);
        const trailers = parsePairs(this.bytes(tp, tl)).pairs;
        if (!host.knowsCluster(cluster)) return Status.BadArgument;
        for (const required of [":method", ":path", ":authority"]) {
          if (!headers.some(([k]) => k === required)) return Status.BadArgument;
        }
        const root = this.rootOf(this.effective);
        if (!root) return Status.BadArgument;
        // Envoy: tokens per VM, ≡ 0 mod 4, starting at 4; the call belongs to the root context.
        this.nextHttpToken += 4;
        const token = this.nextHttpToken;
        const timeoutMs = timeout;
        host.addHttpCallout({
          token,
          vm: this.index,
          owner: this,
          rootContextId: root.id,
          cluster,
          headers,
          body,
          trailers,
          timeoutMs,
          deadlineMs: timeoutMs === 0 ? Infinity : host.clock.nowMs + timeoutMs,
          done: false,
          cancelled: false,
        });
        this.writeU32(tokenOut, token);
        return Status.Ok;
      },
    );
    def(
      "proxy_grpc_call",
      (
        up: number,
        ul: number,
        sp: number,
        sl: number,
        mp: number,
        ml: number,
        mdp: number,
        mdl: number,
        msgp: number,
        msgl: number,
        timeout: number,
        tokenOut: number,
      ) => {
        const upstream = this.str(up, ul);
        if (!host.knowsCluster(upstream)) return Status.ParseFailure;
        const root = this.rootOf(this.effective);
        if (!root) return Status.BadArgument;
        const token = this.nextGrpcCallToken;
        this.nextGrpcCallToken += 4; // ≡ 1 mod 4
        host.addGrpcCallout({
          token,
          vm: this.index,
          owner: this,
          rootContextId: root.id,
          kind: "call",
          upstream,
          service: this.str(sp, sl),
          method: this.str(mp, ml),
          initialMetadata: parsePairs(this.bytes(mdp, mdl)).pairs,
          messages: [this.bytes(msgp, msgl)],
          timeoutMs: timeout,
          closedByPlugin: false,
          cancelled: false,
          done: false,
        });
        this.writeU32(tokenOut, token);
        return Status.Ok;
      },
    );
    def(
      "proxy_grpc_stream",
      (
        up: number,
        ul: number,
        sp: number,
        sl: number,
        mp: number,
        ml: number,
        mdp: number,
        mdl: number,
        tokenOut: number,
      ) => {
        const upstream = this.str(up, ul);
        if (!host.knowsCluster(upstream)) return Status.ParseFailure;
        const root = this.rootOf(this.effective);
        if (!root) return Status.BadArgument;
        const token = this.nextGrpcStreamToken;
        this.nextGrpcStreamToken += 4; // ≡ 2 mod 4
        host.addGrpcCallout({
          token,
          vm: this.index,
          owner: this,
          rootContextId: root.id,
          kind: "stream",
          upstream,
          service: this.str(sp, sl),
          method: this.str(mp, ml),
          initialMetadata: parsePairs(this.bytes(mdp, mdl)).pairs,
          messages: [],
          timeoutMs: 0,
          closedByPlugin: false,
          cancelled: false,
          done: false,
        });
        this.writeU32(tokenOut, token);
        return Status.Ok;
      },
    );
    def("proxy_grpc_send", (token: number, mp: number, ml: number, endStream: number) => {
      const c = host.grpcCallout(this, token);
      if (!c || c.kind !== "stream" || c.done || c.cancelled) return Status.BadArgument;
      c.messages.push(this.bytes(mp, ml));
      if (endStream) c.closedByPlugin = true;
      return Status.Ok;
    });
    def("proxy_grpc_cancel", (token: number) => {
      const c = host.grpcCallout(this, token);
      if (!c || c.done) return Status.BadArgument;
      c.cancelled = true;
      c.done = true;
      return Status.Ok;
    });
    def("proxy_grpc_close", (token: number) => {
      const c = host.grpcCallout(this, token);
      if (!c || c.done) return Status.BadArgument;
      c.closedByPlugin = true;
      return Status.Ok;
    });

    // --- Shared data
    def("proxy_get_shared_data", (kp: number, kl: number, vpOut: number, vsOut: number, casOut: number) => {
      const e = host.sharedData.get(this.vmId, this.str(kp, kl));
      if (!e) return Status.NotFound;
      this.returnBytes(e.value, vpOut, vsOut);
      this.writeU32(casOut, e.cas);
      return Status.Ok;
    });
    def("proxy_set_shared_data", (kp: number, kl: number, vp: number, vl: number, cas: number) => {
      return host.sharedData.set(this.vmId, this.str(kp, kl), this.bytes(vp, vl), cas);
    });

    // --- Shared queues
    def("proxy_register_shared_queue", (np: number, nl: number, idOut: number) => {
      const root = this.rootOf(this.effective);
      if (!root) return Status.BadArgument;
      this.writeU32(
        idOut,
        host.queues.register(this.vmId, this.str(np, nl), { vmIndex: this.index, rootContextId: root.id }),
      );
      return Status.Ok;
    });
    def("proxy_resolve_shared_queue", (vp: number, vl: number, np: number, nl: number, idOut: number) => {
      const vmId = vl === 0 ? this.vmId : this.str(vp, vl);
      const token = host.queues.resolve(vmId, this.str(np, nl));
      if (token === undefined) return Status.NotFound;
      this.writeU32(idOut, token);
      return Status.Ok;
    });
    def("proxy_enqueue_shared_queue", (id: number, vp: number, vl: number) => {
      const q = host.queues.get(id);
      if (!q) return Status.NotFound;
      q.items.push(this.bytes(vp, vl));
      host.notifyQueue(q); // delivered asynchronously to the registrant, as Envoy posts to its thread
      return Status.Ok;
    });
    def("proxy_dequeue_shared_queue", (id: number, ptrOut: number, sizeOut: number) => {
      const q = host.queues.get(id);
      if (!q) return Status.NotFound;
      const item = q.items.shift();
      if (!item) return Status.Empty;
      this.returnBytes(item, ptrOut, sizeOut);
      return Status.Ok;
    });

    // --- Metrics
    def("proxy_define_metric", (type: number, np: number, nl: number, idOut: number) => {
      if (type > MetricType.Histogram) return Status.BadArgument;
      // Envoy: a counter, a gauge and a histogram of the same name are separate stats (no type clash).
      const stat = host.stats.define(this.str(np, nl), type as MetricType);
      // Envoy: ids encode the type in the low two bits (counter 4, 8, ...; gauge 5, 9, ...; histogram 6, 10, ...).
      const id = (++this.nextMetricIndex[type] << 2) | type;
      this.metricIds.set(id, stat);
      this.writeU32(idOut, id);
      return Status.Ok;
    });
    def("proxy_increment_metric", (id: number, delta: bigint) => {
      const stat = this.stat(id);
      if (!stat) return Status.NotFound;
      if (stat.type === MetricType.Counter) {
        if (delta <= 0n) return Status.BadArgument;
        stat.value += delta;
      } else if (stat.type === MetricType.Gauge) {
        stat.value += delta;
      } else return Status.BadArgument;
      return Status.Ok;
    });
    def("proxy_record_metric", (id: number, value: bigint) => {
      const stat = this.stat(id);
      if (!stat) return Status.NotFound;
      const v = BigInt.asUintN(64, value);
      if (stat.type === MetricType.Counter)
        stat.value += v; // Envoy adds on counters
      else if (stat.type === MetricType.Gauge) stat.value = v;
      else stat.samples.push(v);
      return Status.Ok;
    });
    def("proxy_get_metric", (id: number, out: number) => {
      const stat = this.stat(id);
      if (!stat) return Status.NotFound;
      if (stat.type === MetricType.Histogram) return Status.BadArgument;
      this.writeU64(out, stat.value);
      return Status.Ok;
    });

    // --- Properties
    def("proxy_get_property", (pp: number, pl: number, ptrOut: number, sizeOut: number) => {
      const path = parsePath(this.bytes(pp, pl));
      const value = host.getProperty(this, this.effective, path);
      if (value === undefined) return Status.NotFound;
      const bytes = encodeProperty(value);
      if (bytes === null) return Status.SerializationFailure;
      this.returnBytes(bytes, ptrOut, sizeOut);
      return Status.Ok;
    });
    def("proxy_set_property", (pp: number, pl: number, vp: number, vl: number) => {
      const s = this.streamOf(this.effective);
      if (!s) return Status.NotFound; // Envoy: needs a stream (filter state)
      s.setProperty(parsePath(this.bytes(pp, pl)), this.bytes(vp, vl));
      return Status.Ok;
    });

    // --- Foreign functions
    def(
      "proxy_call_foreign_function",
      (np: number, nl: number, ap: number, al: number, ptrOut: number, sizeOut: number) => {
        const name = this.str(np, nl);
        const args = this.bytes(ap, al);
        if (name === "clear_route_cache") {
          const s = this.streamOf(this.effective);
          if (s) s.clearRouteCache("foreign_function");
          this.returnBytes(new Uint8Array(0), ptrOut, sizeOut);
          return Status.Ok;
        }
        const f = host.foreignFunction(name);
        if (!f) return Status.NotFound;
        const result = f(args);
        if (result === null) return Status.InternalFailure;
        this.returnBytes(result, ptrOut, sizeOut);
        return Status.Ok;
      },
    );

    // --- Envoy-only imports and emscripten fillers (registered by Envoy / cpp-host for every module)
    def("envoy_resolve_dns", () => {
      host.recordLog(
        LogLevel.Warn,
        "emulator: envoy_resolve_dns is not emulated (answered UNIMPLEMENTED; Envoy would resolve)",
        this.index,
        this.effective,
        true,
      );
      return Status.Unimplemented;
    });
    def("pthread_equal", (a: number, b: number) => (a === b ? 1 : 0));
    def("emscripten_notify_memory_growth", () => undefined);

    // --- WASI (cpp-host registers each under wasi_snapshot_preview1 and wasi_unstable)
    defWasi("fd_write", (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
      if (fd !== 1 && fd !== 2) return WASI_ERRNO.BADF;
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const iov = new DataView(this.bytes(iovs + i * 8, 8).buffer);
        const p = iov.getUint32(0, true);
        const l = iov.getUint32(4, true);
        parts.push(this.bytes(p, l));
        total += l;
      }
      const text = dec.decode(Buffer.concat(parts)).replace(/\n$/, "");
      host.recordLog(fd === 1 ? LogLevel.Info : LogLevel.Error, text, this.index, this.effective);
      this.writeU32(nwritten, total);
      return WASI_ERRNO.SUCCESS;
    });
    defWasi("clock_time_get", (id: number, _precision: bigint, out: number) => {
      if (id === 0) this.writeU64(out, host.clock.wallNs);
      else if (id === 1) this.writeU64(out, host.clock.monotonicNs);
      else return WASI_ERRNO.NOTSUP;
      return WASI_ERRNO.SUCCESS;
    });
    defWasi("random_get", (ptr: number, len: number) => {
      if (len > 65536) return WASI_ERRNO.INVAL; // cpp-host: at most 64 KiB per call
      this.writeBytes(ptr, host.random(len));
      return WASI_ERRNO.SUCCESS;
    });
    const envEntries = () => Object.entries(host.env).map(([k, v]) => enc.encode(`${k}=${v}\0`));
    defWasi("environ_sizes_get", (countOut: number, sizeOut: number) => {
      const entries = envEntries();
      this.writeU32(countOut, entries.length);
      this.writeU32(
        sizeOut,
        entries.reduce((n, e) => n + e.length, 0),
      );
      return WASI_ERRNO.SUCCESS;
    });
    defWasi("environ_get", (ptrs: number, buf: number) => {
      let off = buf;
      envEntries().forEach((e, i) => {
        this.writeU32(ptrs + i * 4, off);
        this.writeBytes(off, e);
        off += e.length;
      });
      return WASI_ERRNO.SUCCESS;
    });
    defWasi("args_sizes_get", (countOut: number, sizeOut: number) => {
      this.writeU32(countOut, 0);
      this.writeU32(sizeOut, 0);
      return WASI_ERRNO.SUCCESS;
    });
    defWasi("args_get", () => WASI_ERRNO.SUCCESS);
    defWasi("proc_exit", (code: number) => {
      // cpp-host logs and returns; it does not trap.
      host.recordLog(
        LogLevel.Error,
        `proc_exit(${code}) called; ignored as Envoy does`,
        this.index,
        this.effective,
        true,
      );
    });
    for (const stub of [
      "fd_read",
      "fd_seek",
      "fd_close",
      "fd_fdstat_get",
      "fd_prestat_get",
      "fd_prestat_dir_name",
      "path_open",
      "poll_oneoff",
      "sched_yield",
    ]) {
      defWasi(stub, () => WASI_ERRNO.NOSYS);
    }
    return { env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi };
  }

  private stat(id: number): Stat | undefined {
    return this.metricIds.get(id);
  }

  /** The buffer of `type` visible to the running callback, or undefined when Envoy has none (NOT_FOUND). */
  private getBuffer(type: number): Uint8Array | undefined {
    switch (type) {
      // Envoy always has a body buffer object for a stream: outside the body callbacks it is empty (size 0).
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody: {
        const s = this.streamOf(this.effective);
        if (!s) return undefined;
        return (
          s.readableBody(type === BufferType.HttpRequestBody ? "request" : "response") ?? new Uint8Array(0)
        );
      }
      case BufferType.HttpCallResponseBody:
        return this.callout?.body ?? undefined;
      case BufferType.GrpcReceiveBuffer:
        return this.callout?.message ?? undefined;
      case BufferType.VmConfiguration:
        return this.vmConfiguration ?? undefined; // Envoy: wasm()->vm_configuration(), in any callback
      case BufferType.PluginConfiguration:
        return this.pluginConfigurationWindow ?? undefined;
      case BufferType.CallData:
        return this.callDataWindow ?? undefined;
      default:
        return undefined;
    }
  }

  /** A map for reading: the pairs, "unavailable" (Envoy BAD_ARGUMENT) or "not_found" (access-log phase). */
  private readMap(type: number): HeaderList | "unavailable" | "not_found" {
    switch (type) {
      case MapType.HttpCallResponseHeaders:
        return this.callout?.headers ?? "unavailable";
      case MapType.HttpCallResponseTrailers:
        return this.callout?.trailers ?? "unavailable";
      case MapType.GrpcReceiveInitialMetadata:
        return this.callout?.initialMetadata ?? "unavailable";
      case MapType.GrpcReceiveTrailingMetadata:
        return this.callout?.trailingMetadata ?? "unavailable";
    }
    const s = this.streamOf(this.effective);
    if (!s || type > MapType.HttpResponseTrailers) return "unavailable";
    return s.readMap(type as MapType);
  }

  private writeMap(type: number, apply: (s: HttpStream, mapType: MapType) => Status): Status {
    const s = this.streamOf(this.effective);
    if (!s || type > MapType.HttpResponseTrailers) return Status.BadArgument;
    return apply(s, type as MapType);
  }
}
