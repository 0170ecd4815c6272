// The SDK probe: a test module that performs one SDK operation per request and reports the result, so
// the same operation table runs in the emulator (test/sdk/sdk.test.ts) and in real Envoy
// (test/e2e/sdk.e2e.test.ts).
//
// Request headers select the operation: `x-probe: <op>`, arguments in `x-probe-arg1`, `x-probe-arg2`.
// The result is added as request header `x-probe-result` (so httpbin echoes it) and logged at info as
// `probe <op> => <result>`.
//
// Plugin configuration: {"tickMs": <n>} starts a timer whose ticks are counted in shared data.

import {
  Action,
  ConfigReader,
  Counter,
  Gauge,
  Header,
  Histogram,
  HttpCallResponse,
  HttpContext,
  LogLevel,
  RootContext,
  StreamContext,
  callForeignFunction,
  clearRouteCache,
  currentTimeNanos,
  dequeueSharedQueue,
  enqueueSharedQueue,
  getEnv,
  getProperty,
  getPropertyBool,
  getPropertyI64,
  getPropertyMap,
  getPropertyString,
  getSharedData,
  headersOf,
  lastCalloutRefusal,
  log,
  monotonicNanos,
  randomBytes,
  randomU64,
  registerRootContext,
  registerSharedQueue,
  resolveSharedQueue,
  setPropertyString,
  setSharedData,
  attributes,
} from "../../../assembly";
import * as host from "../../../assembly/hostcalls";
import * as abi from "../../../assembly/abi/imports";
import { MapType, BufferType, StreamType } from "../../../assembly/abi/enums";
import { deserializeHeaders, serializeHeaders, serializePath } from "../../../assembly/internal/serde";
import { bytesToHex } from "../../../assembly/util";
export * from "../../../assembly/exports";

const counter = new Counter("probe_counter");
const gauge = new Gauge("probe_gauge");
const histogram = new Histogram("probe_histogram");
// One name, two types: Envoy keeps a counter and a gauge of the same name apart.
const dualCounter = new Counter("probe_dual");
const dualGauge = new Gauge("probe_dual");

/** Traps the VM (an out-of-range index aborts). */
function trapNow(): void {
  const a = new Array<i32>(1);
  log.info("unreachable " + a[<i32>I32.parseInt("5")].toString());
}

function yesNo(v: bool): string {
  return v ? "true" : "false";
}

/** Raw out-values for host calls whose exact (ptr, size) answer a test checks: pre-filled with 0xffffffff. */
const RAW_OUT = new StaticArray<u32>(2);

function rawOut(): usize {
  RAW_OUT[0] = 0xffffffff;
  RAW_OUT[1] = 0xffffffff;
  return changetype<usize>(RAW_OUT);
}

function rawReport(status: u32): string {
  return (
    "status=" +
    status.toString() +
    " ptr=" +
    (RAW_OUT[0] == 0 ? "0" : "set") +
    " size=" +
    RAW_OUT[1].toString()
  );
}

function str(b: ArrayBuffer | null): string {
  return b === null ? "<null>" : String.UTF8.decode(b, false);
}

function hexToBytes(hex: string): ArrayBuffer {
  const out = new ArrayBuffer(hex.length >> 1);
  for (let i = 0; i < out.byteLength; i++)
    store<u8>(changetype<usize>(out) + <usize>i, <u8>I32.parseInt(hex.substr(i * 2, 2), 16));
  return out;
}

function orNull(s: string | null): string {
  return s === null ? "<null>" : s!;
}

function bumpShared(key: string): void {
  // The canonical CAS loop: read, compute, write with the stamp, retry on conflict.
  for (let attempt = 0; attempt < 16; attempt++) {
    const cur = getSharedData(key);
    const n = cur === null ? 0 : I32.parseInt(String.UTF8.decode(cur.value, false));
    if (setSharedData(key, String.UTF8.encode((n + 1).toString(), false), cur === null ? 0 : cur.cas)) return;
  }
}

class ProbeRoot extends RootContext {
  queueId: u32 = 0;
  vmConfig: string = "";
  ticks: i32 = 0;

  override onVmStart(vmConfigurationSize: u32): bool {
    this.vmConfig = this.getVmConfiguration();
    log.info("probe vm_start config=" + this.vmConfig);
    return true;
  }

