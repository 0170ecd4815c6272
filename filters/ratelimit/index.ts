// ratelimit: local rate limiting for Envoy, shared by every worker VM of one Envoy process.
//
// Each rule of `rules[]` that matches a request charges one bucket: a GCRA state (bucket.ts) kept in
// Envoy's shared data, in a fixed table of hashed slots per rule, updated with compare-and-swap so that
// all worker threads (VMs with the same vm_id) enforce one limit. Refill is lazy, from the monotonic
// clock: there is no timer. A request is refused when any enforcing rule refuses it, and then no bucket
// is charged; shadow rules decide and count but only tag the upstream request. See README.md and
// RATIONALE.md.

import {
  Action,
  Counter,
  Header,
  HttpContext,
  LogLevel,
  RequestInfo,
  RootContext,
  attributes,
  fnv1a64,
  getSharedData,
  log,
  mix64,
  monotonicNanos,
  randomBytes,
  registerRootContext,
  setSharedData,
} from "../../assembly";
import { BucketState, Decision, ceilSeconds, decide, refunded } from "./src/bucket";
import { Config, HeaderFormat, OnMissing, Rule, parseConfig } from "./src/config";
import { buildKey } from "./src/keys";
export * from "../../assembly/exports";

/**
 * The CAS stamp used to create a slot. Envoy writes a missing key whatever the cas, but compares a
 * non-zero cas with an existing entry's stamp. Stamps come from one process-wide counter (1, 2, 3, ...),
 * so u32.MAX matches no entry until four billion writes have happened; creating with it means "write
 * only if still absent", where cas 0 would silently overwrite a slot another worker created meanwhile
 * (and hand out one extra request per racing worker).
 */
const CREATE_CAS: u32 = 0xffffffff;

/** The key of requests without one, under `onMissingKey: "shared"` (real keys start with a digit). */
const MISSING_KEY = "\u0000missing";

/** Per-rule counters, `<statPrefix>.<rule>.<event>` (Envoy /stats: `wasmcustom.<...>`). */
class RuleStats {
  allowed: Counter;
  limited: Counter;
  shadowLimited: Counter;
  contentionAllowed: Counter;
  contentionDenied: Counter;
  collisions: Counter;
  casConflicts: Counter;
  missingKey: Counter;

  constructor(prefix: string) {
    this.allowed = new Counter(prefix + ".allowed");
    this.limited = new Counter(prefix + ".limited");
    this.shadowLimited = new Counter(prefix + ".shadow_limited");
    this.contentionAllowed = new Counter(prefix + ".contention_allowed");
    this.contentionDenied = new Counter(prefix + ".contention_denied");
    this.collisions = new Counter(prefix + ".collisions");
    this.casConflicts = new Counter(prefix + ".cas_conflicts");
    this.missingKey = new Counter(prefix + ".missing_key");
  }
}

class RateLimitRoot extends RootContext {
  config: Config = new Config();
  stats: Array<RuleStats> = new Array<RuleStats>();
  /** Hash seed shared by all workers (stored in shared data), so slots are not predictable. */
  salt: u64 = 0;
  anyShadow: bool = false;

  override onConfigure(size: u32): bool {
    const cfg = new Config();
    const reader = parseConfig(this.getPluginConfiguration(), cfg);
    if (!reader.ok) {
      reader.logErrors("ratelimit");
      return false;
    }
    const pluginName = attributes.pluginName();
    const scope = "ratelimit/" + (pluginName === null ? "" : pluginName) + "/";
    this.salt = sharedSalt(scope + "salt");
    for (let i = 0; i < cfg.rules.length; i++) {
      const rule = unchecked(cfg.rules[i]);
      rule.slotPrefix = scope + rule.name + "/";
      this.stats.push(new RuleStats(cfg.statPrefix + "." + rule.name));
      if (rule.shadow) this.anyShadow = true;
    }
    this.config = cfg;
    log.info("ratelimit: configured " + cfg.rules.length.toString() + " rule(s)");
    return true;
  }

  override newHttpContext(id: u32): HttpContext | null {
    return new RateLimitStream(id, this);
  }
}

/** The salt in shared data, created by whichever worker gets there first. */
function sharedSalt(key: string): u64 {
  let entry = getSharedData(key);
  if (entry === null) {
    const fresh = randomBytes(8);
    if (setSharedData(key, fresh, CREATE_CAS)) return load<u64>(changetype<usize>(fresh));
    entry = getSharedData(key);
  }
  if (entry === null) return 0;
  const v = entry.value;
  return v.byteLength >= 8 ? load<u64>(changetype<usize>(v)) : fnv1a64(String.UTF8.decode(v, false));
}

const enum Outcome {
  Charged = 0,
  Denied = 1,
  ContentionAllowed = 2,
  ContentionDenied = 3,
}

