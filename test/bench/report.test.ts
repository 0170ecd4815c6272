// The benchmark's result computations and renderers (Markdown, JSON, SVG) on a hand-made result.
import {
  fmtDeltaUs,
  fmtInt,
  fmtKiB,
  fmtMiB,
  fmtRatio,
  fmtSpread,
  fmtUs,
  hostCallsTable,
  niceMax,
  pairsTable,
  renderJson,
  renderMarkdown,
  renderSvg,
  variantsTable,
} from "../../tools/bench/report";
import {
  BenchResult,
  RunSample,
  ScenarioResult,
  VariantResult,
  comparePair,
  series,
  slowestVsNative,
  summarizeRuns,
} from "../../tools/bench/result";
import { summarize } from "../../tools/bench/stats";
import { VariantKind } from "../../tools/bench/variants";

function run(rep: number, rps: number, cpu: number, c1P50Us: number, fixedP99Us: number): RunSample {
  return {
    rep,
    order: rep,
    rps,
    satErrors: 0,
    satCpuUsPerReq: cpu / 2,
    c1P50Us,
    c1P99Us: c1P50Us * 2,
    c1MaxUs: c1P50Us * 10,
    c1Errors: 0,
    fixedP50Us: fixedP99Us / 4,
    fixedP99Us,
    fixedMaxUs: fixedP99Us * 2,
    fixedAchievedRate: 1000,
    fixedErrors: 0,
    cpuUsPerReq: cpu,
    rssKb: 65536,
  };
}

function variant(
  id: string,
  kind: VariantKind,
  runs: RunSample[],
  extra: Partial<VariantResult> = {},
): VariantResult {
  return {
    id,
    kind,
    warmupRps: 10_000,
    rssAfterWarmupKb: 64 * 1024,
    errors: [],
    runs,
    summary: summarizeRuns(runs),
    ...extra,
  };
}

const none = variant("none", "baseline", [run(0, 10_000, 50, 100, 400), run(1, 12_000, 40, 110, 500)]);
const hello = variant("hello", "plugin", [run(0, 8_000, 60, 130, 800), run(1, 9_000, 60, 120, 600)], {
  family: "hello",
  wasmBytes: 27_648,
  note: "config from wasmplugin.yaml",
});
const native = variant(
  "hello-native",
  "native",
  [run(0, 9_500, 40, 105, 400), run(1, 11_000, 30, 112, 450)],
  {
    family: "hello",
  },
);
const rl = variant("ratelimit", "plugin", [run(1, 7_000, 120, 150, 900)], {
  family: "ratelimit",
  errors: ["round 1: did not start"],
  logBytesPerRequest: 310.4,
});
const rlNative = variant("ratelimit-native", "native", [
  run(0, 9_000, 45, 100, 300),
  run(1, 9_000, 40, 100, 300),
]);

const scenario: ScenarioResult = {
  id: "direct",
  label: "Envoy direct_response (filter chain only)",
  fixedRate: 2500,
  variants: [none, hello, native, rl, rlNative],
  pairs: [
    comparePair(hello, none, "vs no filter", 2),
    comparePair(hello, native, "vs native", 2),
    comparePair(rl, rlNative, "vs native", 2),
  ],
};

const result: BenchResult = {
  schema: 1,
  mode: "full",
  startedAt: "2026-11-25T20:00:00.000Z",
  finishedAt: "2026-11-25T20:40:00.000Z",
  loaded: true,
  command: "npx tsx tools/bench/run.ts",
  machine: {
    cpuModel: "Test CPU",
    cpus: 2,
    memoryGiB: 24,
    kernel: "6.1.0",
    os: "Debian GNU/Linux 12 (bookworm)",
    envoy: "abc/1.39.0/Clean/RELEASE/BoringSSL",
    wrk: "4.1.0",
    go: "go version go1.26.8 linux/amd64",
    node: "v20.19.0",
    loadStart: 3.25,
    loadEnd: 2.5,
  },
  settings: {
    reps: 2,
    warmupS: 5,
    saturationS: 5,
    c1S: 4,
    fixedS: 5,
    connections: 32,
    fixedConnections: 16,
    fixedFraction: 0.5,
    envoyCpu: "0",
    loadCpu: "1",
    requestPath: "/get",
    requestHeaders: ["user-agent: wasmgate-bench/1"],
  },
  scenarios: [scenario],
  hostCalls: [
    {
      id: "hello",
      perRequest: 3,
      byName: [
        { name: "proxy_get_log_level", perRequest: 1 },
        { name: "proxy_increment_metric", perRequest: 1 },
        { name: "proxy_replace_header_map_value", perRequest: 1 },
      ],
    },
    { id: "hello-go", perRequest: NaN, byName: [], error: "the emulator refuses the module (x)" },
  ],
};

