// The b3 plugin in the host emulator: the compiled build/b3.wasm, driven as Envoy drives it. Tables are
// built from the B3 spec (github.com/openzipkin/b3-propagation) and W3C Trace Context; randomness is a
// counter (`seq`) so minted ids are exact.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { Host, HostOptions } from "../../tools/emulator";
import type { HeaderList } from "../../tools/emulator";
import { validateAgainstSchema, type Schema } from "../../tools/cli/json-schema";
import { filterWasm } from "../../test/support/wasm";

const WASM = filterWasm("b3");

// Ids from the spec's examples.
const T = "80f198ee56343ba864fe8b2a57d3eff7"; // 128-bit trace id
const T64 = "64fe8b2a57d3eff7"; // 64-bit trace id
const S = "e457b5a2e4d86bd1"; // span id
const P = "05e3ac9a4f6e3b90"; // parent span id

// What `seq()` makes the plugin mint: randomBytes(24) = 01..18 → 128-bit trace id + span id;
// randomBytes(16) for a 64-bit trace; randomBytes(8) for a child span id.
const M128 = "0102030405060708090a0b0c0d0e0f10";
const MSPAN = "1112131415161718";
const M64 = "0102030405060708";
const M64SPAN = "090a0b0c0d0e0f10";
const CHILD = "0102030405060708";

const TRACE_HEADERS = [
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "traceparent",
  "tracestate",
];

