// b3: B3 trace-header propagation for Envoy (proxy-wasm ABI 0.2.1).
//
// On each request it reads the trace context (precedence: `b3` > `x-b3-*` > `traceparent` with the
// tracestate `b3` member when `w3c` is on > the tracestate `b3` member alone), then, by `mode`:
//   propagate  forwards it as it came, normalised; decides nothing
//   join       shares its span (B3's model) and decides a deferred sampling state
//   child      new span id, the incoming span id as parent; decides a deferred sampling state
// With no context it mints one (`mint`: 128-bit or 64-bit trace id, from WASI random_get) whose sampling
// state comes from `sampling` (force header > first matching rule > rate > defer). A malformed context
// is handled by `malformed` (restart | pass | strip | reject), counted per policy. It writes the context
// upstream in the `output` encoding(s) (plus traceparent/tracestate with `w3c`), changing only headers
// whose value differs, and exposes it as filter state `wasmgate.*`, an optional request header and an
// optional response header. See README.md for the configuration and RATIONALE.md for the choices.

import {
  Action,
  Counter,
  Header,
  HttpContext,
  LogLevel,
  RequestInfo,
  RootContext,
  bytesToHex,
  headersOf,
  isAllZero,
  log,
  mix64,
  randomBytes,
  randomU64,
  registerRootContext,
  setPropertyString,
} from "../../assembly";
export * from "../../assembly/exports";
import { B3Config, Malformed, Mode, Output, TRACE_HEADERS } from "./src/config";
import {
  Parsed,
  Sampling,
  Source,
  TraceContext,
  TraceParent,
  encodeSingle,
  encodeTraceParent,
  encodeTraceState,
  fromW3c,
  low64,
  multiSampled,
  parseMulti,
  parseSingle,
  parseTraceParent,
  samplingName,
  traceStateB3,
} from "./src/trace";

// Process-wide counters (`wasmcustom.b3_*` in Envoy's /stats).
const extracted = new Counter("b3_extracted_total");
const minted = new Counter("b3_minted_total");
const malformedBy: Array<Counter> = [
  new Counter("b3_malformed_restart_total"),
  new Counter("b3_malformed_pass_total"),
  new Counter("b3_malformed_strip_total"),
  new Counter("b3_malformed_reject_total"),
];

// Slots of a HeaderSnapshot: the trace headers in TRACE_HEADERS order, then the configured headers.
const H_B3 = 0;
const H_TRACE_ID = 1;
const H_SPAN_ID = 2;
const H_PARENT_ID = 3;
const H_SAMPLED = 4;
const H_FLAGS = 5;
const H_TRACEPARENT = 6;
const H_TRACESTATE = 7;
const H_REQUEST = 8;
const H_FORCE = 9;
const SLOTS = 10;

/** The first value and the count of every header the plugin reads, from one `getRequestHeaders()`. */
class HeaderSnapshot {
  first: Array<string | null> = new Array<string | null>(SLOTS);
  count: Array<i32> = new Array<i32>(SLOTS);
  /** Every tracestate value joined with "," (W3C: repeated headers form one list), or null. */
  tracestate: string | null = null;

  constructor(headers: Array<Header>, names: Array<string>) {
    for (let i = 0; i < headers.length; i++) {
      const h = unchecked(headers[i]);
      for (let k = 0; k < SLOTS; k++) {
        if (h.name != unchecked(names[k])) continue;
        if (unchecked(this.count[k]) == 0) unchecked((this.first[k] = h.value));
        unchecked((this.count[k] = unchecked(this.count[k]) + 1));
        if (k == H_TRACESTATE) {
          const ts = this.tracestate;
          this.tracestate = ts === null ? h.value : ts + "," + h.value;
        }
      }
    }
  }

  get(slot: i32): string | null {
    return unchecked(this.first[slot]);
  }

  has(slot: i32): bool {
    return unchecked(this.count[slot]) > 0;
  }
}