/** One matching rule's bucket for one request. */
class Charge {
  /** The slot as last read: its state (null when absent or not ours), stamp, and whether it exists. */
  current: BucketState | null = null;
  cas: u32 = 0;
  exists: bool = false;
  decision: Decision = new Decision();
  charged: bool = false;
  shadowLimited: bool = false;
  contention: bool = false;

  constructor(
    public rule: Rule,
    public stats: RuleStats,
    public slotKey: string,
    public fp: u64,
  ) {}

  read(): void {
    const e = getSharedData(this.slotKey);
    this.exists = e !== null;
    this.cas = e === null ? 0 : e.cas;
    this.current = e === null ? null : BucketState.decode(e.value);
  }
}

class RateLimitStream extends HttpContext {
  /** Rate-limit headers for the response when `response.onAllowed` is set. */
  private allowedHeaders: Array<Header> | null = null;

  override onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.root as RateLimitRoot;
    const cfg = root.config;
    const info = new RequestInfo(this);
    const charges = new Array<Charge>();
    let shadowNames = "";

    for (let i = 0; i < cfg.rules.length; i++) {
      const rule = unchecked(cfg.rules[i]);
      if (!rule.match.matches(info)) continue;
      const stats = unchecked(root.stats[i]);
      let key = buildKey(rule.key, this, info);
      if (key === null) {
        stats.missingKey.increment();
        if (rule.onMissing == OnMissing.Skip) continue;
        if (rule.onMissing == OnMissing.Reject) {
          if (!rule.shadow) return this.rejectMissingKey(rule);
          stats.shadowLimited.increment();
          shadowNames = appendName(shadowNames, rule.name);
          continue;
        }
        key = MISSING_KEY;
      }
      const h = mix64(fnv1a64(key, root.salt));
      const slot = rule.slots == 1 ? <u64>0 : h % <u64>rule.slots;
      const c = new Charge(rule, stats, rule.slotPrefix + slot.toString(), h);
      c.read();
      charges.push(c);
    }

    // Pass 1: decide on what was read. A refusal by an enforcing rule ends here, with nothing written.
    const now = <i64>monotonicNanos();
    let refusal: Charge | null = null;
    for (let i = 0; i < charges.length; i++) {
      const c = unchecked(charges[i]);
      c.decision = decide(c.current, now, c.rule, c.fp);
      if (c.decision.allowed) continue;
      if (c.rule.shadow) c.shadowLimited = true;
      else if (refusal === null || c.decision.retryAfterNs > refusal.decision.retryAfterNs) refusal = c;
    }
    if (refusal !== null) {
      countRefusal(charges);
      return this.reject(refusal, cfg);
    }

    // Pass 2: charge every bucket with CAS. A bucket that filled up since pass 1 refuses the request,
    // and what was already charged for it is given back.
    for (let i = 0; i < charges.length; i++) {
      const c = unchecked(charges[i]);
      if (c.shadowLimited) continue;
      const outcome = this.charge(c, cfg);
      if (outcome == Outcome.Charged) continue;
      if (outcome == Outcome.ContentionAllowed) {
        c.contention = true;
        continue;
      }
      if (outcome == Outcome.Denied && c.rule.shadow) {
        c.shadowLimited = true;
        continue;
      }
      for (let j = 0; j < i; j++) if (unchecked(charges[j]).charged) this.refund(unchecked(charges[j]), cfg);
      countRefusal(charges);
      if (outcome == Outcome.ContentionDenied) {
        c.stats.contentionDenied.increment();
        return this.rejectContention(cfg);
      }
      return this.reject(c, cfg);
    }