/** Deterministic random_get: consecutive bytes 1, 2, 3, ... */
function seq(): (n: number) => Uint8Array {
  let next = 1;
  return (n) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

function start(pluginConfig: unknown = {}, opts: Partial<HostOptions> = {}): Promise<Host> {
  return Host.start({ wasm: WASM, rootId: "b3", pluginConfig, random: seq(), trace: false, ...opts });
}

/** The trace headers (plus `extra`) of a header list; a repeated header becomes an array. */
function pick(headers: HeaderList | null, extra: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of headers ?? []) {
    if (!TRACE_HEADERS.includes(k) && !extra.includes(k)) continue;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** splitmix64 and the plugin's rate draw, to predict hash-based sampling decisions. */
const MASK = (1n << 64n) - 1n;
function mix64(x: bigint): bigint {
  x ^= x >> 30n;
  x = (x * 0xbf58476d1ce4e5b9n) & MASK;
  x ^= x >> 27n;
  x = (x * 0x94d049bb133111ebn) & MASK;
  x ^= x >> 31n;
  return x;
}
function sampledAt(traceId: string, rate: number): boolean {
  return Number(mix64(BigInt("0x" + traceId.slice(-16))) >> 11n) < rate * 2 ** 53;
}

type Headers = Record<string, string> | HeaderList;

interface Case {
  name: string;
  config?: unknown;
  path?: string;
  headers: Headers;
  /** Every trace header upstream after the plugin (absent names must be absent). */
  want: Record<string, string | string[]>;
}

async function run(c: { config?: unknown; path?: string; headers: Headers }) {
  const host = await start(c.config ?? {});
  expect(host.started).toBe(true);
  const s = host.exchange({ path: c.path ?? "/", headers: c.headers });
  expect(host.failed()).toBe(false);
  return { host, s };
}

// --- The spec table ---------------------------------------------------------------------------------

const SPEC_CASES: Case[] = [
  // Every sampling state, multi-header form (propagate: forwarded as it came).
  {
    name: "multi accept",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "multi deny keeps its ids",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" },
  },
  {
    name: "multi debug is x-b3-flags: 1 without x-b3-sampled",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" },
  },
  {
    name: "multi defer stays deferred",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S },
    want: { "x-b3-traceid": T, "x-b3-spanid": S },
  },
  {
    name: "multi debug with x-b3-sampled: 1 drops the redundant sampled header",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1", "x-b3-flags": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" },
  },
  {
    name: "multi debug wins over x-b3-sampled: 0",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0", "x-b3-flags": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" },
  },
  {
    name: "multi x-b3-flags: 0 is not debug",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1", "x-b3-flags": "0" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "multi sampling-only deny (x-b3-sampled: 0, no ids)",
    headers: { "x-b3-sampled": "0" },
    want: { "x-b3-sampled": "0" },
  },
  {
    name: "multi sampling-only accept",
    headers: { "x-b3-sampled": "1" },
    want: { "x-b3-sampled": "1" },
  },
  {
    name: "multi sampling-only debug",
    headers: { "x-b3-flags": "1" },
    want: { "x-b3-flags": "1" },
  },
  {
    name: "multi lenient x-b3-sampled: true normalises to 1",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "true" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "multi lenient x-b3-sampled: False normalises to 0",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "False" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" },
  },
  {
    name: "multi child span keeps its parent",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P, "x-b3-sampled": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P, "x-b3-sampled": "1" },
  },
  // Every sampling state, single-header form.
  { name: "single accept", headers: { b3: `${T}-${S}-1` }, want: { b3: `${T}-${S}-1` } },
  { name: "single deny keeps its ids", headers: { b3: `${T}-${S}-0` }, want: { b3: `${T}-${S}-0` } },
  { name: "single debug", headers: { b3: `${T}-${S}-d` }, want: { b3: `${T}-${S}-d` } },
  { name: "single defer", headers: { b3: `${T}-${S}` }, want: { b3: `${T}-${S}` } },
  {
    name: "single with parent",
    headers: { b3: `${T}-${S}-1-${P}` },
    want: { b3: `${T}-${S}-1-${P}` },
  },
  {
    name: "single deferred with a parent ({trace}-{span}-{parent}, as Brave writes it)",
    headers: { b3: `${T}-${S}-${P}` },
    want: { b3: `${T}-${S}-${P}` },
  },
  { name: "single sampling-only deny (b3: 0)", headers: { b3: "0" }, want: { b3: "0" } },
  { name: "single sampling-only accept (b3: 1)", headers: { b3: "1" }, want: { b3: "1" } },
  { name: "single sampling-only debug (b3: d)", headers: { b3: "d" }, want: { b3: "d" } },
  // Precedence.
  {
    name: "b3 wins over x-b3-*, which are removed",
    headers: { b3: `${T}-${S}-1`, "x-b3-traceid": T64, "x-b3-spanid": P, "x-b3-sampled": "0" },
    want: { b3: `${T}-${S}-1` },
  },
  {
    name: "b3 wins over a malformed x-b3-traceid",
    headers: { b3: `${T}-${S}-0`, "x-b3-traceid": "not-hex" },
    want: { b3: `${T}-${S}-0` },
  },
  {
    name: "b3 wins over tracestate b3=",
    headers: { b3: `${T}-${S}-1`, tracestate: `b3=${T64}-${P}-d` },
    want: { b3: `${T}-${S}-1`, tracestate: `b3=${T64}-${P}-d` },
  },
  {
    name: "x-b3-* win over tracestate b3=",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, tracestate: `b3=${T64}-${P}-d` },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, tracestate: `b3=${T64}-${P}-d` },
  },
  {
    name: "tracestate b3= alone is read and forwarded as x-b3-* (w3c off: tracestate untouched)",
    headers: { tracestate: `congo=t61rcWkgMzE,b3=${T64}-${S}-d-${P}` },
    want: {
      "x-b3-traceid": T64,
      "x-b3-spanid": S,
      "x-b3-parentspanid": P,
      "x-b3-flags": "1",
      tracestate: `congo=t61rcWkgMzE,b3=${T64}-${S}-d-${P}`,
    },
  },
  {
    name: "x-b3-* win over traceparent (w3c on)",
    config: { w3c: true },
    headers: {
      "x-b3-traceid": T,
      "x-b3-spanid": S,
      "x-b3-sampled": "0",
      traceparent: `00-${"1".repeat(32)}-${P}-01`,
    },
    want: {
      "x-b3-traceid": T,
      "x-b3-spanid": S,
      "x-b3-sampled": "0",
      traceparent: `00-${T}-${S}-00`,
      tracestate: `b3=${T}-${S}-0`,
    },
  },
  // Repeated headers: the first value wins, the rest are dropped.
  {
    name: "repeated x-b3-traceid: first wins",
    headers: [
      ["x-b3-traceid", T],
      ["x-b3-traceid", T64],
      ["x-b3-spanid", S],
      ["x-b3-spanid", P],
      ["x-b3-sampled", "1"],
      ["x-b3-sampled", "0"],
    ],
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "repeated b3: first wins",
    headers: [
      ["b3", `${T}-${S}-d`],
      ["b3", "0"],
    ],
    want: { b3: `${T}-${S}-d` },
  },
  {
    name: "repeated b3 where only the second is malformed: first wins, no restart",
    headers: [
      ["b3", `${T}-${S}-1`],
      ["b3", "garbage"],
    ],
    want: { b3: `${T}-${S}-1` },
  },
  // Normalisation (header names are case-insensitive; Envoy lower-cases them).
  {
    name: "upper-case names and hex are normalised",
    headers: [
      ["X-B3-TraceId", T.toUpperCase()],
      ["X-B3-SpanId", S.toUpperCase()],
      ["X-B3-Sampled", "1"],
    ],
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "surrounding spaces are trimmed",
    headers: { b3: ` ${T}-${S}-1 ` },
    want: { b3: `${T}-${S}-1` },
  },
  // 64/128-bit.
  {
    name: "64-bit trace id is kept as 64 bits",
    headers: { b3: `${T64}-${S}-1` },
    want: { b3: `${T64}-${S}-1` },
  },
  {
    name: "128-bit trace id whose high half is zero is not shortened",
    headers: { "x-b3-traceid": `0000000000000000${T64}`, "x-b3-spanid": S },
    want: { "x-b3-traceid": `0000000000000000${T64}`, "x-b3-spanid": S },
  },
  {
    name: "no context: mints a 128-bit root, sampling deferred, no parent",
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN },
  },
  {
    name: "no context, mint 64bit",
    config: { mint: "64bit" },
    headers: {},
    want: { "x-b3-traceid": M64, "x-b3-spanid": M64SPAN },
  },
  { name: "no context, mint off: nothing", config: { mint: "off" }, headers: {}, want: {} },
  {
    name: "no context, output single",
    config: { output: "single" },
    headers: {},
    want: { b3: `${M128}-${MSPAN}` },
  },
  // Root vs child.
  {
    name: "child: new span id, parent = incoming span, same trace and decision",
    config: { mode: "child" },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P, "x-b3-sampled": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": CHILD, "x-b3-parentspanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "child of a root span: the parent is the incoming span id",
    config: { mode: "child" },
    headers: { b3: `${T}-${S}-1` },
    want: { b3: `${T}-${CHILD}-1-${S}` },
  },
  {
    name: "child keeps a 64-bit trace id 64-bit",
    config: { mode: "child" },
    headers: { b3: `${T64}-${S}-0` },
    want: { b3: `${T64}-${CHILD}-0-${S}` },
  },
  {
    name: "child keeps debug",
    config: { mode: "child" },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": CHILD, "x-b3-parentspanid": S, "x-b3-flags": "1" },
  },
  {
    name: "child keeps defer when no sampling is configured ({trace}-{span}-{parent})",
    config: { mode: "child" },
    headers: { b3: `${T}-${S}` },
    want: { b3: `${T}-${CHILD}-${S}` },
  },
  {
    name: "child with no context mints a root: no parent is invented",
    config: { mode: "child" },
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN },
  },
  {
    name: "child of a sampling-only deny: a root that keeps the deny",
    config: { mode: "child" },
    headers: { b3: "0" },
    want: { b3: `${M128}-${MSPAN}-0` },
  },
  {
    name: "join shares the incoming span and keeps its parent",
    config: { mode: "join" },
    headers: { b3: `${T}-${S}-1-${P}` },
    want: { b3: `${T}-${S}-1-${P}` },
  },
  {
    name: "join decides a deferred context (rate 1 → accept)",
    config: { mode: "join", sampling: { rate: 1 } },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "join never overrides an incoming decision (rate 0, incoming accept)",
    config: { mode: "join", sampling: { rate: 0 } },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
  },
  {
    name: "propagate never decides a deferred context (rate 1)",
    config: { sampling: { rate: 1 } },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S },
    want: { "x-b3-traceid": T, "x-b3-spanid": S },
  },
  {
    name: "propagate passes a sampling-only state without adding ids",
    config: { sampling: { rate: 1 } },
    headers: { b3: "0" },
    want: { b3: "0" },
  },
  // Sampling of minted contexts.
  {
    name: "mint with rate 1: accept",
    config: { sampling: { rate: 1 } },
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, "x-b3-sampled": "1" },
  },
  {
    name: "mint with rate 0: deny, ids still sent",
    config: { sampling: { rate: 0 } },
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, "x-b3-sampled": "0" },
  },
  {
    name: "path rule denies /health even at rate 1",
    config: { sampling: { rate: 1, rules: [{ match: { path: "/health" }, decision: "deny" }] } },
    path: "/health?probe=1",
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, "x-b3-sampled": "0" },
  },
  {
    name: "path rule does not match /api: the rate decides",
    config: { sampling: { rate: 1, rules: [{ match: { path: "/health" }, decision: "deny" }] } },
    path: "/api",
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, "x-b3-sampled": "1" },
  },
  {
    name: "rule with its own rate",
    config: { sampling: { rules: [{ match: { pathPrefix: "/api/" }, rate: 1 }] } },
    path: "/api/x",
    headers: {},
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, "x-b3-sampled": "1" },
  },
  {
    name: "force header makes a minted trace debug",
    config: { sampling: { rate: 0, forceHeader: "x-debug-trace" } },
    headers: { "x-debug-trace": "1" },
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, "x-b3-flags": "1" },
  },
  {
    name: "force header does not override an incoming deny",
    config: { mode: "join", sampling: { forceHeader: "x-debug-trace" } },
    headers: { b3: `${T}-${S}-0`, "x-debug-trace": "1" },
    want: { b3: `${T}-${S}-0` },
  },
  {
    name: "mint off with a deny rule: the decision travels alone",
    config: { mint: "off", output: "both", sampling: { rules: [{ decision: "deny" }] } },
    headers: {},
    want: { b3: "0", "x-b3-sampled": "0" },
  },
  // Output encodings.
  {
    name: "output single re-encodes x-b3-* as b3 and removes them",
    config: { output: "single" },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P, "x-b3-flags": "1" },
    want: { b3: `${T}-${S}-d-${P}` },
  },
  {
    name: "output multi re-encodes b3",
    config: { output: "multi" },
    headers: { b3: `${T}-${S}-d-${P}` },
    want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P, "x-b3-flags": "1" },
  },
  {
    name: "output both",
    config: { output: "both" },
    headers: { b3: `${T64}-${S}-0` },
    want: { b3: `${T64}-${S}-0`, "x-b3-traceid": T64, "x-b3-spanid": S, "x-b3-sampled": "0" },
  },
  {
    name: "output multi of a sampling-only debug",
    config: { output: "multi" },
    headers: { b3: "d" },
    want: { "x-b3-flags": "1" },
  },
  // W3C.
  {
    name: "w3c: traceparent + tracestate b3= written next to B3",
    config: { w3c: true },
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" },
    want: {
      "x-b3-traceid": T,
      "x-b3-spanid": S,
      "x-b3-sampled": "1",
      traceparent: `00-${T}-${S}-01`,
      tracestate: `b3=${T}-${S}-1`,
    },
  },
  {
    name: "w3c: a 64-bit trace id is left-padded in traceparent, kept 64-bit in tracestate",
    config: { w3c: true, output: "single" },
    headers: { b3: `${T64}-${S}-d-${P}` },
    want: {
      b3: `${T64}-${S}-d-${P}`,
      traceparent: `00-0000000000000000${T64}-${S}-01`,
      tracestate: `b3=${T64}-${S}-d-${P}`,
    },
  },
  {
    name: "w3c: defer is flags 00 in traceparent and absent in tracestate b3=",
    config: { w3c: true, output: "single" },
    headers: { b3: `${T}-${S}` },
    want: { b3: `${T}-${S}`, traceparent: `00-${T}-${S}-00`, tracestate: `b3=${T}-${S}` },
  },
  {
    name: "w3c round trip: debug, parent and the 64-bit id come back from tracestate b3=",
    config: { w3c: true, output: "single" },
    headers: {
      traceparent: `00-0000000000000000${T64}-${S}-01`,
      tracestate: `b3=${T64}-${S}-d-${P}`,
    },
    want: {
      b3: `${T64}-${S}-d-${P}`,
      traceparent: `00-0000000000000000${T64}-${S}-01`,
      tracestate: `b3=${T64}-${S}-d-${P}`,
    },
  },
  {
    name: "w3c round trip after a W3C-only hop: its span is ours, the b3 span becomes the parent",
    config: { w3c: true, output: "single" },
    headers: {
      traceparent: `00-${T}-${CHILD}-01`,
      tracestate: `rojo=00f067aa0ba902b7,b3=${T}-${S}-d-${P}`,
    },
    want: {
      b3: `${T}-${CHILD}-d-${S}`,
      traceparent: `00-${T}-${CHILD}-01`,
      tracestate: `b3=${T}-${CHILD}-d-${S},rojo=00f067aa0ba902b7`,
    },
  },
  {
    name: "w3c round trip keeps defer (flags 00 + tracestate b3= without sampling)",
    config: { w3c: true, output: "multi" },
    headers: { traceparent: `00-${T}-${S}-00`, tracestate: `b3=${T}-${S}` },
    want: {
      "x-b3-traceid": T,
      "x-b3-spanid": S,
      traceparent: `00-${T}-${S}-00`,
      tracestate: `b3=${T}-${S}`,
    },
  },
  {
    name: "w3c: traceparent alone, sampled flag → accept, other tracestate members kept",
    config: { w3c: true },
    headers: { traceparent: `00-${T}-${S}-01`, tracestate: "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7" },
    want: {
      "x-b3-traceid": T,
      "x-b3-spanid": S,
      "x-b3-sampled": "1",
      traceparent: `00-${T}-${S}-01`,
      tracestate: `b3=${T}-${S}-1,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7`,
    },
  },
  {
    name: "w3c: a tracestate b3= of another trace is ignored; flags 00 → deny",
    config: { w3c: true, output: "single" },
    headers: { traceparent: `00-${T}-${S}-00`, tracestate: `b3=${T64}-${P}-d` },
    want: { b3: `${T}-${S}-0`, traceparent: `00-${T}-${S}-00`, tracestate: `b3=${T}-${S}-0` },
  },
  {
    name: "w3c: repeated tracestate headers form one list",
    config: { w3c: true, output: "single" },
    headers: [
      ["traceparent", `00-${T}-${S}-01`],
      ["tracestate", "congo=1"],
      ["tracestate", `b3=${T}-${S}-d`],
    ],
    want: { b3: `${T}-${S}-d`, traceparent: `00-${T}-${S}-01`, tracestate: `b3=${T}-${S}-d,congo=1` },
  },
  {
    name: "w3c: a later traceparent version with extra fields is read",
    config: { w3c: true, output: "single" },
    headers: { traceparent: `01-${T}-${S}-03-extra` },
    want: { b3: `${T}-${S}-1`, traceparent: `00-${T}-${S}-01`, tracestate: `b3=${T}-${S}-1` },
  },
  {
    name: "w3c off: traceparent is ignored (and untouched); a new trace is minted",
    headers: { traceparent: `00-${T}-${S}-01` },
    want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, traceparent: `00-${T}-${S}-01` },
  },
  {
    name: "w3c child: traceparent carries the new span",
    config: { w3c: true, mode: "child", output: "single" },
    headers: { b3: `${T}-${S}-1-${P}` },
    want: {
      b3: `${T}-${CHILD}-1-${S}`,
      traceparent: `00-${T}-${CHILD}-01`,
      tracestate: `b3=${T}-${CHILD}-1-${S}`,
    },
  },
];