class B3Root extends RootContext {
  config: B3Config = new B3Config();
  /** Header names of the snapshot slots ("" = slot unused). */
  names: Array<string> = new Array<string>();

  override onConfigure(configurationSize: u32): bool {
    const c = B3Config.parse(this.getPluginConfiguration());
    if (c === null) return false;
    this.config = c;
    const names = TRACE_HEADERS.slice(0);
    names.push(c.requestHeader);
    names.push(c.forceHeader);
    this.names = names;
    log.info(
      "b3: configured mode=" +
        ["propagate", "join", "child"][c.mode] +
        " output=" +
        ["preserve", "multi", "single", "both"][c.output] +
        " w3c=" +
        (c.w3c ? "true" : "false") +
        " malformed=" +
        ["restart", "pass", "strip", "reject"][c.malformed],
    );
    return true;
  }

  override newHttpContext(contextId: u32): HttpContext | null {
    return new B3Stream(contextId, this);
  }
}

class B3Stream extends HttpContext {
  /** The trace id forwarded upstream, for the response header ("" when none). */
  traceId: string = "";
  private info: RequestInfo | null = null;

  get config(): B3Config {
    return (this.root as B3Root).config;
  }

  override onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const cfg = this.config;
    const snap = new HeaderSnapshot(this.getRequestHeaders(), (this.root as B3Root).names);

    // 1. Extract: the first source present decides, valid or not.
    let source = Source.None;
    let parsed = new Parsed();
    if (snap.has(H_B3)) {
      source = Source.Single;
      parsed = parseSingle(snap.get(H_B3)!, "b3");
    } else if (
      snap.has(H_TRACE_ID) ||
      snap.has(H_SPAN_ID) ||
      snap.has(H_PARENT_ID) ||
      snap.has(H_SAMPLED) ||
      snap.has(H_FLAGS)
    ) {
      source = Source.Multi;
      parsed = parseMulti(
        snap.get(H_TRACE_ID),
        snap.get(H_SPAN_ID),
        snap.get(H_PARENT_ID),
        snap.get(H_SAMPLED),
        snap.get(H_FLAGS),
      );
    } else if (cfg.w3c && snap.has(H_TRACEPARENT)) {
      source = Source.W3c;
      const tp = new TraceParent();
      parsed.error = parseTraceParent(snap.get(H_TRACEPARENT)!, tp);
      if (parsed.error.length == 0) {
        const ts = snap.tracestate;
        parsed.ctx = fromW3c(tp, ts === null ? null : traceStateB3(ts));
      }
    } else if (snap.tracestate !== null) {
      const member = traceStateB3(snap.tracestate!);
      if (member !== null) {
        source = Source.TraceState;
        parsed = parseSingle(member, "tracestate b3");
      }
    }

    // 2. Malformed input: the configured policy.
    let incoming = parsed.ctx;
    let restarted = false;
    if (parsed.error.length > 0) {
      unchecked(malformedBy[cfg.malformed]).increment();
      if (log.enabled(LogLevel.Debug)) log.debug("b3: malformed trace context: " + parsed.error);
      if (cfg.malformed == Malformed.Pass) {
        // Trace headers go through untouched; the correlation header is ours, so a client cannot set it.
        if (snap.has(H_REQUEST)) this.removeRequestHeader(cfg.requestHeader);
        return Action.Continue;
      }
      if (cfg.malformed == Malformed.Reject) {
        this.sendLocalResponse(
          400,
          "malformed trace context: " + parsed.error + "\n",
          headersOf(["content-type", "text/plain"]),
          "b3_malformed",
        );
        return Action.Pause;
      }
      if (cfg.malformed == Malformed.Strip) {
        this.write(snap, null, source, true, false);
        return Action.Continue;
      }
      restarted = true; // Restart: as if nothing had arrived
    } else if (incoming !== null && incoming.hasIds) {
      extracted.increment();
    }

