// The b3 plugin in stock Envoy 1.39 in front of go-httpbin: httpbin's /headers shows what reached the
// upstream. Envoy's own tracer is off (the harness bootstrap configures no tracing provider), so nothing
// but the plugin touches b3 / x-b3-* / traceparent.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Gateway, Json, httpbinHeaders, request, startGateway } from "../../tools/harness";
import { ROOT } from "../../test/support/wasm";

jest.setTimeout(120_000);

const T = "80f198ee56343ba864fe8b2a57d3eff7";
const T64 = "64fe8b2a57d3eff7";
const S = "e457b5a2e4d86bd1";
const P = "05e3ac9a4f6e3b90";
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

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

// A second Wasm filter, after b3, that reads b3's filter state with get_property and copies what it
// finds into request headers (so httpbin echoes them): the contract other plugins rely on.
const READER = `
import { Action, HttpContext, RootContext, getPropertyString, registerRootContext } from "../../../assembly";
export * from "../../../assembly/exports";
class Root extends RootContext {
  override newHttpContext(id: u32): HttpContext | null { return new Reader(id, this); }
}
class Reader extends HttpContext {
  copy(header: string, path: Array<string>): void {
    const v = getPropertyString(path);
    this.replaceRequestHeader(header, v === null ? "<null>" : v!);
  }
  override onRequestHeaders(n: u32, eos: bool): Action {
    this.copy("x-read-trace-id", ["wasmgate.trace_id"]);
    this.copy("x-read-span-id", ["wasmgate.span_id"]);
    this.copy("x-read-parent-span-id", ["wasmgate.parent_span_id"]);
    this.copy("x-read-sampling", ["wasmgate.sampling"]);
    this.copy("x-read-b3", ["wasmgate.b3"]);
    this.copy("x-read-two-segments", ["wasmgate", "trace_id"]);
    return Action.Continue;
  }
}
registerRootContext((id: u32): RootContext => new Root(id), "reader");
`;

/** Compiles the reader into build/test/b3-reader.wasm (build/ is the artifact directory). */
function buildReader(): string {
  const dir = path.join(ROOT, "build/test/b3-reader");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "index.ts"), READER);
  const out = path.join(ROOT, "build/test/b3-reader.wasm");
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules/assemblyscript/bin/asc.js"),
      path.relative(ROOT, path.join(dir, "index.ts")),
      "--config",
      "asconfig.json",
      "--target",
      "release",
      "-o",
      out,
    ],
    { cwd: ROOT, stdio: "pipe" },
  );
  return out;
}

/** GET /headers through the gateway; the trace headers (and `extra`) httpbin saw, one value each. */
async function echo(gw: Gateway, headers: Record<string, string | string[]>, extra: string[] = []) {
  const res = await request({ url: `${gw.url}/headers`, headers });
  const all = res.status === 200 ? httpbinHeaders(res.body) : {};
  const seen: Record<string, string | string[]> = {};
  for (const name of [...TRACE_HEADERS, ...extra]) {
    const v = all[name];
    if (v !== undefined) seen[name] = v.length === 1 ? v[0] : v;
  }
  return { status: res.status, seen, res };
}

/** An access log line per request with b3's filter state, as Envoy's own logger reads it. */
function filterStateAccessLog(config: Json): void {
  const listeners = (config.static_resources as Json).listeners as Json[];
  const chain = (listeners[0].filter_chains as Json[])[0];
  const hcm = ((chain.filters as Json[])[0] as Json).typed_config as Json;
  hcm.access_log = [
    {
      name: "envoy.access_loggers.stdout",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
        log_format: {
          text_format_source: {
            inline_string:
              "b3-access-log trace=%FILTER_STATE(wasm.wasmgate.trace_id:PLAIN)% " +
              "b3=%FILTER_STATE(wasm.wasmgate.b3:PLAIN)% sampling=%FILTER_STATE(wasm.wasmgate.sampling:PLAIN)%\n",
          },
        },
      },
    },
  ];
}

