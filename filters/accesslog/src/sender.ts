// Sink (b): records travel from every worker's `onLog` through one shared queue to ONE batching sender,
// which posts them as NDJSON to an Envoy cluster with `dispatch_http_call`.
//
//   worker VM 1 ─ onLog ─┐                          ┌─ sender root (elected) ──────────────────────────┐
//   worker VM 2 ─ onLog ─┼─ enqueue ─► shared queue ─┤ onQueueReady / onTick: drain → bounded buffer    │
//   ...                  ┘  (vm_id, name)            │ size or age reached → POST NDJSON (1 in flight)  │
//                                                    │ failure → retry same batch with backoff          │
//                                                    └──────────────────────────────────────────────────┘
//
// Who sends: Envoy notifies only the root context that registered the queue most recently, and every
// plugin has one root per worker thread plus one on the main thread. The roots elect a sender through a
// CAS-guarded shared-data entry `owner heartbeat`; the winner re-registers the queue (so it receives the
// notifications), refreshes its heartbeat every tick, and gives the role up in `onDone`. A root whose
// owner entry goes stale (trapped VM, deleted root) takes over. A root that lost the role keeps sending
// what it already holds, so a hand-over loses nothing.
//
// Memory: the sender holds at most `bufferMaxRecords`/`bufferMaxBytes` (the in-flight batch included).
// Past that, newly drained records are dropped and counted (drop-newest): what is buffered is older and
// already paid for. A failed batch keeps its place and is retried with exponential backoff and jitter;
// after `maxRetries` retries, or a 4xx answer other than 408/429, it is dropped and counted.

import {
  Counter,
  Gauge,
  Header,
  HttpCallResponse,
  LogLevel,
  RootContext,
  dequeueSharedQueue,
  getSharedData,
  log,
  monotonicNanos,
  randomU64,
  registerSharedQueue,
  resolveSharedQueue,
  setSharedData,
  toHex,
} from "../../../assembly";
import { HttpSinkConfig } from "./config";

/** Process-wide counters (Envoy /stats: `wasmcustom.<name>`). */
export namespace metrics {
  export const records = new Counter("accesslog_records_total");
  export const skipped = new Counter("accesslog_records_skipped_total");
  export const recordsSent = new Counter("accesslog_records_sent_total");
  export const recordsDropped = new Counter("accesslog_records_dropped_total");
  export const batchesSent = new Counter("accesslog_batches_sent_total");
  export const batchesFailed = new Counter("accesslog_batches_failed_total");
  export const batchesDropped = new Counter("accesslog_batches_dropped_total");
  export const buffered = new Gauge("accesslog_buffered_records");
}

/** At most this many queue items are taken per callback (garbage is collected between callbacks). */
const MAX_DRAIN_PER_CALL = 1024;

const NL: u8 = 0x0a;

export function nowMs(): i64 {
  return <i64>(monotonicNanos() / 1_000_000);
}

/** The shared-data entry value: `<owner hex> <heartbeat ms>`; owner "-" means nobody. */
class Election {
  constructor(
    public owner: string,
    public heartbeatMs: i64,
    public cas: u32,
  ) {}

  static read(key: string): Election | null {
    const d = getSharedData(key);
    if (d === null) return null;
    const s = String.UTF8.decode(d.value, false);
    const sp = s.indexOf(" ");
    if (sp <= 0) return new Election("-", 0, d.cas);
    const hb = I64.parseInt(s.substring(sp + 1), 10);
    return new Election(s.substring(0, sp), hb, d.cas);
  }
}

export class Sender {
  readonly queueName: string;
  readonly electionKey: string;
  readonly me: string;
  queueId: u32 = 0;
  isOwner: bool = false;

  /** Records waiting to be sent, oldest first (not including the in-flight batch). */
  private records: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  private recordBytes: i64 = 0;
  /** When records[0] entered the buffer (monotonic ms). */
  private oldestAtMs: i64 = 0;
  /** The batch being sent or waiting for its retry. */
  private batch: Array<ArrayBuffer> | null = null;
  private batchBytes: i64 = 0;
  /** Token of the outstanding call, 0 when none is outstanding. */
  private token: u32 = 0;
  /** Failed attempts of `batch` so far. */
  private failures: i32 = 0;
  private retryAtMs: i64 = 0;
  private stopping: bool = false;
  private refusalsLogged: i32 = 0;

  constructor(
    private root: RootContext,
    readonly cfg: HttpSinkConfig,
    pluginName: string,
  ) {
    this.queueName = "wasmgate.accesslog." + pluginName;
    this.electionKey = "wasmgate.accesslog." + pluginName + ".sender";
    this.me = toHex(randomU64() | 1, 16);
  }