describe("spec table", () => {
  test.each(SPEC_CASES)("$name", async (c) => {
    const { s } = await run(c);
    expect(pick(s.upstream.headers)).toEqual(c.want);
    expect(s.status).toBe(200);
  });

  test("the table has at least 40 cases", () => {
    expect(SPEC_CASES.length).toBeGreaterThanOrEqual(40);
  });
});

// --- Malformed values of every field --------------------------------------------------------------

interface MalformedCase {
  name: string;
  config?: unknown;
  headers: Headers;
  /** The reason the plugin gives (debug log, and the 400 body under `reject`). */
  error: string;
  /** What `restart` forwards. */
  restart: Record<string, string | string[]>;
}

const RESTART_MULTI = { "x-b3-traceid": M128, "x-b3-spanid": MSPAN };
const RESTART_SINGLE = { b3: `${M128}-${MSPAN}` };

const MALFORMED: MalformedCase[] = [
  { name: "b3 empty", headers: { b3: "" }, error: "b3: empty value", restart: RESTART_SINGLE },
  {
    name: "b3 sampling-only x",
    headers: { b3: "x" },
    error: "b3: expected a sampling state 0, 1 or d",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 one field",
    headers: { b3: T },
    error: "b3: expected {trace id}-{span id}[-{sampling state}][-{parent span id}]",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 five fields (old Brave debug suffix)",
    headers: { b3: `${T64}-${S}-1-${P}-1` },
    error: "b3: expected {trace id}-{span id}[-{sampling state}][-{parent span id}]",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 trace id of 20 characters",
    headers: { b3: `${T.slice(0, 20)}-${S}` },
    error: "b3: trace id: expected 16 or 32 hex characters",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 trace id not hex",
    headers: { b3: `${T64.slice(0, 15)}g-${S}-1` },
    error: "b3: trace id: expected 16 or 32 hex characters",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 trace id all zeros",
    headers: { b3: `${"0".repeat(32)}-${S}-1` },
    error: "b3: trace id: all zeros",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 span id of 15 characters",
    headers: { b3: `${T}-${S.slice(1)}-1` },
    error: "b3: span id: expected 16 hex characters",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 span id all zeros",
    headers: { b3: `${T}-${"0".repeat(16)}` },
    error: "b3: span id: all zeros",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 sampling state 2",
    headers: { b3: `${T}-${S}-2` },
    error: "b3: sampling state: expected 0, 1 or d",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 sampling state true",
    headers: { b3: `${T64}-${S}-true-${P}` },
    error: "b3: sampling state: expected 0, 1 or d",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 parent id not hex",
    headers: { b3: `${T}-${S}-1-${P.slice(0, 15)}z` },
    error: "b3: parent span id: expected 16 hex characters",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 parent id all zeros",
    headers: { b3: `${T}-${S}-1-${"0".repeat(16)}` },
    error: "b3: parent span id: all zeros",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 empty parent field",
    headers: { b3: `${T}-${S}-1-` },
    error: "b3: parent span id: expected 16 hex characters",
    restart: RESTART_SINGLE,
  },
  {
    name: "b3 longer than 68 characters",
    headers: { b3: `${T}-${S}-1-${P}${"0".repeat(100)}` },
    error: "b3: longer than 68 characters",
    restart: RESTART_SINGLE,
  },
  {
    name: "x-b3-traceid empty",
    headers: { "x-b3-traceid": "", "x-b3-spanid": S },
    error: "x-b3-traceid: expected 16 or 32 hex characters",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-traceid of 17 characters",
    headers: { "x-b3-traceid": T64 + "a", "x-b3-spanid": S },
    error: "x-b3-traceid: expected 16 or 32 hex characters",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-traceid all zeros",
    headers: { "x-b3-traceid": "0".repeat(16), "x-b3-spanid": S },
    error: "x-b3-traceid: all zeros",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-spanid 32 characters",
    headers: { "x-b3-traceid": T, "x-b3-spanid": T },
    error: "x-b3-spanid: expected 16 hex characters",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-parentspanid: - (the spec's example of nonsense)",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": "-" },
    error: "x-b3-parentspanid: expected 16 hex characters",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-sampled: yes",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "yes" },
    error: "x-b3-sampled: expected 1, 0, true or false",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-sampled empty",
    headers: { "x-b3-sampled": "" },
    error: "x-b3-sampled: expected 1, 0, true or false",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-flags: 2",
    headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "2" },
    error: "x-b3-flags: expected 1 or 0",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-traceid without x-b3-spanid",
    headers: { "x-b3-traceid": T, "x-b3-sampled": "1" },
    error: "x-b3-spanid: missing while x-b3-traceid is set",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-spanid without x-b3-traceid",
    headers: { "x-b3-spanid": S },
    error: "x-b3-traceid: missing while x-b3-spanid is set",
    restart: RESTART_MULTI,
  },
  {
    name: "x-b3-parentspanid alone",
    headers: { "x-b3-parentspanid": P, "x-b3-sampled": "1" },
    error: "x-b3-parentspanid: set without x-b3-traceid and x-b3-spanid",
    restart: RESTART_MULTI,
  },
  {
    name: "tracestate b3= member malformed",
    headers: { tracestate: `b3=${T}-nope` },
    error: "tracestate b3: span id: expected 16 hex characters",
    restart: { ...RESTART_MULTI, tracestate: `b3=${T}-nope` },
  },
  {
    name: "traceparent (w3c) with upper-case hex",
    config: { w3c: true },
    headers: { traceparent: `00-${T.toUpperCase()}-${S}-01`, tracestate: "congo=1" },
    error: "traceparent: expected {version}-{32 hex trace id}-{16 hex parent id}-{2 hex flags}",
    restart: {
      ...RESTART_MULTI,
      traceparent: `00-${M128}-${MSPAN}-00`,
      tracestate: `b3=${M128}-${MSPAN}`,
    },
  },
  {
    name: "traceparent (w3c) version ff",
    config: { w3c: true },
    headers: { traceparent: `ff-${T}-${S}-01` },
    error: "traceparent: version ff is invalid",
    restart: { ...RESTART_MULTI, traceparent: `00-${M128}-${MSPAN}-00`, tracestate: `b3=${M128}-${MSPAN}` },
  },
  {
    name: "traceparent (w3c) all-zero trace id",
    config: { w3c: true },
    headers: { traceparent: `00-${"0".repeat(32)}-${S}-01` },
    error: "traceparent: trace id: all zeros",
    restart: { ...RESTART_MULTI, traceparent: `00-${M128}-${MSPAN}-00`, tracestate: `b3=${M128}-${MSPAN}` },
  },
  {
    name: "traceparent (w3c) version 00 with a trailing field",
    config: { w3c: true },
    headers: { traceparent: `00-${T}-${S}-01-x` },
    error: "traceparent: expected {version}-{32 hex trace id}-{16 hex parent id}-{2 hex flags}",
    restart: { ...RESTART_MULTI, traceparent: `00-${M128}-${MSPAN}-00`, tracestate: `b3=${M128}-${MSPAN}` },
  },
];