  override onConfigure(configurationSize: u32): bool {
    const r = ConfigReader.parse(this.getPluginConfiguration());
    const tickMs = r.optionalInt("tickMs", 0, 0, 3_600_000);
    const failConfigure = r.optionalBool("failConfigure", false);
    r.finish();
    if (!r.ok) {
      r.logErrors("probe");
      return false;
    }
    // The timer starts before the failConfigure check: a refused root must not keep ticking.
    if (tickMs > 0) this.setTickPeriod(<u32>tickMs);
    if (failConfigure) {
      log.critical("probe: failConfigure: expected false, got true");
      return false;
    }
    this.queueId = registerSharedQueue("probe");
    log.info("probe configured tickMs=" + tickMs.toString() + " queue=" + this.queueId.toString());
    return true;
  }

  override onTick(): void {
    this.ticks++;
    bumpShared("probe:ticks");
  }

  override onQueueReady(queueId: u32): void {
    bumpShared("probe:queue-ready-calls");
    let item = dequeueSharedQueue(queueId);
    while (item !== null) {
      const v = String.UTF8.decode(item!, false);
      log.info("probe queue got " + v);
      setSharedData("probe:queue-last", String.UTF8.encode(v, false), 0);
      item = dequeueSharedQueue(queueId);
    }
  }

  override onDone(): bool {
    log.info("probe root done");
    return true;
  }

  override newHttpContext(contextId: u32): HttpContext | null {
    return new Probe(contextId, this);
  }

  override newStreamContext(contextId: u32): StreamContext | null {
    return null;
  }
}

class Probe extends HttpContext {
  op: string = "";
  arg1: string = "";
  arg2: string = "";
  calloutToken: u32 = 0;
  /** A result reported as response header x-probe-result (when the request headers can no longer change). */
  responseResult: string = "";

  /** Dispatches a GET /status/201 callout to `cluster` and pauses the request until the answer. */
  startCallout(cluster: string): Action {
    this.calloutToken = this.dispatchHttpCall(
      cluster,
      headersOf([":method", "GET", ":path", "/status/201", ":authority", "probe.local"]),
      null,
      new Array<Header>(),
      5000,
    );
    if (this.calloutToken == 0) {
      this.report("refused status=" + lastCalloutRefusal().toString());
      return Action.Continue;
    }
    return Action.Pause;
  }

  report(result: string): void {
    this.replaceRequestHeader("x-probe-result", result);
    log.info("probe " + this.op + " => " + result);
  }

