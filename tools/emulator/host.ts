// The emulated Envoy process: one or more worker VMs of the same module (one vm_id), shared data, queues,
// stats, a fake clock, callouts, logs and a trace of every host call. The test-side API lives here.

import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { FailurePolicy, LOG_LEVEL_NAMES, LogLevel, LogLevelName, MetricType } from "./abi";
import { HttpStream } from "./http-stream";
import { checkModule, readModuleInfo } from "./module-info";
import { PropertyValue, pathKey } from "./properties";
import type { HeaderList } from "./serde";
import { FakeClock, QueueStore, SharedDataStore, SharedQueue, Stat, StatsStore } from "./state";
import { GrpcCallout, HttpCallout, PluginSpec, RootState, Vm } from "./vm";

export interface HostOptions {
  /** Path to the compiled `.wasm`, or its bytes. */
  wasm: string | Uint8Array;
  /** PluginConfig `name` (property `plugin_name`). Default "test". */
  pluginName?: string;
  /** PluginConfig `root_id` (Istio `pluginName`). Default "". */
  rootId?: string;
  /** `vm_config.vm_id`: VMs with the same id share data and queues. Default "". */
  vmId?: string;
  /** Plugin configuration: a string is passed as is, anything else as JSON. */
  pluginConfig?: unknown;
  /** `vm_config.configuration`. */
  vmConfig?: string;
  /** Number of worker VMs (Envoy `--concurrency`). Default 1. */
  workers?: number;
  /** Default FAIL_CLOSED. */
  failurePolicy?: FailurePolicy;
  /** The level `proxy_get_log_level` reports; lines below it are dropped, as Envoy does. Default "trace". */
  logLevel?: LogLevelName;
  /** Environment visible through WASI (`vm_config.environment_variables`). */
  env?: Record<string, string>;
  /** Process-wide properties, keyed by dotted path ("xds.route_name") or given as [path, value] pairs. */
  properties?: Record<string, PropertyValue> | Array<[string[], PropertyValue]>;
  /** Cluster names `proxy_http_call`/`proxy_grpc_*` accept; others get BAD_ARGUMENT. Default: any. */
  clusters?: string[];
  /** Start of the fake clock (wall ms since epoch). */
  startTimeMs?: number;
  /** PluginConfig `allow_on_headers_stop_iteration`. */
  allowOnHeadersStopIteration?: boolean;
  /** Downstream peer for `source.address`. Default "127.0.0.1:50000". */
  sourceAddress?: string;
  /** Per-connection buffer limit (Envoy default 1 MiB). */
  bufferLimitBytes?: number;
  /** Record every host call in `host.calls` (default true; turn off for long loops). */
  trace?: boolean;
  /** Host foreign functions besides the built-in `clear_route_cache`. */
  foreignFunctions?: Record<string, (args: Uint8Array) => Uint8Array | null>;
  /** Deterministic randomness for WASI random_get (default: crypto). */
  random?: (n: number) => Uint8Array;
}

export interface LogEntry {
  level: LogLevelName;
  message: string;
  vm: number;
  contextId: number;
  /** True for lines the emulator itself wrote (traps, warnings about host quirks). */
  fromHost: boolean;
}

export interface HostCall {
  vm: number;
  contextId: number;
  name: string;
  args: unknown[];
  result: number | void;
}

/** The request side of `exchange`. */
export interface RequestSpec {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  /** Extra headers (names are lower-cased as Envoy does). */
  headers?: HeaderList | Record<string, string>;
  body?: string | Uint8Array;
  trailers?: HeaderList;
  /** Worker VM to run on. Default: round robin. */
  worker?: number;
  /** Properties only this stream sees. */
  properties?: Record<string, PropertyValue>;
}

/** The upstream's answer in `exchange`. */
export interface ResponseSpec {
  status?: number;
  headers?: HeaderList | Record<string, string>;
  body?: string | Uint8Array;
  trailers?: HeaderList;
}

/** Thrown by `stream()`/`exchange()` when the plugin refused to start: Envoy would have refused the config. */
export class ConfigRejected extends Error {}