describe("malformed values of every field (default policy: restart)", () => {
  test.each(MALFORMED)("$name", async (c) => {
    const { host, s } = await run(c);
    expect(host.logs("debug")).toContain(`b3: malformed trace context: ${c.error}`);
    expect(pick(s.upstream.headers)).toEqual(c.restart);
    expect(host.metric("b3_malformed_restart_total")).toBe(1n);
    expect(host.metric("b3_minted_total")).toBe(1n);
    expect(host.metric("b3_extracted_total")).toBeUndefined();
  });
});

// --- Malformed-input policies ---------------------------------------------------------------------

const BAD = { "x-b3-traceid": "zz", "x-b3-spanid": S, "x-b3-sampled": "1", tracestate: "congo=1" };

describe("malformed-input policy", () => {
  test.each([
    {
      name: "restart: the bad context is replaced by a minted root",
      policy: "restart",
      status: 200,
      want: { "x-b3-traceid": M128, "x-b3-spanid": MSPAN, tracestate: "congo=1" },
    },
    {
      name: "pass: forwarded untouched",
      policy: "pass",
      status: 200,
      want: { "x-b3-traceid": "zz", "x-b3-spanid": S, "x-b3-sampled": "1", tracestate: "congo=1" },
    },
    {
      name: "strip: every managed trace header removed (w3c off: tracestate is not managed)",
      policy: "strip",
      status: 200,
      want: { tracestate: "congo=1" },
    },
    { name: "reject: 400, nothing reaches the upstream", policy: "reject", status: 400, want: null },
  ])("$name", async ({ policy, status, want }) => {
    const host = await start({ malformed: policy, correlation: { requestHeader: "x-trace-id" } });
    const s = host.exchange({ headers: { ...BAD, "x-trace-id": "spoofed" } });
    expect(s.status).toBe(status);
    if (want === null) {
      expect(s.upstream.headers).toBeNull();
      expect(s.localResponse?.details).toBe("b3_malformed");
      expect(new TextDecoder().decode(s.localResponse?.body)).toBe(
        "malformed trace context: x-b3-traceid: expected 16 or 32 hex characters\n",
      );
    } else {
      const correlation = policy === "restart" ? { "x-trace-id": M128 } : {};
      expect(pick(s.upstream.headers, ["x-trace-id"])).toEqual({ ...want, ...correlation });
    }
    for (const p of ["restart", "pass", "strip", "reject"])
      expect(host.metric(`b3_malformed_${p}_total`)).toBe(p === policy ? 1n : undefined);
    expect(host.failed()).toBe(false);
  });

  test("strip with w3c on removes traceparent and tracestate too", async () => {
    const host = await start({ malformed: "strip", w3c: true });
    const s = host.exchange({
      headers: { b3: "bad", traceparent: `00-${T}-${S}-01`, tracestate: "congo=1" },
    });
    expect(pick(s.upstream.headers)).toEqual({});
  });
});