    // Allowed.
    let tightest: Charge | null = null;
    for (let i = 0; i < charges.length; i++) {
      const c = unchecked(charges[i]);
      if (c.decision.collided) c.stats.collisions.increment();
      if (c.shadowLimited) {
        c.stats.shadowLimited.increment();
        shadowNames = appendName(shadowNames, c.rule.name);
      } else if (c.contention) {
        c.stats.contentionAllowed.increment();
      } else {
        c.stats.allowed.increment();
        if (!c.rule.shadow && (tightest === null || c.decision.remaining < tightest.decision.remaining))
          tightest = c;
      }
    }
    if (root.anyShadow) {
      if (shadowNames.length > 0) this.replaceRequestHeader(cfg.shadowHeader, shadowNames);
      else this.removeRequestHeader(cfg.shadowHeader);
    }
    if (cfg.headersOnAllowed && tightest !== null) {
      this.allowedHeaders = rateLimitHeaders(tightest.rule, tightest.decision, cfg, false);
    }
    if (log.enabled(LogLevel.Debug)) {
      log.debug(
        "ratelimit: allowed " +
          info.method +
          " " +
          info.path +
          " (" +
          charges.length.toString() +
          " bucket(s))",
      );
    }
    return Action.Continue;
  }

  override onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    const headers = this.allowedHeaders;
    if (headers !== null) {
      for (let i = 0; i < headers.length; i++) {
        const h = unchecked(headers[i]);
        this.replaceResponseHeader(h.name, h.value);
      }
    }
    return Action.Continue;
  }

  /** Charges `c` with CAS, re-reading and re-deciding on every conflict, at most `maxRetries` times. */
  private charge(c: Charge, cfg: Config): Outcome {
    for (let attempt = 0; attempt <= cfg.maxRetries; attempt++) {
      if (attempt > 0) {
        c.read();
        c.decision = decide(c.current, <i64>monotonicNanos(), c.rule, c.fp);
      }
      if (!c.decision.allowed) return Outcome.Denied;
      if (setSharedData(c.slotKey, c.decision.next!.encode(), c.exists ? c.cas : CREATE_CAS)) {
        c.charged = true;
        return Outcome.Charged;
      }
      c.stats.casConflicts.increment();
    }
    if (log.enabled(LogLevel.Warn)) {
      const n = (cfg.maxRetries + 1).toString();
      log.warn("ratelimit: rule " + c.rule.name + ": gave up after " + n + " CAS conflicts");
    }
    return cfg.denyOnContention ? Outcome.ContentionDenied : Outcome.ContentionAllowed;
  }

  /** Gives back the request charged to `c` (best effort: abandoned after `maxRetries` conflicts). */
  private refund(c: Charge, cfg: Config): void {
    for (let attempt = 0; attempt <= cfg.maxRetries; attempt++) {
      c.read();
      const cur = c.current;
      if (cur === null || cur.keyTag != c.rule.keyTag) return;
      if (setSharedData(c.slotKey, refunded(cur, c.rule).encode(), c.cas)) return;
    }
  }

  private reject(c: Charge, cfg: Config): Action {
    this.sendLocalResponse(
      cfg.status,
      cfg.body,
      rateLimitHeaders(c.rule, c.decision, cfg, true),
      "ratelimit_limited",
    );
    if (log.enabled(LogLevel.Debug)) log.debug("ratelimit: rule " + c.rule.name + " limited the request");
    return Action.Pause;
  }

  private rejectContention(cfg: Config): Action {
    const headers = new Array<Header>();
    if (cfg.retryAfter) headers.push(new Header("retry-after", "1"));
    this.sendLocalResponse(cfg.status, cfg.body, headers, "ratelimit_contention");
    return Action.Pause;
  }

  private rejectMissingKey(rule: Rule): Action {
    const cfg = (this.root as RateLimitRoot).config;
    this.sendLocalResponse(
      cfg.missingKeyStatus,
      "rate limit key missing\n",
      new Array<Header>(),
      "ratelimit_key_missing",
    );
    if (log.enabled(LogLevel.Debug)) log.debug("ratelimit: rule " + rule.name + ": request has no key");
    return Action.Pause;
  }
}

/**
 * Counters of a refused request: `limited` for every enforcing rule that refused it, `shadow_limited` for
 * every shadow rule that would have; the rules that allowed it count nothing (they were not charged).
 */
function countRefusal(charges: Array<Charge>): void {
  for (let i = 0; i < charges.length; i++) {
    const c = unchecked(charges[i]);
    if (c.decision.collided) c.stats.collisions.increment();
    if (c.shadowLimited) c.stats.shadowLimited.increment();
    else if (!c.decision.allowed && !c.contention) c.stats.limited.increment();
  }
}

function appendName(list: string, name: string): string {
  return list.length == 0 ? name : list + "," + name;
}

/** The configured rate-limit headers for `rule`'s decision (`Retry-After` too when `refused`). */
function rateLimitHeaders(rule: Rule, d: Decision, cfg: Config, refused: bool): Array<Header> {
  const out = new Array<Header>();
  const limit = rule.limit.toString();
  const remaining = d.remaining.toString();
  const reset = ceilSeconds(d.resetNs).toString();
  if (cfg.format == HeaderFormat.Draft03 || cfg.format == HeaderFormat.Both) {
    out.push(new Header("x-ratelimit-limit", limit));
    out.push(new Header("x-ratelimit-remaining", remaining));
    out.push(new Header("x-ratelimit-reset", reset));
  }
  if (cfg.format == HeaderFormat.Ietf || cfg.format == HeaderFormat.Both) {
    const name = '"' + rule.name + '"';
    out.push(new Header("ratelimit-policy", name + ";q=" + limit + ";w=" + rule.periodSeconds.toString()));
    out.push(new Header("ratelimit", name + ";r=" + remaining + ";t=" + reset));
  }
  if (refused && cfg.retryAfter) {
    const s = ceilSeconds(d.retryAfterNs);
    out.push(new Header("retry-after", (s < 1 ? 1 : s).toString()));
  }
  return out;
}

registerRootContext((id: u32): RootContext => new RateLimitRoot(id), "ratelimit");
