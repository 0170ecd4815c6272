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
import { MapType, BufferType } from "../../../assembly/abi/enums";
import { deserializeHeaders, serializeHeaders, serializePath } from "../../../assembly/internal/serde";
import { bytesToHex } from "../../../assembly/util";
export * from "../../../assembly/exports";

const counter = new Counter("probe_counter");
const gauge = new Gauge("probe_gauge");
const histogram = new Histogram("probe_histogram");

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
    if (!r.ok || failConfigure) {
      r.logErrors("probe");
      if (failConfigure) log.critical("probe: failConfigure: expected false, got true");
      return false;
    }
    this.queueId = registerSharedQueue("probe");
    if (tickMs > 0) this.setTickPeriod(<u32>tickMs);
    log.info("probe configured tickMs=" + tickMs.toString() + " queue=" + this.queueId.toString());
    return true;
  }

  override onTick(): void {
    this.ticks++;
    bumpShared("probe:ticks");
  }

  override onQueueReady(queueId: u32): void {
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

  override onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
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