// --- Never a trap -----------------------------------------------------------------------------------

const GARBAGE: Array<[string, string]> = [
  ["empty", ""],
  ["spaces", "   "],
  ["dashes", "----"],
  ["non-hex ASCII", "zzzzzzzzzzzzzzzz-zzzzzzzzzzzzzzzz-1"],
  ["wrong lengths", "abc-def-1-0123"],
  ["non-ASCII", "é80f198ee56343ba8-64fe8b2a57d3eff7-1"],
  ["emoji", "🙂🙂🙂🙂🙂🙂🙂🙂-🙂🙂🙂🙂🙂🙂🙂🙂"],
  ["CJK of the right length", "一二三四五六七八九十一二三四五六-e457b5a2e4d86bd1"],
  ["huge (60 KB)", "a".repeat(60_000)],
  ["huge with dashes", "-".repeat(30_000)],
  ["only separators and d", "d-d-d-d"],
  ["NUL-like escapes", "\\0\\0"],
];

describe("garbage in any trace header never traps", () => {
  const cases = GARBAGE.flatMap(([what, value]) =>
    TRACE_HEADERS.map((header) => ({ name: `${header}: ${what}`, header, value })),
  );
  test.each(cases)("$name", async ({ header, value }) => {
    for (const policy of ["restart", "pass", "strip", "reject"]) {
      const host = await start({ malformed: policy, w3c: true, mode: "child", output: "both" });
      const s = host.exchange({ headers: { [header]: value } });
      expect(host.failed()).toBe(false);
      expect(host.logs("critical")).toEqual([]);
      expect([200, 400]).toContain(s.status);
      if (s.status === 200) expectWellFormed(s.upstream.headers, policy === "pass");
    }
  });

  test("500 random header sets (seeded) are each handled without a trap, output well-formed", async () => {
    let state = 0x2545f491;
    const rnd = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const alphabet = "0123456789abcdefABCDEFdxyz-  é";
    const piece = () => {
      const len = [0, 1, 15, 16, 17, 32, 33, 40][rnd(8)];
      let s = "";
      for (let i = 0; i < len; i++) s += alphabet[rnd(alphabet.length)];
      return s;
    };
    const host = await start({ w3c: true, mode: "child", output: "both" }, { workers: 2 });
    for (let i = 0; i < 500; i++) {
      const headers: HeaderList = [];
      for (const h of TRACE_HEADERS) {
        if (rnd(3) !== 0) continue;
        const parts = Array.from({ length: 1 + rnd(4) }, piece);
        headers.push([h, h === "traceparent" ? `00-${parts.join("-")}` : parts.join("-")]);
      }
      const s = host.exchange({ headers });
      expect(s.status).toBe(200);
      expectWellFormed(s.upstream.headers, false);
    }
    const restarts = Number(host.metric("b3_malformed_restart_total") ?? 0n);
    expect(host.failed(0) || host.failed(1)).toBe(false);
    expect(restarts).toBeGreaterThan(0);
  });
});