const toList = (h: HeaderList | Record<string, string> | undefined): HeaderList =>
  !h ? [] : Array.isArray(h) ? h : Object.entries(h).map(([k, v]) => [k, v] as [string, string]);

const dotted = (key: string): string[] => key.split(".");

export class Host {
  readonly clock: FakeClock;
  readonly sharedData = new SharedDataStore();
  readonly queues = new QueueStore();
  readonly stats = new StatsStore();
  readonly vms: Vm[] = [];
  readonly logEntries: LogEntry[] = [];
  readonly calls: HostCall[] = [];
  readonly httpCallouts: HttpCallout[] = [];
  readonly grpcCallouts: GrpcCallout[] = [];
  readonly failurePolicy: FailurePolicy;
  readonly logLevel: LogLevel;
  readonly env: Record<string, string>;
  readonly allowOnHeadersStopIteration: boolean;
  readonly bufferLimitBytes: number;
  readonly sourceAddress: string;
  private readonly module: WebAssembly.Module;
  private readonly properties = new Map<string, PropertyValue>();
  private readonly clusters: Set<string> | null;
  private readonly foreign: Record<string, (args: Uint8Array) => Uint8Array | null>;
  private readonly traceCalls: boolean;
  private readonly randomSource: (n: number) => Uint8Array;
  private plugin: PluginSpec;
  /** Root context id of the current plugin config in each VM (index = VM index). */
  private roots: Array<RootState | null> = [];
  private readonly pendingQueueNotifications: SharedQueue[] = [];
  private nextWorker = 0;
  /** False when the plugin refused its configuration (or trapped) at start. */
  started = false;

  private constructor(
    module: WebAssembly.Module,
    readonly options: HostOptions,
  ) {
    this.module = module;
    this.clock = new FakeClock(options.startTimeMs);
    this.failurePolicy = options.failurePolicy ?? "FAIL_CLOSED";
    this.logLevel = LOG_LEVEL_NAMES.indexOf(options.logLevel ?? "trace") as LogLevel;
    this.env = options.env ?? {};
    this.allowOnHeadersStopIteration = options.allowOnHeadersStopIteration ?? false;
    this.bufferLimitBytes = options.bufferLimitBytes ?? 1 << 20;
    this.sourceAddress = options.sourceAddress ?? "127.0.0.1:50000";
    this.clusters = options.clusters ? new Set(options.clusters) : null;
    this.foreign = options.foreignFunctions ?? {};
    this.traceCalls = options.trace ?? true;
    this.randomSource = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    const props = options.properties ?? {};
    const entries: Array<[string[], PropertyValue]> = Array.isArray(props)
      ? props
      : Object.entries(props).map(([k, v]) => [dotted(k), v]);
    for (const [path, value] of entries) this.properties.set(pathKey(path), value);
    this.plugin = this.pluginSpec(options.pluginConfig);
  }

  /**
   * Loads the module, refusing it as Envoy would if it imports anything Envoy does not provide, and
   * starts every worker VM: `_initialize`, `proxy_on_context_create(root, 0)`, `proxy_on_vm_start`,
   * `proxy_on_configure`. When the plugin rejects its configuration `host.started` is false and the logs
   * say why (Envoy would refuse the config).
   */
  static async start(options: HostOptions): Promise<Host> {
    const bytes = typeof options.wasm === "string" ? readFileSync(options.wasm) : options.wasm;
    const problems = checkModule(readModuleInfo(bytes));
    if (problems.length > 0) throw new Error(`Envoy would refuse this module:\n  ${problems.join("\n  ")}`);
    const module = await WebAssembly.compile(new Uint8Array(bytes));
    const host = new Host(module, options);
    host.started = host.boot();
    return host;
  }

  private pluginSpec(config: unknown): PluginSpec {
    const text = config === undefined ? "" : typeof config === "string" ? config : JSON.stringify(config);
    return {
      name: this.options.pluginName ?? "test",
      rootId: this.options.rootId ?? "",
      vmId: this.options.vmId ?? "",
      configuration: new TextEncoder().encode(text),
      vmConfiguration: new TextEncoder().encode(this.options.vmConfig ?? ""),
    };
  }