describe("formatting", () => {
  test.each([
    { name: "integer with grouping", got: fmtInt(12345.6), expected: "12,346" },
    { name: "NaN integer", got: fmtInt(NaN), expected: "–" },
    { name: "small µs keep one decimal", got: fmtUs(42.26), expected: "42.3" },
    { name: "large µs are whole", got: fmtUs(1234.5), expected: "1235" },
    { name: "positive delta has a sign", got: fmtDeltaUs(3.21), expected: "+3.2" },
    { name: "negative delta", got: fmtDeltaUs(-0.44), expected: "-0.4" },
    { name: "ratio", got: fmtRatio(1.2345), expected: "1.23×" },
    { name: "NaN ratio", got: fmtRatio(NaN), expected: "–" },
    { name: "KiB → MiB", got: fmtMiB(65536), expected: "64.0" },
    { name: "bytes → KiB", got: fmtKiB(27_648), expected: "27.0" },
    { name: "no module", got: fmtKiB(undefined), expected: "–" },
    { name: "spread of several", got: fmtSpread(summarize([3, 1, 2]), fmtInt), expected: "2 (1–3)" },
    { name: "spread of one is the value", got: fmtSpread(summarize([7]), fmtInt), expected: "7" },
    { name: "spread of none", got: fmtSpread(summarize([]), fmtInt), expected: "–" },
  ])("$name", ({ got, expected }) => {
    expect(got).toBe(expected);
  });

  test.each([
    { name: "exact power of ten", x: 100, expected: 100 },
    { name: "up to 1.2×", x: 112, expected: 120 },
    { name: "up to 1.5×", x: 130, expected: 150 },
    { name: "up to 3×", x: 27_725, expected: 30_000 },
    { name: "up to 5×", x: 462, expected: 500 },
    { name: "up to 10×", x: 8100, expected: 10_000 },
    { name: "below one", x: 0.03, expected: 0.03 },
    { name: "zero", x: 0, expected: 1 },
  ])("niceMax: $name", ({ x, expected }) => {
    expect(niceMax(x)).toBeCloseTo(expected, 10);
  });
});

describe("result computations", () => {
  test("series is indexed by round, NaN where a round is missing", () => {
    expect(series(rl, "rps", 2)).toEqual([NaN, 7_000]);
  });

  test("comparePair: ratios and deltas round by round", () => {
    const p = comparePair(hello, none, "vs no filter", 2);
    expect(p.rpsRatio.values).toEqual([0.8, 0.75]);
    expect(p.cpuRatio.values).toEqual([1.2, 1.5]);
    expect(p.cpuDeltaUs.values).toEqual([10, 20]);
    expect(p.c1P50DeltaUs.values).toEqual([30, 10]);
    expect(p.fixedP99Ratio.values).toEqual([2, 1.2]);
  });

  test("a round one side lacks is left out of the pair", () => {
    const p = comparePair(rl, rlNative, "vs native", 2);
    expect(p.cpuRatio.values).toEqual([3]);
  });

  test("slowestVsNative: the plugin with the highest CPU ratio against its native equivalent", () => {
    const worst = slowestVsNative(scenario)!;
    expect([worst.a, worst.b, worst.cpuRatio.median]).toEqual(["ratelimit", "ratelimit-native", 3]);
  });

  test("slowestVsNative: none without native pairs", () => {
    expect(
      slowestVsNative({ ...scenario, pairs: [comparePair(hello, none, "vs no filter", 2)] }),
    ).toBeUndefined();
  });
});