const HEX16 = "[0-9a-f]{16}";
const TRACE_ID = `(?:[0-9a-f]{32}|[0-9a-f]{16})`;
const WELL_FORMED: Record<string, RegExp> = {
  b3: new RegExp(`^(?:[01d]|${TRACE_ID}-${HEX16}(?:-[01d])?(?:-${HEX16})?)$`),
  "x-b3-traceid": new RegExp(`^${TRACE_ID}$`),
  "x-b3-spanid": new RegExp(`^${HEX16}$`),
  "x-b3-parentspanid": new RegExp(`^${HEX16}$`),
  "x-b3-sampled": /^[01]$/,
  "x-b3-flags": /^1$/,
  traceparent: new RegExp(`^00-[0-9a-f]{32}-${HEX16}-0[01]$`),
};

/** Every forwarded B3/W3C header is well-formed and appears once (unless the policy is `pass`). */
function expectWellFormed(headers: HeaderList | null, passThrough: boolean): void {
  if (passThrough || headers === null) return;
  const seen = new Set<string>();
  for (const [k, v] of headers) {
    const re = WELL_FORMED[k];
    if (!re) continue;
    expect({ header: k, value: v, ok: re.test(v) }).toEqual({ header: k, value: v, ok: true });
    expect(seen.has(k)).toBe(false);
    seen.add(k);
  }
  const ids = headers.some(([k]) => k === "x-b3-traceid");
  expect(headers.some(([k]) => k === "x-b3-spanid")).toBe(ids);
}

// --- Sampling by trace id ---------------------------------------------------------------------------

describe("rate sampling", () => {
  test("a deferred trace is decided from its trace id, the same way on every worker", async () => {
    const host = await start({ mode: "join", sampling: { rate: 0.5 } }, { workers: 2 });
    const ids = Array.from({ length: 64 }, (_, i) =>
      (BigInt(i + 1) * 0x9e3779b97f4a7c15n).toString(16).padStart(32, "0").slice(-32),
    );
    let accepted = 0;
    for (const [i, id] of ids.entries()) {
      const decisions = [0, 1].map((worker) => {
        const s = host.exchange({ worker, headers: { b3: `${id}-${S}` } });
        return pick(s.upstream.headers).b3;
      });
      const want = `${id}-${S}-${sampledAt(id, 0.5) ? "1" : "0"}`;
      expect({ i, decisions }).toEqual({ i, decisions: [want, want] });
      if (sampledAt(id, 0.5)) accepted++;
    }
    // The draw is a hash: roughly half of 64 ids, never all or none.
    expect(accepted).toBeGreaterThan(16);
    expect(accepted).toBeLessThan(48);
  });
});

// --- Minting uses the host's random source ----------------------------------------------------------

describe("minting", () => {
  test("ids come from random_get; an all-zero draw still gives valid ids", async () => {
    const host = await start({}, { random: (n) => new Uint8Array(n) });
    const s = host.exchange({});
    expect(pick(s.upstream.headers)).toEqual({
      "x-b3-traceid": "00000000000000000000000000000001",
      "x-b3-spanid": "0000000000000001",
    });
  });

  test("two requests get different ids from the real random source", async () => {
    const host = await Host.start({ wasm: WASM, rootId: "b3", trace: false });
    const a = pick(host.exchange({}).upstream.headers);
    const b = pick(host.exchange({}).upstream.headers);
    expect(a["x-b3-traceid"]).toMatch(/^[0-9a-f]{32}$/);
    expect(a["x-b3-traceid"]).not.toBe(b["x-b3-traceid"]);
    expect(host.metric("b3_minted_total")).toBe(2n);
  });
});

// --- Minimal header changes ---------------------------------------------------------------------------