    // 3. Decide the context to forward, and write it.
    const ctx = this.resolve(incoming, snap);
    this.write(snap, ctx, source, false, restarted);
    if (ctx !== null) {
      this.traceId = ctx.traceId;
      if (cfg.properties) expose(ctx);
      if (log.enabled(LogLevel.Debug)) log.debug("b3: forwarding " + describe(ctx));
    }
    return Action.Continue;
  }

  override onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    const name = this.config.responseHeader;
    if (name.length > 0 && this.traceId.length > 0) this.replaceResponseHeader(name, this.traceId);
    return Action.Continue;
  }

  /** The context to forward for an incoming one (null: none arrived, or a restart). */
  private resolve(incoming: TraceContext | null, snap: HeaderSnapshot): TraceContext | null {
    const cfg = this.config;
    if (incoming === null) {
      if (cfg.mintBits > 0) {
        const ctx = this.mint(Sampling.Defer);
        ctx.sampling = this.decide(ctx.traceId, snap);
        return ctx;
      }
      const decision = this.decide("", snap);
      if (decision == Sampling.Defer) return null;
      const only = new TraceContext(); // minting off: the decision travels alone (`b3: 0`)
      only.sampling = decision;
      return only;
    }
    if (cfg.mode == Mode.Propagate) return incoming;
    if (!incoming.hasIds) {
      // A sampling state alone: a tracer taking part needs ids, so start a root that keeps the decision.
      return cfg.mintBits > 0 ? this.mint(incoming.sampling) : incoming;
    }
    const ctx = incoming.clone();
    if (ctx.sampling == Sampling.Defer) ctx.sampling = this.decide(ctx.traceId, snap);
    if (cfg.mode == Mode.Child) {
      ctx.parentId = incoming.spanId;
      ctx.spanId = randomId(8);
    }
    return ctx;
  }

  /** A new root context (no parent) with a random trace id of the configured width. */
  private mint(sampling: Sampling): TraceContext {
    const ctx = new TraceContext();
    const traceBytes = this.config.mintBits / 8;
    const hex = bytesToHex(randomBytes(traceBytes + 8));
    ctx.traceId = nonZero(hex.substring(0, traceBytes * 2));
    ctx.spanId = nonZero(hex.substring(traceBytes * 2));
    ctx.sampling = sampling;
    minted.increment();
    return ctx;
  }

  /** This proxy's sampling decision: force header, then the first matching rule, then the rate. */
  private decide(traceId: string, snap: HeaderSnapshot): Sampling {
    const cfg = this.config;
    if (cfg.forceHeader.length > 0 && snap.has(H_FORCE)) return Sampling.Debug;
    if (cfg.hasRules) {
      if (this.info === null) this.info = new RequestInfo(this);
      const info = this.info!;
      for (let i = 0; i < cfg.rules.length; i++) {
        const rule = unchecked(cfg.rules[i]);
        if (!rule.match.matches(info)) continue;
        return rule.decision >= 0 ? <Sampling>rule.decision : draw(traceId, rule.rate);
      }
    }
    return cfg.rate >= 0 ? draw(traceId, cfg.rate) : Sampling.Defer;
  }

  /**
   * Makes the request carry exactly `ctx` in the configured encodings, touching only headers whose
   * value changes (each change re-selects the route in Envoy). `strip` removes every managed header.
   */
  private write(
    snap: HeaderSnapshot,
    ctx: TraceContext | null,
    source: Source,
    strip: bool,
    restarted: bool,
  ): void {
    const cfg = this.config;
    const want = new Array<string | null>(SLOTS);
    const managed = new Array<bool>(SLOTS);
    for (let i = H_B3; i <= H_FLAGS; i++) unchecked((managed[i] = true));
    if (ctx !== null) {
      const out = cfg.output;
      const preserve = out == Output.Preserve;
      if (out == Output.Single || out == Output.Both || (preserve && source == Source.Single)) {
        const single = encodeSingle(ctx);
        if (single.length > 0) unchecked((want[H_B3] = single));
      }
      if (out == Output.Multi || out == Output.Both || (preserve && source != Source.Single)) {
        if (ctx.hasIds) {
          unchecked((want[H_TRACE_ID] = ctx.traceId));
          unchecked((want[H_SPAN_ID] = ctx.spanId));
          if (ctx.parentId.length > 0) unchecked((want[H_PARENT_ID] = ctx.parentId));
        }
        const sampled = multiSampled(ctx);
        if (sampled.length > 0) unchecked((want[H_SAMPLED] = sampled));
        if (ctx.sampling == Sampling.Debug) unchecked((want[H_FLAGS] = "1"));
      }
    }
    if (cfg.w3c) {
      if (ctx !== null && ctx.hasIds) {
        // A malformed traceparent invalidates its tracestate too (W3C), so a restart drops it.
        const keep: string | null = restarted && source == Source.W3c ? null : snap.tracestate;
        unchecked((managed[H_TRACEPARENT] = true));
        unchecked((managed[H_TRACESTATE] = true));
        unchecked((want[H_TRACEPARENT] = encodeTraceParent(ctx)));
        unchecked((want[H_TRACESTATE] = encodeTraceState(ctx, keep)));
      } else if (strip || (restarted && source == Source.W3c)) {
        unchecked((managed[H_TRACEPARENT] = true));
        unchecked((managed[H_TRACESTATE] = true));
      }
    }
    if (cfg.requestHeader.length > 0) {
      unchecked((managed[H_REQUEST] = true));
      if (ctx !== null && ctx.hasIds) unchecked((want[H_REQUEST] = ctx.traceId));
    }
    const names = (this.root as B3Root).names;
    for (let i = 0; i < SLOTS; i++) {
      if (!unchecked(managed[i])) continue;
      const w = unchecked(want[i]);
      const n = unchecked(snap.count[i]);
      if (w === null) {
        if (n > 0) this.removeRequestHeader(unchecked(names[i]));
      } else if (n != 1 || snap.get(i) != w) {
        this.replaceRequestHeader(unchecked(names[i]), w);
      }
    }
  }
}

