/** The benchmark's result model (what latest.json holds) and the pure computations over it. */
import { HostCallProfile } from "./hostcalls";
import { Machine } from "./machine";
import { Summary, pairDeltas, pairRatios, summarize } from "./stats";
import { VariantKind } from "./variants";

/** One measurement round of one variant. NaN (null in JSON) where a phase failed. */
export interface RunSample {
  /** Repetition index (0-based); rounds are interleaved, so the same index is the same round. */
  rep: number;
  /** Position of the variant within its round (the order rotates from round to round). */
  order: number;
  /** wrk, closed loop, `connections` connections: requests/s at saturation. */
  rps: number;
  /** Non-2xx/3xx responses and socket errors during the saturation phase. */
  satErrors: number;
  /** Envoy CPU µs per request during the saturation phase. */
  satCpuUsPerReq: number;
  /** wrk, one connection: service-time percentiles in µs. */
  c1P50Us: number;
  c1P99Us: number;
  c1MaxUs: number;
  c1Errors: number;
  /** loadgen, open loop at the scenario's fixed rate: latency in µs from release to response end. */
  fixedP50Us: number;
  fixedP99Us: number;
  fixedMaxUs: number;
  fixedAchievedRate: number;
  /** Errors, non-2xx answers and requests that never completed during the fixed-rate phase. */
  fixedErrors: number;
  /** Envoy CPU µs per request at the fixed rate (the primary cost figure). */
  cpuUsPerReq: number;
  /** Envoy VmRSS after this round, KiB. */
  rssKb: number;
}

export const METRICS = [
  "rps",
  "c1P50Us",
  "c1P99Us",
  "c1MaxUs",
  "fixedP50Us",
  "fixedP99Us",
  "fixedMaxUs",
  "cpuUsPerReq",
  "satCpuUsPerReq",
  "rssKb",
] as const;
export type Metric = (typeof METRICS)[number];

export interface VariantResult {
  id: string;
  kind: VariantKind;
  family?: string;
  note?: string;
  /** Size of the .wasm module in bytes (none for native variants). */
  wasmBytes?: number;
  /** Requests/s of the warm-up run (used to pick the fixed rate). */
  warmupRps: number;
  /** Envoy VmRSS right after the warm-up, KiB. */
  rssAfterWarmupKb: number;
  /** Bytes the variant logged per request (Envoy log + native access-log file), a sanity check for the access logs. */
  logBytesPerRequest?: number;
  /** Why a variant has no (or incomplete) measurements. */
  errors: string[];
  runs: RunSample[];
  summary: Record<Metric, Summary>;
}

export interface PairResult {
  a: string;
  b: string;
  relation: string;
  /** Per-round ratios a/b, summarised. */
  rpsRatio: Summary;
  cpuRatio: Summary;
  fixedP99Ratio: Summary;
  /** Per-round differences a-b in µs. */
  c1P50DeltaUs: Summary;
  cpuDeltaUs: Summary;
}

export interface ScenarioResult {
  id: string;
  label: string;
  /** Requests/s of the fixed-rate phase, the same for every variant. */
  fixedRate: number;
  variants: VariantResult[];
  pairs: PairResult[];
}

export interface Settings {
  reps: number;
  warmupS: number;
  saturationS: number;
  c1S: number;
  fixedS: number;
  /** wrk connections at saturation. */
  connections: number;
  /** loadgen keep-alive connections at the fixed rate. */
  fixedConnections: number;
  fixedFraction: number;
  /** CPU lists: Envoy, and the load generator (plus go-httpbin and this runner). */
  envoyCpu: string | null;
  loadCpu: string | null;
  requestPath: string;
  requestHeaders: string[];
}

export interface BenchResult {
  schema: 1;
  mode: "full" | "smoke" | "partial";
  startedAt: string;
  finishedAt: string;
  /** `isLoaded(machine)`: other work was running when the benchmark started. */
  loaded: boolean;
  command: string;
  machine: Machine;
  settings: Settings;
  scenarios: ScenarioResult[];
  /** Host calls per benchmark request of each Wasm variant, counted in the emulator. */
  hostCalls: HostCallProfile[];
}

/** One figure of a variant, indexed by repetition (NaN where that round has no sample). */
export function series(v: VariantResult, metric: Exclude<Metric, never>, reps: number): number[] {
  const out = new Array<number>(reps).fill(NaN);
  for (const r of v.runs) if (r.rep >= 0 && r.rep < reps) out[r.rep] = r[metric];
  return out;
}

export function summarizeRuns(runs: RunSample[]): Record<Metric, Summary> {
  const s = {} as Record<Metric, Summary>;
  for (const m of METRICS) s[m] = summarize(runs.map((r) => r[m]));
  return s;
}

/** Ratios and differences of `a` against `b`, round by round. */
export function comparePair(a: VariantResult, b: VariantResult, relation: string, reps: number): PairResult {
  const s = (v: VariantResult, m: Metric) => series(v, m, reps);
  return {
    a: a.id,
    b: b.id,
    relation,
    rpsRatio: pairRatios(s(a, "rps"), s(b, "rps")),
    cpuRatio: pairRatios(s(a, "cpuUsPerReq"), s(b, "cpuUsPerReq")),
    fixedP99Ratio: pairRatios(s(a, "fixedP99Us"), s(b, "fixedP99Us")),
    c1P50DeltaUs: pairDeltas(s(a, "c1P50Us"), s(b, "c1P50Us")),
    cpuDeltaUs: pairDeltas(s(a, "cpuUsPerReq"), s(b, "cpuUsPerReq")),
  };
}

/** The plugin whose CPU per request is the highest multiple of its native equivalent's, if any. */
export function slowestVsNative(s: ScenarioResult): PairResult | undefined {
  const kinds = new Map(s.variants.map((v) => [v.id, v.kind]));
  let worst: PairResult | undefined;
  for (const p of s.pairs) {
    if (p.relation !== "vs native" || kinds.get(p.a) !== "plugin") continue;
    if (!Number.isFinite(p.cpuRatio.median)) continue;
    if (!worst || p.cpuRatio.median > worst.cpuRatio.median) worst = p;
  }
  return worst;
}

/**
 * True when the machine was busy before the run: a 1-minute load average above 1 at the start. The load at
 * the end is not a signal: the benchmark itself keeps both cores busy (Envoy on one, the load generator on
 * the other), so it is always near 2 after a full run.
 */
export function isLoaded(machine: { loadStart: number }): boolean {
  return machine.loadStart > 1;
}