describe("header writes", () => {
  test.each<{ name: string; headers: Record<string, string>; clears: number }>([
    {
      name: "normalised input in propagate: no header is touched",
      headers: { b3: `${T}-${S}-1` },
      clears: 0,
    },
    {
      name: "normalised multi input in propagate: no header is touched",
      headers: { "x-b3-traceid": T, "x-b3-spanid": S },
      clears: 0,
    },
    { name: "upper-case hex: one header rewritten", headers: { b3: `${T}-${S}-D` }, clears: 1 },
    { name: "no context: two headers added", headers: {}, clears: 2 },
  ])("$name", async ({ headers, clears }) => {
    const host = await start();
    const s = host.exchange({ headers });
    // ABI 0.2.1: each request-header change re-selects the route in Envoy.
    expect(s.routeCacheClears).toBe(clears);
  });
});

// --- Correlation ---------------------------------------------------------------------------------------

describe("correlation", () => {
  test("response header carries the forwarded trace id; request header too (a client value is replaced)", async () => {
    const host = await start({
      mode: "child",
      correlation: { requestHeader: "x-trace-id", responseHeader: "x-trace-id" },
    });
    const s = host.exchange({ headers: { b3: `${T}-${S}-1`, "x-trace-id": "spoofed" } });
    expect(pick(s.upstream.headers, ["x-trace-id"])).toEqual({ b3: `${T}-${CHILD}-1-${S}`, "x-trace-id": T });
    expect(pick(s.downstream.headers, ["x-trace-id"])).toEqual({ "x-trace-id": T });
  });

  test("no trace id (sampling-only): no response header, the client's request header is removed", async () => {
    const host = await start({ correlation: { requestHeader: "x-trace-id", responseHeader: "x-trace-id" } });
    const s = host.exchange({ headers: { b3: "0", "x-trace-id": "spoofed" } });
    expect(pick(s.upstream.headers, ["x-trace-id"])).toEqual({ b3: "0" });
    expect(pick(s.downstream.headers, ["x-trace-id"])).toEqual({});
  });

  test("a rejected request gets no trace id header", async () => {
    const host = await start({ malformed: "reject", correlation: { responseHeader: "x-trace-id" } });
    const s = host.exchange({ headers: { b3: "1-2" } });
    expect(s.status).toBe(400);
    expect(pick(s.downstream.headers, ["x-trace-id"])).toEqual({});
  });

  // What get_property returns on this stream, as another filter of the same stream would see it.
  const read = (host: Host, s: { vm: Parameters<Host["getProperty"]>[0]; id: number }, path: string[]) => {
    const v = host.getProperty(s.vm, s.id, path);
    return v instanceof Uint8Array ? new TextDecoder().decode(v) : v;
  };

  test("filter state wasmgate.* is readable by other filters with one-segment paths (as in Envoy)", async () => {
    const host = await start({ mode: "child" });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "x"],
        ["b3", `${T}-${S}-d-${P}`],
      ],
      true,
    );
    expect({
      trace: read(host, s, ["wasmgate.trace_id"]),
      span: read(host, s, ["wasmgate.span_id"]),
      parent: read(host, s, ["wasmgate.parent_span_id"]),
      sampling: read(host, s, ["wasmgate.sampling"]),
      b3: read(host, s, ["wasmgate.b3"]),
      twoSegments: read(host, s, ["wasmgate", "trace_id"]),
    }).toEqual({
      trace: T,
      span: CHILD,
      parent: S,
      sampling: "debug",
      b3: `${T}-${CHILD}-d-${S}`,
      twoSegments: undefined,
    });
    s.complete();
  });

  test("properties: false writes no filter state", async () => {
    const host = await start({ correlation: { properties: false } });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "x"],
      ],
      true,
    );
    expect(read(host, s, ["wasmgate.trace_id"])).toBeUndefined();
    s.complete();
  });
});

// --- Configuration ------------------------------------------------------------------------------------

