// accesslog: one JSON record per HTTP request, written in Envoy's access-log phase (`proxy_on_log`, which
// Envoy runs before `proxy_on_done`), with redaction, conditions, trace-consistent sampling and optional
// bounded body capture, to Envoy's own log and/or an HTTP collector in NDJSON batches.
// See README.md for the record schema and configuration, RATIONALE.md for the design choices.

import {
  Action,
  HttpCallResponse,
  HttpContext,
  RootContext,
  attributes,
  enqueueSharedQueue,
  log,
  registerRootContext,
  resolveSharedQueue,
} from "../../assembly";
export * from "../../assembly/exports";

import { BodyCapture } from "./src/body";
import { Config, parseConfig } from "./src/config";
import { buildRecord, readOutcome, shouldLog } from "./src/record";
import { Sender, metrics } from "./src/sender";

const PLUGIN = "accesslog";

class AccessLogRoot extends RootContext {
  config: Config = new Config();
  sender: Sender | null = null;

  /** Validates the configuration; a bad one is refused with one critical line per problem. */
  override onConfigure(size: u32): bool {
    const cfg = new Config();
    const r = parseConfig(this.getPluginConfiguration(), cfg);
    if (!r.ok) {
      r.logErrors(PLUGIN);
      return false;
    }
    this.config = cfg;
    const http = cfg.http;
    if (http !== null) {
      const name = attributes.pluginName();
      const sender = new Sender(this, http, name === null || name.length == 0 ? PLUGIN : name);
      sender.start();
      this.sender = sender;
    } else {
      this.sender = null;
      this.setTickPeriod(0);
    }
    return true;
  }

  override onTick(): void {
    const s = this.sender;
    if (s !== null) s.onTick();
  }

  override onQueueReady(queueId: u32): void {
    const s = this.sender;
    if (s !== null) s.onQueueReady();
  }

  override onHttpCallResponse(token: u32, response: HttpCallResponse): void {
    const s = this.sender;
    if (s !== null) s.onHttpCallResponse(token, response);
  }

  override onDone(): bool {
    const s = this.sender;
    return s === null ? true : s.stop();
  }

  override newHttpContext(id: u32): HttpContext | null {
    return new AccessLog(id, this);
  }

  /** Hands a finished record to the sinks. */
  emit(record: string): void {
    const cfg = this.config;
    metrics.records.increment();
    if (cfg.logSink) log.at(cfg.logLevel, record);
    const s = this.sender;
    if (s === null) return;
    if (s.queueId == 0) s.queueId = resolveSharedQueue("", s.queueName);
    if (s.queueId == 0 || !enqueueSharedQueue(s.queueId, String.UTF8.encode(record, false))) {
      metrics.recordsDropped.increment();
      log.error("accesslog: shared queue " + s.queueName + " is gone; record dropped");
    }
  }
}

class AccessLog extends HttpContext {
  private reqBody: BodyCapture | null = null;
  private resBody: BodyCapture | null = null;

  override onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const b = (this.root as AccessLogRoot).config.body;
    if (b.request && !endOfStream) {
      this.reqBody = new BodyCapture(
        b.maxBytes,
        this.getRequestHeader("content-type"),
        this.getRequestHeader("content-encoding"),
        b,
      );
    }
    return Action.Continue;
  }

  override onRequestBody(bodySize: u32, endOfStream: bool): Action {
    const c = this.reqBody;
    if (c !== null) c.add(<i64>bodySize, c.room > 0 ? this.getRequestBody(0, <u32>c.room) : null);
    return Action.Continue;
  }

  override onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    const b = (this.root as AccessLogRoot).config.body;
    if (b.response && !endOfStream) {
      this.resBody = new BodyCapture(
        b.maxBytes,
        this.getResponseHeader("content-type"),
        this.getResponseHeader("content-encoding"),
        b,
      );
    }
    return Action.Continue;
  }

  override onResponseBody(bodySize: u32, endOfStream: bool): Action {
    const c = this.resBody;
    if (c !== null) c.add(<i64>bodySize, c.room > 0 ? this.getResponseBody(0, <u32>c.room) : null);
    return Action.Continue;
  }

  /** Envoy's access-log phase: headers are readable (read-only) and `response.*` is set. */
  override onLog(): void {
    const root = this.root as AccessLogRoot;
    const cfg = root.config;
    const outcome = readOutcome(this);
    if (!shouldLog(cfg, this, outcome)) {
      metrics.skipped.increment();
      return;
    }
    if (root.sender === null && !log.enabled(cfg.logLevel)) return; // nobody would see the record
    root.emit(buildRecord(cfg, this, outcome, this.reqBody, this.resBody));
  }
}

registerRootContext((id: u32): RootContext => new AccessLogRoot(id), PLUGIN);