  private boot(): boolean {
    const workers = this.options.workers ?? 1;
    let ok = true;
    for (let i = 0; i < workers; i++) {
      const vm = this.newVm(i);
      this.vms.push(vm);
      const root = vm.initialize() ? vm.startRoot(this.plugin) : null;
      this.roots.push(root);
      if (!root) ok = false;
    }
    this.deliverQueueNotifications();
    return ok;
  }

  private newVm(index: number): Vm {
    return new Vm(this, this.module, index, this.plugin.vmId);
  }

  /**
   * Applies a new plugin configuration as Envoy does on an update: each VM gets a new root context
   * (`on_context_create`, `on_configure`; no `on_vm_start`) and new streams use it. Streams already running
   * keep the old root (Envoy: they hold its PluginHandle), which gets `on_done`/`on_delete` once the last of
   * them ends. Returns false (keeping the old config) when the plugin rejects it; the rejected roots are
   * deleted.
   */
  reconfigure(pluginConfig: unknown): boolean {
    const next = this.pluginSpec(pluginConfig);
    const newRoots: Array<RootState | null> = this.vms.map((vm) => vm.startRoot(next));
    if (newRoots.some((r) => r === null)) {
      this.vms.forEach((vm, i) => {
        const r = newRoots[i];
        if (r) vm.stopRoot(r);
      });
      return false;
    }
    const old = this.roots;
    this.roots = newRoots;
    this.plugin = next;
    this.vms.forEach((vm, i) => {
      const r = old[i];
      if (r) this.retireRoot(vm, r);
    });
    return true;
  }

  private retireRoot(vm: Vm, root: RootState): void {
    if (root.streams > 0) root.retiring = true;
    else vm.stopRoot(root);
  }

  /** Shuts the plugin down: `on_done` then `on_delete` for each root (deferred if it returns false). */
  shutdown(): void {
    this.vms.forEach((vm, i) => {
      const r = this.roots[i];
      if (r) vm.stopRoot(r);
    });
  }

  // --- Streams ------------------------------------------------------------------------------------

  /**
   * A new HTTP stream on worker `worker` (round robin by default). A failed VM answers new streams per
   * the failure policy: FAIL_CLOSED 503 `wasm_fail_stream`, FAIL_OPEN bypass, FAIL_RELOAD a fresh VM.
   */
  stream(worker?: number): HttpStream {
    if (!this.started)
      throw new ConfigRejected(
        "the plugin refused to start (see host.logs()); Envoy would have refused this configuration, so no stream can run",
      );
    const index = worker ?? this.nextWorker++ % this.vms.length;
    let vm = this.vms[index];
    if (vm.failed && this.failurePolicy === "FAIL_RELOAD") {
      const fresh = this.newVm(index);
      const root = fresh.initialize() ? fresh.startRoot(this.plugin) : null;
      if (root) {
        this.vms[index] = fresh;
        this.roots[index] = root;
        vm = fresh;
        this.recordLog(
          LogLevel.Info,
          `emulator: VM ${index} reloaded after a runtime error (FAIL_RELOAD)`,
          index,
          0,
          true,
        );
      }
    }
    const root = vm.failed ? null : this.roots[index];
    if (root) root.streams++;
    return new HttpStream(this, vm, root);
  }