  /**
   * In `onConfigure`: finds the queue (creating it when this is the first root of the process) and makes
   * sure the election entry exists. Electing waits for the first tick, so Envoy's configuration canary
   * (a throw-away VM that never ticks) never becomes the sender.
   */
  start(): void {
    this.queueId = resolveSharedQueue("", this.queueName);
    if (this.queueId == 0) this.queueId = registerSharedQueue(this.queueName);
    if (getSharedData(this.electionKey) === null)
      setSharedData(this.electionKey, String.UTF8.encode("- 0", false), 0);
    this.root.setTickPeriod(this.cfg.tickMs);
  }

  private get staleMs(): i64 {
    const t = <i64>this.cfg.tickMs * 5;
    return t < 2000 ? 2000 : t;
  }

  /** One election step: keep, take or leave the sender role. */
  private elect(now: i64): void {
    const e = Election.read(this.electionKey);
    const value = String.UTF8.encode(this.me + " " + now.toString(), false);
    if (e === null) {
      // The entry is created in onConfigure; should it be missing, create it claimed.
      this.isOwner = setSharedData(this.electionKey, value, 0);
      if (this.isOwner) this.becameOwner();
      return;
    }
    if (e.owner == this.me) {
      this.isOwner = setSharedData(this.electionKey, value, e.cas);
      return;
    }
    const wasOwner = this.isOwner;
    this.isOwner = false;
    if (wasOwner && log.enabled(LogLevel.Info))
      log.info("accesslog: another root took over the batch sender role");
    if (e.owner == "-" || now - e.heartbeatMs > this.staleMs) {
      if (setSharedData(this.electionKey, value, e.cas)) {
        this.isOwner = true;
        this.becameOwner();
      }
    }
  }

  private becameOwner(): void {
    // The most recent registrant receives onQueueReady (Envoy shared_queue.cc).
    this.queueId = registerSharedQueue(this.queueName);
    if (log.enabled(LogLevel.Info))
      log.info("accesslog: this root is now the batch sender (id " + this.me + ")");
  }

  onTick(): void {
    const now = nowMs();
    if (!this.stopping) this.elect(now);
    if (this.isOwner) this.drain(now);
    this.pump(now);
  }

  onQueueReady(): void {
    const now = nowMs();
    this.drain(now);
    this.pump(now);
  }

  /** Records held by this root (buffered plus in flight). */
  get held(): i32 {
    const b = this.batch;
    return this.records.length + (b === null ? 0 : b.length);
  }

  private get heldBytes(): i64 {
    return this.recordBytes + this.batchBytes;
  }

  /** Moves queued records into the buffer, dropping (and counting) those past the limits. */
  private drain(now: i64): void {
    if (this.queueId == 0) return;
    let dropped: u64 = 0;
    let added: i64 = 0;
    for (let i = 0; i < MAX_DRAIN_PER_CALL; i++) {
      const item = dequeueSharedQueue(this.queueId);
      if (item === null) break;
      if (
        this.held >= this.cfg.bufferMaxRecords ||
        this.heldBytes + <i64>item.byteLength > <i64>this.cfg.bufferMaxBytes
      ) {
        dropped++;
        continue;
      }
      if (this.records.length == 0) this.oldestAtMs = now;
      this.records.push(item);
      this.recordBytes += item.byteLength;
      added++;
    }
    if (added > 0) metrics.buffered.add(added);
    if (dropped > 0) {
      metrics.recordsDropped.increment(dropped);
      if (log.enabled(LogLevel.Debug))
        log.debug("accesslog: buffer full, dropped " + dropped.toString() + " newest record(s)");
    }
  }

  /** Starts a send when one is due: a retry whose time came, a full batch, or the oldest record aged. */
  private pump(now: i64): void {
    if (this.token != 0) return;
    if (this.batch !== null) {
      if (now >= this.retryAtMs) this.send();
      return;
    }
    const n = this.records.length;
    if (n == 0) return;
    const due =
      this.stopping ||
      n >= this.cfg.batchMaxRecords ||
      this.recordBytes >= <i64>this.cfg.batchMaxBytes ||
      now - this.oldestAtMs >= this.cfg.flushIntervalMs;
    if (!due) return;
    // Take the oldest records, up to the batch limits (at least one).
    let count = 0;
    let bytes: i64 = 0;
    while (count < n && count < this.cfg.batchMaxRecords) {
      const len = <i64>unchecked(this.records[count]).byteLength + 1;
      if (count > 0 && bytes + len > <i64>this.cfg.batchMaxBytes) break;
      bytes += len;
      count++;
    }
    this.batch = this.records.splice(0, count);
    this.batchBytes = bytes - count;
    this.recordBytes -= this.batchBytes;
    this.oldestAtMs = now;
    this.failures = 0;
    this.send();
  }

  private body(): ArrayBuffer {
    const batch = this.batch!;
    const out = new ArrayBuffer(<i32>(this.batchBytes + batch.length));
    let p = changetype<usize>(out);
    for (let i = 0; i < batch.length; i++) {
      const r = unchecked(batch[i]);
      memory.copy(p, changetype<usize>(r), <usize>r.byteLength);
      p += <usize>r.byteLength;
      store<u8>(p, NL);
      p++;
    }
    return out;
  }

