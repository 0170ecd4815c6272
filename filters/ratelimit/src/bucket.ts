// One bucket: a GCRA (generic cell rate algorithm) state in one shared-data slot, and the arithmetic of
// one decision. GCRA is a token bucket written as a single timestamp: the "theoretical arrival time"
// (TAT) of the next request. Every allowed request pushes the TAT one emission interval (period / limit)
// into the future; a request is allowed while the TAT stays within `tolerance` (burst × emission) of now.
// The bucket therefore refills continuously and lazily: nothing runs between requests, and "full" is
// simply `tat <= now`.
//
// Slot value, 32 bytes little-endian:
//   u64 owner   fingerprint of the key that owns the slot
//   i64 tat     theoretical arrival time, monotonic nanoseconds
//   i64 emission the emission interval the TAT was computed with (to convert after a limit change)
//   u64 keyTag  identity of the rule's key definition (a different one makes the slot stale)

import { Rule } from "./config";

export const STATE_BYTES = 32;

export class BucketState {
  constructor(
    public owner: u64,
    public tat: i64,
    public emissionNs: i64,
    public keyTag: u64,
  ) {}

  /** Decodes a slot value; null when it is not one of ours (wrong size). */
  static decode(buf: ArrayBuffer): BucketState | null {
    if (buf.byteLength != STATE_BYTES) return null;
    const p = changetype<usize>(buf);
    return new BucketState(load<u64>(p), load<i64>(p, 8), load<i64>(p, 16), load<u64>(p, 24));
  }

  encode(): ArrayBuffer {
    const buf = new ArrayBuffer(STATE_BYTES);
    const p = changetype<usize>(buf);
    store<u64>(p, this.owner);
    store<i64>(p, this.tat, 8);
    store<i64>(p, this.emissionNs, 16);
    store<u64>(p, this.keyTag, 24);
    return buf;
  }
}

/** The outcome of charging one request to one bucket at time `now`. */
export class Decision {
  allowed: bool = false;
  /** The state to write when allowed. */
  next: BucketState | null = null;
  /** Requests still allowed right after this one (0 when denied). */
  remaining: i64 = 0;
  /** Nanoseconds until the bucket is full again. */
  resetNs: i64 = 0;
  /** When denied: nanoseconds until one request would be allowed. */
  retryAfterNs: i64 = 0;
  /** The slot was owned by another active key, so the two keys share it. */
  collided: bool = false;
}

/**
 * Decides one request of key fingerprint `fp` against the slot's current state `current` (null when the
 * slot does not exist yet or holds something else). Pure: the caller writes `next` with CAS.
 *
 * - A slot written under another key definition, or owned by another key whose bucket is full, starts
 *   fresh for `fp`: a full bucket carries no information, so taking it over is exact.
 * - A slot owned by another key with a partly used bucket is shared (a collision): both keys draw on
 *   one bucket, which can only limit them earlier, never later.
 * - A bucket written with another emission interval (the limit or period changed) keeps its consumption
 *   in requests, converted to the new interval; a bucket never holds more debt than `tolerance`.
 */
export function decide(current: BucketState | null, now: i64, rule: Rule, fp: u64): Decision {
  const d = new Decision();
  let tat = now;
  let owner = fp;
  if (current !== null && current.keyTag == rule.keyTag) {
    let t = current.tat;
    if (t > now && current.emissionNs != rule.emissionNs && current.emissionNs > 0) {
      t = now + <i64>((<f64>(t - now) / <f64>current.emissionNs) * <f64>rule.emissionNs);
    }
    if (t - now > rule.toleranceNs) t = now + rule.toleranceNs;
    if (current.owner == fp) {
      tat = t;
    } else if (t > now) {
      tat = t;
      owner = current.owner;
      d.collided = true;
    }
  }
  const base = tat > now ? tat : now;
  const next = base + rule.emissionNs;
  if (next - now <= rule.toleranceNs) {
    d.allowed = true;
    d.next = new BucketState(owner, next, rule.emissionNs, rule.keyTag);
    d.remaining = (rule.toleranceNs - (next - now)) / rule.emissionNs;
    d.resetNs = next - now;
  } else {
    d.retryAfterNs = next - now - rule.toleranceNs;
    d.resetNs = base - now;
  }
  return d;
}

/** The state after giving back one request charged by `decide` (the request was refused elsewhere). */
export function refunded(current: BucketState, rule: Rule): BucketState {
  return new BucketState(current.owner, current.tat - rule.emissionNs, current.emissionNs, current.keyTag);
}

/** Whole seconds for a header, rounded up (a client waiting that long is sure to be allowed). */
export function ceilSeconds(ns: i64): i64 {
  if (ns <= 0) return 0;
  return (ns + 999_999_999) / 1_000_000_000;
}