  override onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const op = this.getRequestHeader("x-probe");
    if (op === null) return Action.Continue;
    this.op = op!;
    this.arg1 = orNull(this.getRequestHeader("x-probe-arg1"));
    this.arg2 = orNull(this.getRequestHeader("x-probe-arg2"));
    return this.run(numHeaders, endOfStream);
  }

  run(numHeaders: u32, endOfStream: bool): Action {
    const op = this.op;
    const a1 = this.arg1;
    const a2 = this.arg2;
    if (op == "noop") {
      return Action.Continue;
    } else if (op == "log") {
      log.trace("probe trace line");
      log.debug("probe debug line");
      log.info("probe info line");
      log.warn("probe warn line");
      log.error("probe error line");
      log.critical("probe critical line");
      this.report("enabled-debug=" + (log.enabled(LogLevel.Debug) ? "true" : "false"));
    } else if (op == "log-level") {
      this.report(host.getLogLevel().toString());
    } else if (op == "time") {
      const wall = currentTimeNanos();
      const m1 = monotonicNanos();
      const m2 = monotonicNanos();
      this.report(
        "wall>2020=" +
          (wall > 1_577_836_800_000_000_000 ? "true" : "false") +
          " monotonic-ordered=" +
          (m2 >= m1 ? "true" : "false"),
      );
    } else if (op == "get-header") {
      this.report(orNull(this.getRequestHeader(a1)));
    } else if (op == "get-headers") {
      const hs = this.getRequestHeaders();
      let names = "";
      for (let i = 0; i < hs.length; i++)
        if (hs[i].name.startsWith("x-probe-in")) names += hs[i].name + "=" + hs[i].value + ";";
      this.report("count=" + hs.length.toString() + " numHeaders=" + numHeaders.toString() + " " + names);
    } else if (op == "header-map-size") {
      const size = host.getHeaderMapSize(MapType.HttpRequestHeaders);
      const pairs = this.getRequestHeaders().length;
      this.report("bytes>pairs=" + (size > <i64>pairs ? "true" : "false"));
    } else if (op == "add-header") {
      this.addRequestHeader(a1, a2);
      this.report("added");
    } else if (op == "replace-header") {
      this.report(this.replaceRequestHeader(a1, a2) ? "replaced" : "refused");
    } else if (op == "remove-header") {
      this.report(this.removeRequestHeader(a1) ? "removed" : "refused");
    } else if (op == "set-headers") {
      const hs = this.getRequestHeaders();
      const out = new Array<Header>();
      for (let i = 0; i < hs.length; i++) if (!hs[i].name.startsWith("x-probe-drop")) out.push(hs[i]);
      out.push(new Header("x-probe-set", "yes"));
      this.setRequestHeaders(out);
      this.report("set " + out.length.toString());
    } else if (op == "response-header-early") {
      // Response headers do not exist yet: a read is null and a write is refused, never a trap.
      const v = this.getResponseHeader("server");
      const w = this.addResponseHeader("x-too-early", "1");
      this.report("read=" + orNull(v) + " write=" + (w ? "true" : "false"));
    } else if (op == "property") {
      this.report(orNull(getPropertyString(a1.split("."))));
    } else if (op == "property-int") {
      this.report(getPropertyI64(a1.split("."), -1).toString());
    } else if (op == "property-bool") {
      const b = getPropertyBool(a1.split("."), false);
      this.report(getProperty(a1.split(".")) === null ? "<null>" : b ? "true" : "false");
    } else if (op == "property-map") {
      const m = getPropertyMap(a1.split("."));
      if (m === null) this.report("<null>");
      else {
        let v = "<absent>";
        for (let i = 0; i < m.length; i++) if (m[i].name == a2) v = m[i].value;
        this.report("entries>0=" + (m.length > 0 ? "true" : "false") + " " + a2 + "=" + v);
      }
    } else if (op == "set-property") {
      const ok = setPropertyString(a1.split("."), a2);
      this.report("set=" + (ok ? "true" : "false") + " read=" + orNull(getPropertyString(a1.split("."))));
    } else if (op == "attributes") {
      this.report(
        "plugin=" +
          orNull(attributes.pluginName()) +
          " root=" +
          orNull(attributes.pluginRootId()) +
          " vm=" +
          orNull(attributes.pluginVmId()),
      );
    } else if (op == "shared-set") {
      this.report(setSharedData(a1, String.UTF8.encode(a2, false), 0) ? "ok" : "cas-mismatch");
    } else if (op == "shared-get") {
      const d = getSharedData(a1);
      this.report(
        d === null
          ? "<null>"
          : String.UTF8.decode(d.value, false) + " cas>0=" + (d.cas > 0 ? "true" : "false"),
      );
    } else if (op == "shared-cas") {
      setSharedData(a1, String.UTF8.encode("v1", false), 0);
      const d = getSharedData(a1)!;
      const first = setSharedData(a1, String.UTF8.encode("v2", false), d.cas);
      const second = setSharedData(a1, String.UTF8.encode("v3", false), d.cas);
      this.report(
        "first=" +
          (first ? "true" : "false") +
          " second=" +
          (second ? "true" : "false") +
          " value=" +
          str(getSharedData(a1)!.value),
      );
    } else if (op == "queue") {
      const id = resolveSharedQueue("", "probe");
      const missing = resolveSharedQueue("", "no-such-queue");
      const ok = enqueueSharedQueue(id, String.UTF8.encode(a1, false));
      this.report(
        "resolved>0=" +
          (id > 0 ? "true" : "false") +
          " missing=" +
          missing.toString() +
          " enqueued=" +
          (ok ? "true" : "false"),
      );
    } else if (op == "queue-last") {
      const d = getSharedData("probe:queue-last");
      this.report(d === null ? "<null>" : str(d.value));
    } else if (op == "queue-dequeue-empty") {
      const id = resolveSharedQueue("", "probe");
      this.report(dequeueSharedQueue(id) === null ? "empty" : "item");
    } else if (op == "ticks") {
      const d = getSharedData("probe:ticks");
      this.report(d === null ? "0" : str(d.value));
    } else if (op == "metrics") {
      counter.increment(2);
      counter.increment(0); // refused by Envoy for counters; ignored by the SDK
      gauge.set(40);
      gauge.add(2);
      gauge.add(-1);
      histogram.record(7);
      this.report("counter=" + counter.value().toString() + " gauge=" + gauge.value().toString());
    } else if (op == "local-response") {
      const status = <u32>I32.parseInt(a1);
      this.sendLocalResponse(status, "probe says no\n", headersOf(["x-probe-local", "1"]), "probe denied");
      return Action.Pause;
    } else if (op == "http-call") {
      this.calloutToken = this.dispatchHttpCall(
        a1,
        headersOf([
          ":method",
          "GET",
          ":path",
          a2 == "<null>" ? "/status/201" : a2,
          ":authority",
          "probe.local",
          "x-probe-callout",
          "1",
        ]),
        null,
        new Array<Header>(),
        5000,
      );
      if (this.calloutToken == 0) {
        this.report("refused status=" + lastCalloutRefusal().toString());
        return Action.Continue;
      }
      return Action.Pause;
    } else if (op == "http-call-missing-authority") {
      const token = this.dispatchHttpCall(
        a1,
        headersOf([":method", "GET", ":path", "/"]),
        null,
        new Array<Header>(),
        1000,
      );
      this.report("token=" + token.toString() + " status=" + lastCalloutRefusal().toString());
    } else if (op == "grpc-call") {
      const token = this.grpcCall(
        a1,
        "probe.Service",
        "Echo",
        headersOf(["x-md", "1"]),
        String.UTF8.encode("ping", false),
        1000,
      );
      if (token == 0) {
        this.report("refused status=" + lastCalloutRefusal().toString());
        return Action.Continue;
      }
      this.calloutToken = token;
      return Action.Pause;
    } else if (op == "grpc-stream") {
      const token = this.grpcStream(a1, "probe.Service", "Chat", headersOf(["x-md", "2"]));
      if (token == 0) {
        this.report("refused status=" + lastCalloutRefusal().toString());
        return Action.Continue;
      }
      const sent = this.grpcSend(token, String.UTF8.encode("hello", false), false);
      const closed = this.grpcClose(token);
      this.calloutToken = token;
      log.info(
        "probe grpc-stream sent=" + (sent ? "true" : "false") + " closed=" + (closed ? "true" : "false"),
      );
      return Action.Pause;
    } else if (op == "grpc-cancel") {
      const token = this.grpcStream(a1, "probe.Service", "Chat", new Array<Header>());
      const cancelled = this.grpcCancel(token);
      const again = this.grpcCancel(token);
      this.report("cancelled=" + (cancelled ? "true" : "false") + " again=" + (again ? "true" : "false"));
    } else if (op == "foreign") {
      const out = callForeignFunction(a1, String.UTF8.encode(a2, false));
      this.report(out === null ? "<null>" : "bytes=" + out.byteLength.toString());
    } else if (op == "clear-route-cache") {
      this.report(clearRouteCache() ? "cleared" : "unsupported");
    } else if (op == "effective-context") {
      this.report(
        "bogus=" +
          (host.setEffectiveContext(999999) ? "true" : "false") +
          " self=" +
          (host.setEffectiveContext(this.id) ? "true" : "false"),
      );
    } else if (op == "done") {
      this.report("done=" + (host.done() ? "true" : "false"));
    } else if (op == "env") {
      this.report(orNull(getEnv(a1)));
    } else if (op == "random") {
      const a = randomU64();
      const b = randomU64();
      this.report(
        "bytes=" + randomBytes(100000).byteLength.toString() + " distinct=" + (a != b ? "true" : "false"),
      );
    } else if (op == "buffer-status") {
      this.report(
        "request-body=" +
          host.getBufferSize(BufferType.HttpRequestBody).toString() +
          " config=" +
          host.getBufferSize(BufferType.PluginConfiguration).toString(),
      );
    } else if (op == "get-status-outside") {
      const s = host.getStatus();
      this.report("code=" + s.code.toString() + " message=" + s.message);
    } else if (op == "body-upper" || op == "body-append" || op == "body-prepend" || op == "body-read") {
      // The body may change length, and these headers go upstream before the body: drop content-length so
      // Envoy frames the request itself (otherwise the upstream reads only the old length).
      this.removeRequestHeader("content-length");
      return Action.Continue; // handled in onRequestBody
    } else if (op == "resp-body-append" || op == "resp-header") {
      return Action.Continue; // handled on the response side
    } else if (op == "serialize") {
      // Pairs come from request headers named x-s-<name> (prefix removed), in order.
      const hs = this.getRequestHeaders();
      const pairs = new Array<Header>();
      for (let i = 0; i < hs.length; i++)
        if (hs[i].name.startsWith("x-s-")) pairs.push(new Header(hs[i].name.substring(4), hs[i].value));
      this.report(bytesToHex(serializeHeaders(pairs)));
    } else if (op == "deserialize") {
      const bytes = hexToBytes(a1);
      const pairs = deserializeHeaders(changetype<usize>(bytes), <usize>bytes.byteLength);
      let out = "n=" + pairs.length.toString();
      for (let i = 0; i < pairs.length; i++) out += " [" + pairs[i].name + "=" + pairs[i].value + "]";
      this.report(out);
    } else if (op == "serialize-path") {
      this.report(bytesToHex(serializePath(a1.split("."))));
    } else if (op == "close") {
      this.report(this.closeRequest() ? "closing" : "refused");
    } else if (op == "pause-resume") {
      // Resumes itself from the response to a callout; the second half of http-call.
      return Action.Pause;
    } else if (op == "replace-order") {
      // Replaces a1 with a2, then reports the order of the x-o-* headers (and the last pseudo-header when a1
      // is one).
      this.replaceRequestHeader(a1, a2);
      const hs = this.getRequestHeaders();
      let order = "";
      let lastPseudo = "";
      for (let i = 0; i < hs.length; i++) {
        if (hs[i].name.startsWith("x-o-"))
          order += (order.length > 0 ? "," : "") + hs[i].name + "=" + hs[i].value;
        if (hs[i].name.startsWith(":")) lastPseudo = hs[i].name;
      }
      this.report("order=" + order + (a1.startsWith(":") ? " last-pseudo=" + lastPseudo : ""));
    } else if (op == "header-map-bytes") {
      // What proxy_get_header_map_size counts: key+value bytes, or the serialized map.
      const size = host.getHeaderMapSize(MapType.HttpRequestHeaders);
      const hs = this.getRequestHeaders();
      let kv: i64 = 0;
      for (let i = 0; i < hs.length; i++)
        kv += String.UTF8.byteLength(hs[i].name) + String.UTF8.byteLength(hs[i].value);
      const serialized = <i64>serializeHeaders(hs).byteLength;
      this.report(
        size == kv ? "key+value bytes" : size == serialized ? "serialized bytes" : "other " + size.toString(),
      );
    } else if (op == "header-map-size-types") {
      // proxy_get_header_map_size for every map type during on_request_headers (-1: BAD_ARGUMENT).
      let out = "";
      for (let t = 0; t <= 7; t++)
        out +=
          (t > 0 ? " " : "") + t.toString() + ":" + (host.getHeaderMapSize(<MapType>t) >= 0 ? "ok" : "-1");
      this.report(out);
    } else if (op == "metric-types") {
      dualCounter.increment(3);
      dualGauge.set(7);
      this.report("counter=" + dualCounter.value().toString() + " gauge=" + dualGauge.value().toString());
    } else if (op == "vm-config-buffer") {
      const size = host.getBufferSize(BufferType.VmConfiguration);
      const bytes = host.getBufferBytes(BufferType.VmConfiguration, 0, 1024);
      this.report("size=" + size.toString() + " text=" + (bytes === null ? "<null>" : str(bytes)));
    } else if (op == "stream-types") {
      // continue_stream / close_stream with the TCP stream types from an HTTP filter.
      const b = yesNo;
      this.report(
        "continue-downstream=" +
          b(host.continueStream(StreamType.Downstream)) +
          " continue-upstream=" +
          b(host.continueStream(StreamType.Upstream)) +
          " close-downstream=" +
          b(host.closeStream(StreamType.Downstream)) +
          " close-upstream=" +
          b(host.closeStream(StreamType.Upstream)),
      );
    } else if (op == "raw-empty-pairs") {
      // The request trailers do not exist yet: an empty map. What (ptr, size) does the host write?
      const out = rawOut();
      const status = abi.proxy_get_header_map_pairs(MapType.HttpRequestTrailers, out, out + 4);
      this.report(rawReport(status));
    } else if (op == "raw-buffer-past-end") {
      // The request body buffer is empty here: read 5 bytes from offset 10.
      const out = rawOut();
      const status = abi.proxy_get_buffer_bytes(BufferType.HttpRequestBody, 10, 5, out, out + 4);
      this.report(rawReport(status));
    } else if (op == "queue-twice") {
      const id = resolveSharedQueue("", "probe");
      const a = enqueueSharedQueue(id, String.UTF8.encode(a1 + "-1", false));
      const b = enqueueSharedQueue(id, String.UTF8.encode(a1 + "-2", false));
      this.report("enqueued=" + (a && b ? "2" : "?"));
    } else if (op == "queue-ready-calls") {
      const d = getSharedData("probe:queue-ready-calls");
      this.report(d === null ? "0" : str(d.value));
    } else if (
      op == "callout-after-resume" ||
      op == "resume-response-after-callout" ||
      op == "trailers-callout"
    ) {
      if (op == "trailers-callout") {
        this.removeRequestHeader("content-length");
        return Action.Continue; // the callout starts in onRequestTrailers
      }
      return this.startCallout(a1);
    } else if (op == "resp-attrs" || op == "on-log-size" || op == "add-trailer") {
      return Action.Continue; // handled later in the stream
    } else if (op == "trap-body" || op == "trap-trailers") {
      this.removeRequestHeader("content-length");
      return Action.Continue;
    } else if (op == "big-pointer") {
      // Grows memory past 2 GiB and passes host calls pointers above it (negative as an i32).
      const high: usize = 0x80000000;
      const need = <i32>((high + 0x10000) >>> 16) - memory.size();
      if (need > 0 && memory.grow(need) < 0) {
        log.info("probe big-pointer => grow refused");
        return Action.Continue;
      }
      store<u8>(high, 0x62);
      store<u8>(high + 1, 0x69);
      store<u8>(high + 2, 0x67);
      abi.proxy_log(<u32>LogLevel.Info, high, 3);
      abi.proxy_get_log_level(high + 8);
      log.info("probe big-pointer => level-via-high-pointer=" + load<u32>(high + 8).toString());
    } else if (op == "grow-to") {
      const pages = I32.parseInt(a1);
      const need = pages - memory.size();
      const grew = need <= 0 || memory.grow(need) >= 0;
      log.info("probe grow-to => pages=" + memory.size().toString() + " grew=" + (grew ? "true" : "false"));
    } else if (op == "trap") {
      const a = new Array<i32>(1);
      this.report("unreachable " + a[<i32>I32.parseInt(a1)].toString());
    } else if (op == "abort") {
      abort("probe abort requested", "probe.ts", 1, 1);
    } else {
      this.report("unknown op " + op);
    }
    return Action.Continue;
  }

  override onRequestBody(bodySize: u32, endOfStream: bool): Action {
    const op = this.op;
    if (op == "trap-body" || op == "trap-trailers" || op == "trailers-callout") {
      if (!endOfStream) return Action.Pause; // buffer
      if (op == "trap-body") trapNow();
      return Action.Continue;
    }
    if (op == "add-trailer") {
      if (endOfStream) log.info("probe add-trailer => " + yesNo(this.addRequestTrailer("x-added", "1")));
      return Action.Continue;
    }
    if (op != "body-upper" && op != "body-append" && op != "body-prepend" && op != "body-read")
      return Action.Continue;
    if (!endOfStream) return Action.Pause; // buffer until the whole body is here
    const body = this.getRequestBody(0, bodySize);
    const text = str(body);
    if (op == "body-upper") this.setRequestBody(String.UTF8.encode(text.toUpperCase(), false));
    else if (op == "body-append") this.appendRequestBody(String.UTF8.encode("+appended", false));
    else if (op == "body-prepend") this.prependRequestBody(String.UTF8.encode("prepended+", false));
    else log.info("probe body-read => size=" + bodySize.toString() + " text=" + text);
    return Action.Continue;
  }

  override onRequestTrailers(numTrailers: u32): Action {
    if (this.op == "trap-trailers") trapNow();
    if (this.op == "trailers-callout") return this.startCallout(this.arg1);
    return Action.Continue;
  }

  override onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    if (this.responseResult.length > 0) this.addResponseHeader("x-probe-result", this.responseResult);
    if (this.op == "resp-attrs") {
      // Response attributes while the response headers are being processed.
      const m = getPropertyMap(["response", "headers"]);
      let status = "<absent>";
      if (m !== null) for (let i = 0; i < m.length; i++) if (m[i].name == ":status") status = m[i].value;
      this.addResponseHeader(
        "x-probe-result",
        "code=" +
          attributes.responseCode().toString() +
          " headers-status=" +
          (m === null ? "<null>" : status),
      );
    }
    if (this.op == "resp-body-append") this.removeResponseHeader("content-length");
    if (this.op == "resp-header") {
      const status = this.getResponseHeader(":status");
      this.addResponseHeader("x-probe-upstream-status", orNull(status));
    }
    if (this.op == "local-response") {
      // The plugin sees its own local reply on the response path.
      this.addResponseHeader("x-probe-saw-local-reply", orNull(this.getResponseHeader(":status")));
    }
    return Action.Continue;
  }

  override onResponseBody(bodySize: u32, endOfStream: bool): Action {
    if (this.op != "resp-body-append") return Action.Continue;
    if (!endOfStream) return Action.Pause;
    this.appendResponseBody(String.UTF8.encode("[probe]", false));
    return Action.Continue;
  }

  override onHttpCallResponse(token: u32, response: HttpCallResponse): void {
    if (this.op == "callout-after-resume") {
      // continue_stream drops Envoy's request-header pointer at once: later changes in this callback fail.
      const size = host.getHeaderMapSize(MapType.HttpCallResponseHeaders);
      const resumed = this.resumeRequest();
      const replaced = this.replaceRequestHeader("x-probe-late", "1");
      const read = this.getRequestHeader(":path");
      this.responseResult =
        "call-map-size=" +
        size.toString() +
        " resumed=" +
        yesNo(resumed) +
        " replace-after-resume=" +
        yesNo(replaced) +
        " read-after-resume=" +
        orNull(read);
      return;
    }
    if (this.op == "resume-response-after-callout") {
      // Envoy quirk: continuing the *response* also drops the request pointers.
      const resumed = this.resumeResponse();
      const replaced = this.replaceRequestHeader("x-probe-late", "1");
      this.responseResult = "resumed-response=" + yesNo(resumed) + " replace-after=" + yesNo(replaced);
      this.resumeRequest();
      return;
    }
    if (this.op == "trailers-callout") {
      log.info("probe trailers-callout => status=" + response.status().toString());
      this.resumeRequest();
      return;
    }
    if (response.failed) {
      const s = response.failure();
      this.report("failed code=" + s.code.toString() + " message=" + s.message);
    } else {
      const body = response.bodyText();
      this.report(
        "status=" +
          response.status().toString() +
          " token-match=" +
          (token == this.calloutToken ? "true" : "false") +
          " body-bytes=" +
          body.length.toString(),
      );
    }
    this.resumeRequest();
  }

  override onGrpcReceiveInitialMetadata(token: u32, metadata: Array<Header>): void {
    log.info("probe grpc initial metadata " + metadata.length.toString());
  }

  override onGrpcReceive(token: u32, message: ArrayBuffer): void {
    log.info("probe grpc message " + str(message));
  }

  override onGrpcReceiveTrailingMetadata(token: u32, metadata: Array<Header>): void {
    log.info("probe grpc trailing metadata " + metadata.length.toString());
  }

  override onGrpcClose(token: u32, status: u32, message: string): void {
    this.report("grpc-closed status=" + status.toString() + " message=" + message);
    this.resumeRequest();
  }

  override onLog(): void {
    if (this.op == "on-log-size") {
      log.info("probe on-log-size => " + host.getHeaderMapSize(MapType.HttpRequestHeaders).toString());
    }
    if (this.op == "on-log") {
      const code = attributes.responseCode();
      const path = this.getRequestHeader(":path");
      const write = this.addRequestHeader("x-late", "1");
      log.info(
        "probe on-log => code=" +
          code.toString() +
          " path=" +
          orNull(path) +
          " write=" +
          (write ? "true" : "false"),
      );
    }
  }
}

registerRootContext((contextId: u32): RootContext => new ProbeRoot(contextId), "probe");