/** Accept with probability `rate`, drawn from the trace id (so every hop with the same rate agrees). */
function draw(traceId: string, rate: f64): Sampling {
  const x = traceId.length > 0 ? mix64(low64(traceId)) : randomU64();
  return <f64>(x >> 11) < rate * 9007199254740992.0 ? Sampling.Accept : Sampling.Deny;
}

/** `bytes` random bytes as hex, never all zeros (an all-zero id is invalid). */
function randomId(bytes: i32): string {
  return nonZero(bytesToHex(randomBytes(bytes)));
}

function nonZero(hex: string): string {
  return isAllZero(hex) ? hex.substring(0, hex.length - 1) + "1" : hex;
}

/**
 * Filter state for the other filters of this stream: `wasmgate.trace_id`, `wasmgate.span_id`,
 * `wasmgate.parent_span_id`, `wasmgate.sampling` (defer|deny|accept|debug) and `wasmgate.b3` (the single
 * form). Each is one path segment: Envoy stores `wasm.<path>` and resolves only the first segment of a
 * `get_property` path against filter state, so `["wasmgate", "trace_id"]` could be set but never read.
 */
function expose(ctx: TraceContext): void {
  if (ctx.hasIds) {
    setPropertyString(["wasmgate.trace_id"], ctx.traceId);
    setPropertyString(["wasmgate.span_id"], ctx.spanId);
    if (ctx.parentId.length > 0) setPropertyString(["wasmgate.parent_span_id"], ctx.parentId);
  }
  setPropertyString(["wasmgate.sampling"], samplingName(ctx.sampling));
  const single = encodeSingle(ctx);
  if (single.length > 0) setPropertyString(["wasmgate.b3"], single);
}

function describe(ctx: TraceContext): string {
  const s = encodeSingle(ctx);
  return s.length > 0 ? "b3=" + s : "nothing (deferred, no ids)";
}

registerRootContext((contextId: u32): RootContext => new B3Root(contextId), "b3");
