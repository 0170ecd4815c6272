// Process-wide state of the emulated Envoy: the clock, shared data, shared queues and stats. One instance
// is shared by every VM of a Host, as Envoy shares them across worker threads.

import { MetricType, Status } from "./abi";

/** A controllable clock: wall time and monotonic time advance together, only when the test says so. */
export class FakeClock {
  /** Nanoseconds since the Unix epoch. */
  wallNs: bigint;
  /** Nanoseconds since an arbitrary origin. */
  monotonicNs: bigint;

  constructor(wallMs = Date.UTC(2026, 0, 1), monotonicMs = 1_000_000) {
    this.wallNs = BigInt(wallMs) * 1_000_000n;
    this.monotonicNs = BigInt(monotonicMs) * 1_000_000n;
  }

  /** Milliseconds on the monotonic clock. */
  get nowMs(): number {
    return Number(this.monotonicNs / 1_000_000n);
  }

  advanceNs(ns: bigint): void {
    this.wallNs += ns;
    this.monotonicNs += ns;
  }
}

interface SharedEntry {
  value: Uint8Array;
  cas: number;
}

/**
 * Shared data with Envoy's CAS rules (cpp-host `shared_data.cc`): one process-global u32 stamp counter that
 * starts at 1 and skips 0; each successful set stamps the entry; cas 0 is unconditional; a non-zero cas must
 * equal the entry's stamp; a missing key is always written. Keyed by vm_id: VMs with the same vm_id share.
 */
export class SharedDataStore {
  private readonly byVm = new Map<string, Map<string, SharedEntry>>();
  private nextCas = 1;

  private table(vmId: string): Map<string, SharedEntry> {
    let t = this.byVm.get(vmId);
    if (!t) {
      t = new Map();
      this.byVm.set(vmId, t);
    }
    return t;
  }

  get(vmId: string, key: string): SharedEntry | undefined {
    return this.byVm.get(vmId)?.get(key);
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): Status {
    const t = this.table(vmId);
    const entry = t.get(key);
    if (entry && cas !== 0 && cas !== entry.cas) return Status.CasMismatch;
    const stamp = this.nextCas;
    this.nextCas = this.nextCas >= 0xffffffff ? 1 : this.nextCas + 1;
    t.set(key, { value: value.slice(), cas: stamp });
    return Status.Ok;
  }

  keys(vmId: string): string[] {
    return [...(this.byVm.get(vmId)?.keys() ?? [])];
  }

  /** Total bytes of keys and values stored for `vmId` (to prove a plugin's key space is bounded). */
  bytes(vmId: string): number {
    let n = 0;
    for (const [k, e] of this.byVm.get(vmId) ?? []) n += Buffer.byteLength(k) + e.value.length;
    return n;
  }
}

export interface QueueRegistrant {
  vmIndex: number;
  rootContextId: number;
}

export interface SharedQueue {
  token: number;
  vmId: string;
  name: string;
  items: Uint8Array[];
  registrant: QueueRegistrant;
}

/** Shared queues keyed by (vm_id, name); tokens are never 0; the most recent registrant is notified. */
export class QueueStore {
  private readonly byToken = new Map<number, SharedQueue>();
  private readonly byName = new Map<string, SharedQueue>();
  private nextToken = 1;

  register(vmId: string, name: string, registrant: QueueRegistrant): number {
    const key = `${vmId}\0${name}`;
    const existing = this.byName.get(key);
    if (existing) {
      existing.registrant = registrant;
      return existing.token;
    }
    const q: SharedQueue = { token: this.nextToken++, vmId, name, items: [], registrant };
    this.byName.set(key, q);
    this.byToken.set(q.token, q);
    return q.token;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.byName.get(`${vmId}\0${name}`)?.token;
  }

  get(token: number): SharedQueue | undefined {
    return this.byToken.get(token);
  }

  byQueueName(vmId: string, name: string): SharedQueue | undefined {
    return this.byName.get(`${vmId}\0${name}`);
  }
}

export interface Stat {
  name: string;
  type: MetricType;
  value: bigint;
  samples: bigint[];
}

/**
 * Envoy's stats store as Wasm metrics see it: process-wide, keyed by (type, name): a counter, a gauge and a
 * histogram may share a name and stay separate stats (Envoy keeps them in separate maps).
 */
export class StatsStore {
  /** Keyed by `<type>:<name>`, in definition order. */
  readonly stats = new Map<string, Stat>();

  define(name: string, type: MetricType): Stat {
    let s = this.stats.get(`${type}:${name}`);
    if (!s) {
      s = { name, type, value: 0n, samples: [] };
      this.stats.set(`${type}:${name}`, s);
    }
    return s;
  }

  get(name: string, type: MetricType): Stat | undefined {
    return this.stats.get(`${type}:${name}`);
  }
}