describe("propagate (the default) with correlation, a reader filter and an access log", () => {
  let gw: Gateway;
  beforeAll(async () => {
    const reader = buildReader();
    gw = await startGateway({
      plugins: [
        {
          name: "b3",
          rootId: "b3",
          configuration: { correlation: { requestHeader: "x-trace-id", responseHeader: "x-trace-id" } },
        },
        { name: "reader", rootId: "reader", wasmPath: reader },
      ],
      mutate: filterStateAccessLog,
    });
  });
  afterAll(() => gw?.stop());

  const READ = [
    "x-trace-id",
    "x-read-trace-id",
    "x-read-span-id",
    "x-read-parent-span-id",
    "x-read-sampling",
    "x-read-b3",
    "x-read-two-segments",
  ];

  test("no incoming context: a 128-bit root is minted, deferred; exposed to the client and other filters", async () => {
    const { status, seen, res } = await echo(gw, {}, READ);
    expect(status).toBe(200);
    const trace = seen["x-b3-traceid"] as string;
    const span = seen["x-b3-spanid"] as string;
    expect(trace).toMatch(HEX32);
    expect(span).toMatch(HEX16);
    expect(seen).toEqual({
      "x-b3-traceid": trace,
      "x-b3-spanid": span,
      "x-trace-id": trace,
      "x-read-trace-id": trace,
      "x-read-span-id": span,
      "x-read-parent-span-id": "<null>",
      "x-read-sampling": "defer",
      "x-read-b3": `${trace}-${span}`,
      // Envoy resolves only the first segment of a get_property path against filter state.
      "x-read-two-segments": "<null>",
    });
    expect(res.headers["x-trace-id"]).toBe(trace);
    await waitFor(() =>
      gw.envoy.logs().includes(`b3-access-log trace=${trace} b3=${trace}-${span} sampling=defer`),
    );
  });

  test.each<{
    name: string;
    headers: Record<string, string | string[]>;
    want: Record<string, string>;
    sampling: string;
  }>([
    {
      name: "incoming multi-header context is forwarded unchanged",
      headers: { "X-B3-TraceId": T, "X-B3-SpanId": S, "X-B3-ParentSpanId": P, "X-B3-Sampled": "1" },
      want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P, "x-b3-sampled": "1" },
      sampling: "accept",
    },
    {
      name: "incoming single header is forwarded unchanged",
      headers: { b3: `${T64}-${S}-1-${P}` },
      want: { b3: `${T64}-${S}-1-${P}` },
      sampling: "accept",
    },
    {
      name: "debug request (b3 d) stays debug",
      headers: { b3: `${T}-${S}-d` },
      want: { b3: `${T}-${S}-d` },
      sampling: "debug",
    },
    {
      name: "debug request (x-b3-flags) stays debug, x-b3-sampled dropped",
      headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1", "x-b3-sampled": "1" },
      want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" },
      sampling: "debug",
    },
    {
      name: "deny travels with its ids",
      headers: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" },
      want: { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" },
      sampling: "deny",
    },
    {
      name: "repeated headers: the first wins and the rest are gone",
      headers: { "x-b3-traceid": [T, T64], "x-b3-spanid": [S, P] },
      want: { "x-b3-traceid": T, "x-b3-spanid": S },
      sampling: "defer",
    },
    {
      name: "upper-case hex is normalised",
      headers: { b3: `${T.toUpperCase()}-${S}-1` },
      want: { b3: `${T}-${S}-1` },
      sampling: "accept",
    },
  ])("$name", async ({ headers, want, sampling }) => {
    const { status, seen } = await echo(gw, headers, ["x-trace-id", "x-read-sampling"]);
    expect(status).toBe(200);
    const trace = want["x-b3-traceid"] ?? want.b3.split("-")[0];
    expect(seen).toEqual({ ...want, "x-trace-id": trace, "x-read-sampling": sampling });
  });

  test("sampling-only deny (b3: 0): no ids, no correlation header", async () => {
    const { seen, res } = await echo(gw, { b3: "0", "x-trace-id": "spoofed" }, ["x-trace-id"]);
    expect(seen).toEqual({ b3: "0" });
    expect(res.headers["x-trace-id"]).toBeUndefined();
  });
});