  /**
   * Runs a whole exchange: request headers (`:method`, `:path`, `:authority`, `:scheme` from `req`),
   * body and trailers; then, if the request reached the upstream complete, the upstream's response; then
   * `complete()` (on_log, on_done, on_delete) unless the request is still paused at the filter.
   */
  exchange(req: RequestSpec = {}, res: ResponseSpec = {}): HttpStream {
    const s = this.stream(req.worker);
    for (const [k, v] of Object.entries(req.properties ?? {})) s.setTestProperty(dotted(k), v);
    const headers: HeaderList = [
      [":method", req.method ?? "GET"],
      [":scheme", req.scheme ?? "http"],
      [":authority", req.authority ?? "example.com"],
      [":path", req.path ?? "/"],
      ...toList(req.headers),
    ];
    const body = typeof req.body === "string" ? new TextEncoder().encode(req.body) : req.body;
    s.sendRequestHeaders(headers, !body && !req.trailers);
    if (body) s.sendRequestBody(body, !req.trailers);
    if (req.trailers) s.sendRequestTrailers(req.trailers);
    if (s.requestPaused) return s;
    if (s.upstream.headers && s.upstream.complete && s.downstream.headers === null) this.respond(s, res);
    s.complete();
    return s;
  }

  /** Sends the upstream response `res` on stream `s`. */
  respond(s: HttpStream, res: ResponseSpec = {}): void {
    const body = typeof res.body === "string" ? new TextEncoder().encode(res.body) : res.body;
    const headers: HeaderList = [[":status", String(res.status ?? 200)], ...toList(res.headers)];
    if (body) headers.push(["content-length", String(body.length)]);
    s.sendResponseHeaders(headers, !body && !res.trailers);
    if (body) s.sendResponseBody(body, !res.trailers);
    if (res.trailers) s.sendResponseTrailers(res.trailers);
  }

  /** @internal A stream ended: a root replaced by a configuration update stops after its last stream. */
  streamEnded(s: HttpStream): void {
    const root = s.root;
    if (!root) return;
    root.streams--;
    if (root.retiring && root.streams === 0) s.vm.stopRoot(root);
  }

  // --- Time ----------------------------------------------------------------------------------------

  /**
   * Advances the fake clock by `ms`, in steps, firing ticks when their period elapses and timing out
   * HTTP callouts: a timeout is delivered as a 504 `upstream request timeout` response, as Envoy 1.39's
   * async client does (measured by the accesslog e2e work).
   */
  advance(ms: number): void {
    const end = this.clock.nowMs + ms;
    for (;;) {
      const next = Math.min(end, this.nextEventMs());
      this.clock.advanceNs(BigInt(Math.max(0, next - this.clock.nowMs)) * 1_000_000n);
      this.fireDue();
      if (next >= end) break;
    }
  }

  private nextEventMs(): number {
    let next = Infinity;
    for (const vm of this.vms)
      for (const c of vm.contexts.values())
        if (c.kind === "root" && c.tickPeriodMs > 0) next = Math.min(next, c.nextTickMs);
    for (const c of this.httpCallouts) if (!c.done) next = Math.min(next, c.deadlineMs);
    return next;
  }

  private fireDue(): void {
    const now = this.clock.nowMs;
    for (const c of this.httpCallouts) {
      if (!c.done && c.deadlineMs <= now) {
        const body = "upstream request timeout";
        this.answerHttpCall(c, {
          status: 504,
          headers: [
            ["content-length", String(body.length)],
            ["content-type", "text/plain"],
          ],
          body,
        });
      }
    }
    for (const vm of this.vms) vm.fireTicks(now);
    this.deliverQueueNotifications();
  }

  /** Fires `on_tick` now on every root with a tick period (all workers, or one). */
  tick(worker?: number): void {
    const vms = worker === undefined ? this.vms : [this.vms[worker]];
    for (const vm of vms) vm.fireTicks(this.clock.nowMs, true);
    this.deliverQueueNotifications();
  }

  // --- Callouts -----------------------------------------------------------------------------------

  /** @internal */
  knowsCluster(name: string): boolean {
    return this.clusters === null || this.clusters.has(name);
  }

  /** @internal */
  addHttpCallout(c: HttpCallout): void {
    this.httpCallouts.push(c);
  }

  /** @internal */
  addGrpcCallout(c: GrpcCallout): void {
    this.grpcCallouts.push(c);
  }

  /** @internal */
  grpcCallout(vm: Vm, token: number): GrpcCallout | undefined {
    return this.grpcCallouts.find((c) => c.owner === vm && c.token === token);
  }