describe("Markdown", () => {
  test("variants table: one row per variant with median (min–max) where it matters", () => {
    expect(variantsTable(scenario).split("\n")).toEqual([
      "| variant | kind | .wasm KiB | req/s at saturation | c=1 p50 µs | c=1 p99 µs | 2,500/s p50 µs | 2,500/s p99 µs | Envoy CPU µs/req | RSS MiB |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      "| `none` | no filter | – | 11,000 (10,000–12,000) | 105 | 210 | 113 | 450 | 45.0 (40.0–50.0) | 64.0 |",
      "| `hello` | wasmgate (AS) | 27.0 | 8,500 (8,000–9,000) | 125 | 250 | 175 | 700 | 60.0 (60.0–60.0) | 64.0 |",
      "| `hello-native` | Envoy native | – | 10,250 (9,500–11,000) | 109 | 217 | 106 | 425 | 35.0 (30.0–40.0) | 64.0 |",
      "| `ratelimit` | wasmgate (AS) | – | 7,000 | 150 | 300 | 225 | 900 | 120 | 64.0 |",
      "| `ratelimit-native` | Envoy native | – | 9,000 (9,000–9,000) | 100 | 200 | 75.0 | 300 | 42.5 (40.0–45.0) | 64.0 |",
    ]);
  });

  test("host calls table", () => {
    expect(hostCallsTable(result).split("\n")).toEqual([
      "| variant | host calls / request | by call (per request) |",
      "| --- | --- | --- |",
      "| `hello` | 3.0 | proxy_get_log_level 1, proxy_increment_metric 1, proxy_replace_header_map_value 1 |",
      "| `hello-go` | – | not counted: the emulator refuses the module (x) |",
    ]);
  });

  test("pairs table", () => {
    expect(pairsTable(scenario).split("\n")).toEqual([
      "| variant | against | req/s ratio | CPU/req ratio | CPU/req Δ µs | c=1 p50 Δ µs | fixed-rate p99 ratio |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      "| `hello` | `none` (vs no filter) | 0.78× (0.75×–0.80×) | 1.35× (1.20×–1.50×) | +15.0 | +20.0 | 1.60× |",
      "| `hello` | `hello-native` (vs native) | 0.83× (0.82×–0.84×) | 1.75× (1.50×–2.00×) | +25.0 | +16.5 | 1.67× |",
      "| `ratelimit` | `ratelimit-native` (vs native) | 0.78× | 3.00× | +80.0 | +50.0 | 3.00× |",
    ]);
  });

  const md = renderMarkdown(result);
  test.each([
    { name: "title with mode and date", line: "# wasmgate benchmark (full run, 2026-11-25)" },
    {
      name: "loaded-machine warning",
      line: "> **Taken on a loaded machine**: 1-minute load average 3.25 at the start and 2.50 at the end",
    },
    {
      name: "machine",
      line: "- Machine: Test CPU, 2 CPUs, 24 GiB, Debian GNU/Linux 12 (bookworm), Linux 6.1.0",
    },
    {
      name: "pinning",
      line: "`--concurrency 1`, pinned to CPU 0; wrk 4.1.0 and the fixed-rate client pinned to CPU 1",
    },
    { name: "scenario heading", line: "## Envoy direct_response (filter chain only)" },
    {
      name: "slowest plugin vs native",
      line: "Slowest plugin relative to its native equivalent (CPU per request): `ratelimit`, 3.00× of `ratelimit-native` (+80.0 µs per request).",
    },
    { name: "plugin note", line: "- `hello`: config from wasmplugin.yaml" },
    {
      name: "errors and log bytes",
      line: "- `ratelimit`: **error**: round 1: did not start; 310 log bytes per request",
    },
    { name: "every round", line: "| `none` | 10,000, 12,000 | 50.0, 40.0 | 100, 110 |" },
  ])("contains $name", ({ line }) => {
    expect(md).toContain(line);
  });

  test("an idle machine gets no warning", () => {
    expect(renderMarkdown({ ...result, loaded: false })).not.toContain("loaded machine");
  });
});

describe("JSON", () => {
  test("NaN becomes null and the text ends with a newline", () => {
    const text = renderJson({ ...result, scenarios: [{ ...scenario, variants: [rl], pairs: [] }] });
    expect(text.endsWith("}\n")).toBe(true);
    const back = JSON.parse(text);
    expect(back.scenarios[0].variants[0].summary.rps.median).toBe(7000);
    expect(back.scenarios[0].variants[0].wasmBytes).toBeUndefined();
    const withNaN = JSON.parse(renderJson({ ...result, scenarios: [{ ...scenario, fixedRate: NaN }] }));
    expect(withNaN.scenarios[0].fixedRate).toBeNull();
  });
});

describe("SVG", () => {
  const svg = renderSvg(result);
  const bars = [
    ...svg.matchAll(
      /<rect x="(\d+)" y="[\d.]+" width="([\d.]+)" height="14" fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g,
    ),
  ].map((m) => ({ x: Number(m[1]), width: Number(m[2]), color: m[3], title: m[4] }));

  test("is one SVG document with the loaded-machine mark", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("LOADED MACHINE (load 3.3)");
  });

  test("one throughput bar and one CPU bar per variant, coloured by kind", () => {
    expect(bars.map((b) => `${b.title} ${b.color}`)).toEqual([
      "none: 11,000 #7f7f7f",
      "hello: 8,500 #3182bd",
      "hello-native: 10,250 #31a354",
      "ratelimit: 7,000 #3182bd",
      "ratelimit-native: 9,000 #31a354",
      "none: 45.0 #7f7f7f",
      "hello: 60.0 #3182bd",
      "hello-native: 35.0 #31a354",
      "ratelimit: 120 #3182bd",
      "ratelimit-native: 42.5 #31a354",
    ]);
  });

  test("bar lengths are proportional to a round axis maximum (12,000 req/s and 120 µs, 340 px)", () => {
    expect(bars.map((b) => b.width)).toEqual([311.7, 240.8, 290.4, 198.3, 255, 127.5, 170, 99.2, 340, 120.4]);
  });

  test("a value label follows its bar or its whisker, whichever ends later", () => {
    // none: median 11,000 (311.7 px) but max 12,000 (340 px) → label at 150 + 340 + 4
    expect(svg).toContain('<text x="494.0" y="129" class="s">11,000</text>');
    // ratelimit: one round, no whisker → label right after the bar (150 + 198.3 + 4)
    expect(svg).toContain('<text x="352.3" y="195" class="s">7,000</text>');
  });

  test("labels are escaped", () => {
    const odd = { ...result, scenarios: [{ ...scenario, label: "a <b> & c" }] };
    expect(renderSvg(odd)).toContain("a &lt;b&gt; &amp; c");
  });
});
