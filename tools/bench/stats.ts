/** Pure statistics for the benchmark: medians, spread, and ratios computed pair by pair per repetition. */

/** Median and spread of one figure over the repetitions of a variant. */
export interface Summary {
  /** Number of finite samples. */
  n: number;
  median: number;
  /** First and third quartile (linear interpolation between order statistics). */
  q1: number;
  q3: number;
  min: number;
  max: number;
  /** Every finite sample, in repetition order (the report shows every run). */
  values: number[];
}

function finite(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x));
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of the finite values, interpolating linearly between order statistics
 * (Hyndman & Fan type 7, what numpy and R use by default). NaN when there is no finite value.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const s = finite(xs).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Summary of the finite values; every field is NaN (and n 0) when there is none. */
export function summarize(xs: readonly number[]): Summary {
  const values = finite(xs);
  if (values.length === 0) return { n: 0, median: NaN, q1: NaN, q3: NaN, min: NaN, max: NaN, values };
  return {
    n: values.length,
    median: quantile(values, 0.5),
    q1: quantile(values, 0.25),
    q3: quantile(values, 0.75),
    min: Math.min(...values),
    max: Math.max(...values),
    values,
  };
}

/**
 * Ratio `a[i] / b[i]` for each repetition i where both were measured (same round of the interleaved run,
 * so drift of the machine cancels), then summarised. A zero or missing denominator skips that repetition.
 */
export function pairRatios(a: readonly number[], b: readonly number[]): Summary {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isFinite(x) && Number.isFinite(y) && y !== 0) out.push(x / y);
  }
  return summarize(out);
}

/** Difference `a[i] - b[i]` per repetition (e.g. added latency in µs), then summarised. */
export function pairDeltas(a: readonly number[], b: readonly number[]): Summary {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) out.push(x - y);
  }
  return summarize(out);
}

/**
 * The fixed rate for the latency-under-load phase: `fraction` of the smallest capacity measured in the
 * warm-up (so no variant is pushed past saturation), rounded down to `step` requests/s, at least `step`.
 */
export function fixedRate(capacities: readonly number[], fraction = 0.5, step = 100): number {
  const c = finite(capacities).filter((x) => x > 0);
  if (c.length === 0) throw new Error("fixedRate: no positive capacity was measured");
  return Math.max(step, Math.floor((Math.min(...c) * fraction) / step) * step);
}

/** CPU time per request in µs from a /proc utime+stime delta in clock ticks. NaN without requests. */
export function cpuMicrosPerRequest(deltaTicks: number, ticksPerSecond: number, requests: number): number {
  if (!(requests > 0) || !(ticksPerSecond > 0)) return NaN;
  return (deltaTicks * 1e6) / ticksPerSecond / requests;
}