  /** @internal Envoy cancels a root context's outstanding callouts when the root is destroyed. */
  rootDeleted(vm: Vm, rootContextId: number): void {
    for (const c of [...this.httpCallouts, ...this.grpcCallouts]) {
      if (c.owner === vm && c.rootContextId === rootContextId && !c.done) {
        c.cancelled = true;
        c.done = true;
      }
    }
  }

  /** True when events for a callout of `vm` on `worker` reach a live VM (Envoy drops them otherwise). */
  private vmAlive(vm: Vm, worker: number): boolean {
    return !vm.failed && this.vms[worker] === vm;
  }

  /** HTTP callouts not answered yet. */
  pendingHttpCalls(): HttpCallout[] {
    return this.httpCallouts.filter((c) => !c.done);
  }

  /**
   * Answers an HTTP callout (`proxy_on_http_call_response` on the root that made it). A token number must
   * name one pending callout: tokens are per VM, so with several workers (or after a FAIL_RELOAD) pass the
   * callout object, or `worker` to pick the callout of the VM now running on that worker.
   */
  respondHttpCall(callout: HttpCallout | number, res: ResponseSpec = {}, worker?: number): void {
    this.answerHttpCall(this.findCallout(callout, worker), res);
    this.deliverQueueNotifications();
  }

  /** Fails an HTTP callout as Envoy does on a reset: (0, 0, 0) and `proxy_get_status` = (11, "reset"). */
  failHttpCall(callout: HttpCallout | number, worker?: number): void {
    this.answerHttpCall(this.findCallout(callout, worker), null);
    this.deliverQueueNotifications();
  }

  /** Delivers an answer (`null`: a reset) to the VM that made the call, unless that VM failed or was replaced. */
  private answerHttpCall(c: HttpCallout, res: ResponseSpec | null): void {
    c.done = true;
    if (!this.vmAlive(c.owner, c.vm)) {
      this.recordLog(
        LogLevel.Debug,
        `emulator: dropping the answer to HTTP callout ${c.token}: VM ${c.vm} that made it has failed (Envoy drops it)`,
        c.vm,
        c.rootContextId,
        true,
      );
      return;
    }
    const body = typeof res?.body === "string" ? new TextEncoder().encode(res.body) : res?.body;
    c.owner.deliverHttpCallResponse(
      c,
      res && {
        headers: [[":status", String(res.status ?? 200)], ...toList(res.headers)],
        body: body ?? new Uint8Array(0),
        trailers: res.trailers ?? [],
      },
    );
  }

  private findCallout(callout: HttpCallout | number, worker?: number): HttpCallout {
    if (typeof callout !== "number") {
      if (callout.done) throw new Error(`HTTP callout ${callout.token} is not pending`);
      return callout;
    }
    const matches = this.httpCallouts.filter(
      (c) => !c.done && c.token === callout && (worker === undefined || c.owner === this.vms[worker]),
    );
    if (matches.length === 0)
      throw new Error(
        `no pending HTTP callout ${callout}${worker === undefined ? "" : ` on worker ${worker}`}`,
      );
    if (matches.length > 1)
      throw new Error(
        `HTTP callout token ${callout} is ambiguous: ${matches.length} pending callouts use it (tokens are per VM); pass the callout object or a worker`,
      );
    return matches[0];
  }

  /** Delivers gRPC events for `callout` in order; a `close` ends it. */
  respondGrpc(
    callout: GrpcCallout,
    events: Array<
      | { type: "initial_metadata"; metadata: HeaderList }
      | { type: "message"; message: Uint8Array }
      | { type: "trailing_metadata"; metadata: HeaderList }
      | { type: "close"; status: number; message: string }
    >,
  ): void {
    for (const e of events) {
      if (callout.cancelled) break;
      if (!this.vmAlive(callout.owner, callout.vm)) {
        callout.done = true; // Envoy drops the events of a failed VM
        break;
      }
      callout.owner.deliverGrpc(callout, e);
    }
    this.deliverQueueNotifications();
  }

  // --- Queues -------------------------------------------------------------------------------------