describe("configuration", () => {
  test.each([
    { name: "no configuration", config: "" },
    { name: "empty object", config: {} },
    {
      name: "every field",
      config: {
        mode: "child",
        output: "both",
        w3c: true,
        mint: "64bit",
        malformed: "reject",
        sampling: {
          rate: 0.1,
          forceHeader: "X-Debug-Trace",
          rules: [
            { match: { path: "/health" }, decision: "deny" },
            { match: { pathPrefix: "/api/", methods: ["POST"], hosts: ["*.example.com"] }, rate: 0.5 },
          ],
        },
        correlation: { requestHeader: "x-trace-id", responseHeader: "x-trace-id", properties: false },
      },
    },
  ])("accepted: $name", async ({ config }) => {
    const host = await start(config);
    expect(host.started).toBe(true);
    expect(host.logs("critical")).toEqual([]);
  });

  const P1 = "b3: invalid configuration: ";
  test.each([
    {
      name: "mode",
      config: { mode: "sibling" },
      errors: ['mode: expected one of "propagate", "join", "child", got "sibling"'],
    },
    {
      name: "output",
      config: { output: 3 },
      errors: ['output: expected one of "preserve", "multi", "single", "both", got 3'],
    },
    { name: "w3c", config: { w3c: "yes" }, errors: ['w3c: expected true or false, got "yes"'] },
    {
      name: "mint",
      config: { mint: "32bit" },
      errors: ['mint: expected one of "128bit", "64bit", "off", got "32bit"'],
    },
    {
      name: "malformed",
      config: { malformed: "ignore" },
      errors: ['malformed: expected one of "restart", "pass", "strip", "reject", got "ignore"'],
    },
    {
      name: "sampling not an object",
      config: { sampling: [] },
      errors: ["sampling: expected an object, got an array"],
    },
    {
      name: "sampling.rate above 1",
      config: { sampling: { rate: 1.5 } },
      errors: ["sampling.rate: expected a number between 0 and 1, got 1.5"],
    },
    {
      name: "sampling.rate as a percentage string",
      config: { sampling: { rate: "10%" } },
      errors: ['sampling.rate: expected a number between 0 and 1, got "10%"'],
    },
    {
      name: "rule without decision or rate",
      config: { sampling: { rules: [{ match: { path: "/health" } }] } },
      errors: ['sampling.rules[0]: set exactly one of "decision" or "rate"'],
    },
    {
      name: "rule with both decision and rate",
      config: { sampling: { rules: [{ decision: "deny", rate: 0.5 }] } },
      errors: ['sampling.rules[0]: set exactly one of "decision" or "rate"'],
    },
    {
      name: "rule decision",
      config: { sampling: { rules: [{ decision: "never" }] } },
      errors: ['sampling.rules[0].decision: expected one of "defer", "deny", "accept", "debug", got "never"'],
    },
    {
      name: "rule match path",
      config: { sampling: { rules: [{ match: { path: "health" }, decision: "deny" }] } },
      errors: ['sampling.rules[0].match.path: expected a path starting with "/", got "health"'],
    },
    {
      name: "rules not an array",
      config: { sampling: { rules: "all" } },
      errors: ['sampling.rules: expected an array of objects, got "all"'],
    },
    {
      name: "forceHeader not a header name",
      config: { sampling: { forceHeader: "x debug" } },
      errors: ['sampling.forceHeader: expected an HTTP header name, got "x debug"'],
    },
    {
      name: "forceHeader is a managed trace header",
      config: { sampling: { forceHeader: "B3" } },
      errors: [
        'sampling.forceHeader: expected a header other than the trace headers this plugin manages, got "B3"',
      ],
    },
    {
      name: "requestHeader empty",
      config: { correlation: { requestHeader: "" } },
      errors: ['correlation.requestHeader: expected an HTTP header name, got ""'],
    },
    {
      name: "requestHeader is traceparent",
      config: { correlation: { requestHeader: "traceparent" } },
      errors: [
        'correlation.requestHeader: expected a header other than the trace headers this plugin manages, got "traceparent"',
      ],
    },
    {
      name: "responseHeader not a string",
      config: { correlation: { responseHeader: 7 } },
      errors: ["correlation.responseHeader: expected a string, got 7"],
    },
    {
      name: "properties not a bool",
      config: { correlation: { properties: "no" } },
      errors: ['correlation.properties: expected true or false, got "no"'],
    },
    { name: "unknown top-level field", config: { tracing: true }, errors: ["tracing: unknown field"] },
    {
      name: "unknown nested field",
      config: { sampling: { forcHeader: "x" } },
      errors: ["sampling.forcHeader: unknown field"],
    },
    { name: "not an object", config: "[]", errors: ["configuration: expected a JSON object, got an array"] },
    {
      name: "invalid JSON",
      config: "{mode:",
      errors: ["configuration: invalid JSON: expected a string key at line 1, column 2"],
    },
    {
      name: "every bad field is reported",
      config: { mode: "x", output: "y", sampling: { rate: -1 }, extra: 1 },
      errors: [
        'mode: expected one of "propagate", "join", "child", got "x"',
        'output: expected one of "preserve", "multi", "single", "both", got "y"',
        "sampling.rate: expected a number between 0 and 1, got -1",
        "extra: unknown field",
      ],
    },
  ])("refused: $name", async ({ config, errors }) => {
    const host = await start(config);
    expect(host.started).toBe(false);
    expect(host.logs("critical")).toEqual(errors.map((e) => P1 + e));
  });

  test("a bad update is refused and the old configuration keeps working", async () => {
    const host = await start({ output: "single" });
    expect(host.reconfigure({ output: "triple" })).toBe(false);
    const s = host.exchange({ headers: { "x-b3-traceid": T, "x-b3-spanid": S } });
    expect(pick(s.upstream.headers)).toEqual({ b3: `${T}-${S}` });
    expect(host.reconfigure({ output: "multi" })).toBe(true);
    const s2 = host.exchange({ headers: { b3: `${T}-${S}` } });
    expect(pick(s2.upstream.headers)).toEqual({ "x-b3-traceid": T, "x-b3-spanid": S });
  });
});

// --- config.schema.json and wasmplugin.yaml agree with on_configure ----------------------------------------

describe("config.schema.json and wasmplugin.yaml", () => {
  const schema = JSON.parse(readFileSync(path.join(__dirname, "config.schema.json"), "utf8")) as Schema;
  const plugin = parseYaml(readFileSync(path.join(__dirname, "wasmplugin.yaml"), "utf8")) as {
    metadata: { name: string };
    spec: { url: string; pluginName: string; pluginConfig: unknown };
  };

  test("the WasmPlugin names the plugin b3 everywhere and its pluginConfig is accepted by both", async () => {
    expect([plugin.metadata.name, plugin.spec.pluginName, plugin.spec.url]).toEqual([
      "b3",
      "b3",
      "file:///etc/wasmgate/wasm/b3.wasm",
    ]);
    expect(validateAgainstSchema(schema, plugin.spec.pluginConfig)).toEqual([]);
    const host = await start(plugin.spec.pluginConfig);
    expect(host.started).toBe(true);
  });

  test.each([
    { name: "empty", config: {} },
    { name: "modes and encodings", config: { mode: "join", output: "single", w3c: false, mint: "off" } },
    {
      name: "rules",
      config: { sampling: { rules: [{ decision: "debug" }, { match: { methods: ["GET"] }, rate: 0 }] } },
    },
  ])("schema and plugin both accept: $name", async ({ config }) => {
    expect(validateAgainstSchema(schema, config)).toEqual([]);
    expect((await start(config)).started).toBe(true);
  });

  test.each([
    { name: "mode", config: { mode: "sibling" } },
    { name: "mint", config: { mint: 128 } },
    { name: "rate", config: { sampling: { rate: 2 } } },
    { name: "rule with neither", config: { sampling: { rules: [{ match: { path: "/x" } }] } } },
    { name: "rule with both", config: { sampling: { rules: [{ decision: "deny", rate: 1 }] } } },
    { name: "header name", config: { correlation: { responseHeader: "x y" } } },
    { name: "unknown field", config: { correlation: { header: "x" } } },
    { name: "match path", config: { sampling: { rules: [{ match: { path: "x" }, decision: "deny" }] } } },
  ])("schema and plugin both refuse: $name", async ({ config }) => {
    expect(validateAgainstSchema(schema, config).length).toBeGreaterThan(0);
    expect((await start(config)).started).toBe(false);
  });
});