  private send(): void {
    const c = this.cfg;
    const headers = new Array<Header>();
    headers.push(new Header(":method", "POST"));
    headers.push(new Header(":path", c.path));
    headers.push(new Header(":authority", c.authority));
    headers.push(new Header("content-type", "application/x-ndjson"));
    for (let i = 0; i + 1 < c.headers.length; i += 2)
      headers.push(new Header(unchecked(c.headers[i]), unchecked(c.headers[i + 1])));
    const token = this.root.dispatchHttpCall(
      c.cluster,
      headers,
      this.body(),
      new Array<Header>(),
      <u32>c.timeoutMs,
    );
    if (token == 0) {
      // Envoy refused the call (unknown cluster, bad headers): treat as a failed attempt.
      if (this.refusalsLogged < 5) {
        this.refusalsLogged++;
        log.error(
          'accesslog: Envoy refused the call to cluster "' + c.cluster + '" (is the cluster defined?)',
        );
      }
      this.failed(true);
      return;
    }
    this.token = token;
  }

  onHttpCallResponse(token: u32, r: HttpCallResponse): void {
    if (token != this.token) return;
    this.token = 0;
    const status = r.failed ? 0 : r.status();
    if (status >= 200 && status < 300) {
      const n = this.batch!.length;
      metrics.batchesSent.increment();
      metrics.recordsSent.increment(<u64>n);
      metrics.buffered.add(-n);
      this.batch = null;
      this.batchBytes = 0;
      this.failures = 0;
      this.afterCall();
      return;
    }
    // Envoy answers a refused connection with 503 and a timeout with 504 from its own async client;
    // a reset arrives without headers (status 0). 408, 429 and 5xx are worth retrying; other 4xx are not.
    const retryable = status == 0 || status == 408 || status == 429 || status >= 500;
    if (log.enabled(LogLevel.Debug)) {
      log.debug(
        "accesslog: collector answered " +
          (status == 0 ? "nothing (reset)" : status.toString()) +
          " for a batch of " +
          this.batch!.length.toString(),
      );
    }
    this.failed(retryable);
    this.afterCall();
  }

  private afterCall(): void {
    if (this.stopping) {
      this.flushWhileStopping();
      if (this.token == 0) this.root.done();
      return;
    }
    this.pump(nowMs());
  }

  /** Sends what is held, batch after batch, without retries; a refused call drops (and counts) its batch. */
  private flushWhileStopping(): void {
    while (this.token == 0 && (this.batch !== null || this.records.length > 0)) {
      if (this.batch !== null) this.send();
      else this.pump(nowMs());
    }
  }

  /** The current batch failed: schedule a retry, or drop it when retries are exhausted or pointless. */
  private failed(retryable: bool): void {
    metrics.batchesFailed.increment();
    this.failures++;
    if (!retryable || this.failures > this.cfg.maxRetries || this.stopping) {
      const n = this.batch!.length;
      metrics.batchesDropped.increment();
      metrics.recordsDropped.increment(<u64>n);
      metrics.buffered.add(-n);
      log.warn(
        "accesslog: dropped a batch of " +
          n.toString() +
          " record(s) after " +
          this.failures.toString() +
          " failed attempt(s)",
      );
      this.batch = null;
      this.batchBytes = 0;
      this.failures = 0;
      return;
    }
    this.retryAtMs = nowMs() + backoffMs(this.cfg, this.failures, randomU64());
  }

  /**
   * Root shutdown (`onDone`): give up the sender role and send what is held once, without retries.
   * Returns false while a call is outstanding; `done()` follows its answer.
   */
  stop(): bool {
    this.stopping = true;
    if (this.isOwner) {
      const e = Election.read(this.electionKey);
      if (e !== null && e.owner == this.me)
        setSharedData(this.electionKey, String.UTF8.encode("- 0", false), e.cas);
      this.isOwner = false;
    }
    this.flushWhileStopping();
    return this.token == 0;
  }
}

/**
 * The wait before retry number `failures` (1 = first retry): `initialBackoff * 2^(failures-1)` capped at
 * `maxBackoff`, plus up to `jitter` of it at random (`r` uniform over u64).
 */
export function backoffMs(cfg: HttpSinkConfig, failures: i32, r: u64): i64 {
  let b = cfg.initialBackoffMs;
  for (let i = 1; i < failures && b < cfg.maxBackoffMs; i++) b *= 2;
  if (b > cfg.maxBackoffMs) b = cfg.maxBackoffMs;
  const frac = <f64>(r >> 11) / 9007199254740992.0; // [0, 1)
  return b + <i64>(<f64>b * cfg.jitter * frac);
}