  /**
   * @internal Envoy posts one on_queue_ready per enqueue to the registrant's thread (never coalesced): it
   * runs after the current call.
   */
  notifyQueue(q: SharedQueue): void {
    this.pendingQueueNotifications.push(q);
  }

  /** Runs pending `proxy_on_queue_ready` notifications (done automatically after each driven step). */
  deliverQueueNotifications(): void {
    while (this.pendingQueueNotifications.length > 0) {
      const q = this.pendingQueueNotifications.shift()!;
      const vm = this.vms[q.registrant.vmIndex];
      if (vm && vm.contexts.has(q.registrant.rootContextId))
        vm.invoke("proxy_on_queue_ready", q.registrant.rootContextId, q.token);
    }
  }

  /** Enqueues bytes on queue `name` of this host's vm_id, as another VM would. */
  enqueue(name: string, item: Uint8Array | string): void {
    const q = this.queues.byQueueName(this.plugin.vmId, name);
    if (!q) throw new Error(`no shared queue named ${name}`);
    q.items.push(typeof item === "string" ? new TextEncoder().encode(item) : item);
    this.notifyQueue(q);
    this.deliverQueueNotifications();
  }

  /** Items waiting in queue `name`. */
  queueItems(name: string): Uint8Array[] {
    return this.queues.byQueueName(this.plugin.vmId, name)?.items ?? [];
  }

  // --- Properties, foreign functions, randomness ---------------------------------------------------

  /** @internal The value of a property for `contextId` in `vm`, or undefined (NOT_FOUND). */
  getProperty(vm: Vm, contextId: number, path: string[]): PropertyValue | undefined {
    const ctx = vm.contexts.get(contextId);
    const root = ctx?.kind === "root" ? ctx : ctx ? vm.contexts.get(ctx.rootContextId) : undefined;
    const plugin = root?.kind === "root" ? root.plugin : this.plugin;
    if (path.length === 1) {
      if (path[0] === "plugin_name") return plugin.name;
      if (path[0] === "plugin_root_id") return plugin.rootId;
      if (path[0] === "plugin_vm_id") return plugin.vmId;
    }
    const key = pathKey(path);
    const stream = ctx?.kind === "http" ? ctx.stream : undefined;
    if (stream) {
      // Envoy resolves an unknown top-level name against filter state `wasm.<name>`, and only the first
      // segment: a value set with a multi-segment path (`wasm.a\0b`) is never found (checked in Envoy 1.39).
      const own =
        stream.properties.get(key) ??
        (path.length === 1
          ? (stream.properties.get(`wasm.${path[0]}`) ?? stream.properties.get(pathKey(["wasm", path[0]])))
          : undefined);
      if (own !== undefined) return own;
      const derived = this.streamAttribute(stream, path);
      if (derived !== undefined) return derived;
    }
    return this.properties.get(key);
  }

  /** Attributes Envoy derives from the stream (request.*, response.*, source.*). */
  private streamAttribute(s: HttpStream, path: string[]): PropertyValue | undefined {
    const [top, field] = path;
    if (path.length !== 2) return undefined;
    const headers = s.requestHeaders ?? [];
    const h = (name: string) => headers.find(([k]) => k === name)?.[1];
    const joined = (list: HeaderList): HeaderList => {
      const m = new Map<string, string>();
      for (const [k, v] of list) m.set(k, m.has(k) ? `${m.get(k)},${v}` : v);
      return [...m.entries()];
    };
    if (top === "request") {
      const p = h(":path");
      switch (field) {
        case "path":
          return p;
        case "url_path":
          return p?.split("?")[0];
        case "query":
          return p === undefined ? undefined : p.includes("?") ? p.slice(p.indexOf("?") + 1) : "";
        case "host":
          return h(":authority");
        case "scheme":
          return h(":scheme");
        case "method":
          return h(":method");
        case "headers":
          return joined(headers);
        case "referer":
          return h("referer");
        case "useragent":
          return h("user-agent");
        case "id":
          return h("x-request-id");
        case "protocol":
          return "HTTP/1.1";
        case "time":
          return this.clock.wallNs - BigInt(this.clock.nowMs - s.startedAtMs) * 1_000_000n;
        case "duration":
          return s.downstream.complete ? BigInt(this.clock.nowMs - s.startedAtMs) * 1_000_000n : undefined;
        case "size":
        case "total_size":
          return s.upstream.complete ? s.upstream.body.length : undefined;
      }
    }
    // Envoy's response attributes exist once response headers reach the filter chain: in
    // on_response_headers they already read the live header map.
    const responseHeaders = s.responseHeaders ?? s.downstream.headers;
    if (top === "response" && responseHeaders) {
      switch (field) {
        case "code":
          return s.responseCode ?? undefined;
        case "code_details":
          return s.envoyReply?.details ?? s.localResponse?.details ?? "via_upstream";
        case "flags":
          return 0;
        case "headers":
          return joined(responseHeaders);
        case "size":
        case "total_size":
          return s.downstream.body.length;
      }
    }
    if (top === "source") {
      const i = this.sourceAddress.lastIndexOf(":");
      if (field === "address") return this.sourceAddress;
      if (field === "port") return Number(this.sourceAddress.slice(i + 1));
    }
    return undefined;
  }