describe("child mode with W3C and rate 1", () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({
      plugins: [
        {
          name: "b3",
          rootId: "b3",
          configuration: { mode: "child", output: "both", w3c: true, sampling: { rate: 1 } },
        },
      ],
    });
  });
  afterAll(() => gw?.stop());

  test("incoming multi-header context: new span, parent = incoming span, W3C written", async () => {
    const { seen } = await echo(gw, { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-parentspanid": P });
    const span = seen["x-b3-spanid"] as string;
    expect(span).toMatch(HEX16);
    expect(span).not.toBe(S);
    expect(seen).toEqual({
      b3: `${T}-${span}-1-${S}`,
      "x-b3-traceid": T,
      "x-b3-spanid": span,
      "x-b3-parentspanid": S,
      "x-b3-sampled": "1",
      traceparent: `00-${T}-${span}-01`,
      tracestate: `b3=${T}-${span}-1-${S}`,
    });
  });

  test("W3C-only hop in between: tracestate b3= gives back debug, 64-bit id and the parent", async () => {
    const w3cSpan = "00f067aa0ba902b7";
    const { seen } = await echo(gw, {
      traceparent: `00-0000000000000000${T64}-${w3cSpan}-01`,
      tracestate: `rojo=00f067aa0ba902b7,b3=${T64}-${S}-d-${P}`,
    });
    const span = seen["x-b3-spanid"] as string;
    expect(span).toMatch(HEX16);
    expect(seen).toEqual({
      b3: `${T64}-${span}-d-${w3cSpan}`,
      "x-b3-traceid": T64,
      "x-b3-spanid": span,
      "x-b3-parentspanid": w3cSpan,
      "x-b3-flags": "1",
      traceparent: `00-0000000000000000${T64}-${span}-01`,
      tracestate: `b3=${T64}-${span}-d-${w3cSpan},rojo=00f067aa0ba902b7`,
    });
  });

  test("no incoming context: minted root, accepted (rate 1), no parent", async () => {
    const { seen } = await echo(gw, {});
    const trace = seen["x-b3-traceid"] as string;
    const span = seen["x-b3-spanid"] as string;
    expect(trace).toMatch(HEX32);
    expect(seen).toEqual({
      b3: `${trace}-${span}-1`,
      "x-b3-traceid": trace,
      "x-b3-spanid": span,
      "x-b3-sampled": "1",
      traceparent: `00-${trace}-${span}-01`,
      tracestate: `b3=${trace}-${span}-1`,
    });
  });
});

describe.each([
  { policy: "restart", status: 200 },
  { policy: "pass", status: 200 },
  { policy: "strip", status: 200 },
  { policy: "reject", status: 400 },
])("malformed header under policy $policy", ({ policy, status }) => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({
      plugins: [{ name: "b3", rootId: "b3", configuration: { malformed: policy } }],
    });
  });
  afterAll(() => gw?.stop());

  test("x-b3-traceid: zz", async () => {
    const {
      status: got,
      seen,
      res,
    } = await echo(gw, { "x-b3-traceid": "zz", "x-b3-spanid": S, "x-b3-sampled": "1" });
    expect(got).toBe(status);
    if (policy === "restart") {
      const trace = seen["x-b3-traceid"] as string;
      expect(trace).toMatch(HEX32);
      expect(seen).toEqual({ "x-b3-traceid": trace, "x-b3-spanid": seen["x-b3-spanid"] });
      expect(seen["x-b3-spanid"]).toMatch(HEX16);
      expect(seen["x-b3-spanid"]).not.toBe(S);
    } else if (policy === "pass") {
      expect(seen).toEqual({ "x-b3-traceid": "zz", "x-b3-spanid": S, "x-b3-sampled": "1" });
    } else if (policy === "strip") {
      expect(seen).toEqual({});
    } else {
      expect(res.body).toBe("malformed trace context: x-b3-traceid: expected 16 or 32 hex characters\n");
    }
    // Envoy's /stats text shows custom Wasm metrics as wasmcustom.<name>.
    await waitFor(async () => (await gw.envoy.stat(`wasmcustom.b3_malformed_${policy}_total`)) === 1);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