  /** @internal */
  foreignFunction(name: string): ((args: Uint8Array) => Uint8Array | null) | undefined {
    return this.foreign[name];
  }

  /** @internal */
  random(n: number): Uint8Array {
    return this.randomSource(n);
  }

  // --- Logs, calls, metrics, memory ----------------------------------------------------------------

  /** @internal */
  recordLog(level: LogLevel, message: string, vm: number, contextId: number, fromHost = false): void {
    if (!fromHost && level < this.logLevel) return;
    this.logEntries.push({ level: LOG_LEVEL_NAMES[level], message, vm, contextId, fromHost });
  }

  /** @internal */
  recordCall(vm: number, contextId: number, name: string, args: unknown[], result: number | void): void {
    if (this.traceCalls) this.calls.push({ vm, contextId, name, args, result });
  }

  /** Messages logged at `level` (or all), in order. */
  logs(level?: LogLevelName): string[] {
    return this.logEntries.filter((e) => level === undefined || e.level === level).map((e) => e.message);
  }

  /**
   * Value of a counter, else a gauge, by name (the `wasmcustom.` prefix optional), or undefined. Envoy keeps
   * a counter, a gauge and a histogram of one name apart; `histogram(name)` reads the histogram.
   */
  metric(name: string): bigint | undefined {
    const n = name.replace(/^wasmcustom\./, "");
    return (this.stats.get(n, MetricType.Counter) ?? this.stats.get(n, MetricType.Gauge))?.value;
  }

  /** Samples of a histogram by name. */
  histogram(name: string): bigint[] {
    return this.stats.get(name.replace(/^wasmcustom\./, ""), MetricType.Histogram)?.samples ?? [];
  }

  /**
   * Every defined metric: name → value (counters and gauges) or sample count (histograms). A name defined
   * with several types appears once per type as `name (counter)`, `name (gauge)`, `name (histogram)`.
   */
  metrics(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    const all = [...this.stats.stats.values()];
    const typeName = (s: Stat) => ["counter", "gauge", "histogram"][s.type];
    for (const s of all) {
      const shared = all.some((o) => o !== s && o.name === s.name);
      out[shared ? `${s.name} (${typeName(s)})` : s.name] =
        s.type === MetricType.Histogram ? BigInt(s.samples.length) : s.value;
    }
    return out;
  }

  /** The bytes stored under `key` in this host's vm_id, or undefined. */
  sharedValue(key: string): Uint8Array | undefined {
    return this.sharedData.get(this.plugin.vmId, key)?.value;
  }

  /** Guest linear memory of worker `worker`, in bytes. */
  memoryBytes(worker = 0): number {
    return this.vms[worker].memoryBytes;
  }

  /** True when worker `worker` has trapped (Envoy: VM in RuntimeError). */
  failed(worker = 0): boolean {
    return this.vms[worker].failed;
  }
}
