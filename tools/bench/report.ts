/** Pure renderers of a BenchResult: a Markdown report, JSON, and an SVG chart readable at a glance. */
import { BenchResult, ScenarioResult, VariantResult, slowestVsNative } from "./result";
import { Summary } from "./stats";
import { VariantKind } from "./variants";

// ---------------------------------------------------------------------------------------------------
// Number formatting

/** Integer with thin grouping: 12345 → "12,345"; "–" for NaN. */
export function fmtInt(x: number): string {
  if (!Number.isFinite(x)) return "–";
  return Math.round(x).toLocaleString("en-US");
}

/** Microseconds: one decimal below 100, whole numbers above; "–" for NaN. */
export function fmtUs(x: number): string {
  if (!Number.isFinite(x)) return "–";
  return Math.abs(x) < 100 ? x.toFixed(1) : Math.round(x).toString();
}

/** Signed microseconds for differences: "+3.2", "-0.4". */
export function fmtDeltaUs(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const s = fmtUs(x);
  return x >= 0 ? `+${s}` : s;
}

/** A ratio as "1.23×". */
export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : "–";
}

/** KiB → MiB with one decimal. */
export function fmtMiB(kb: number): string {
  return Number.isFinite(kb) ? (kb / 1024).toFixed(1) : "–";
}

/** Bytes → KiB with one decimal ("–" when absent). */
export function fmtKiB(bytes: number | undefined): string {
  return bytes === undefined || !Number.isFinite(bytes) ? "–" : (bytes / 1024).toFixed(1);
}

/** "median (min–max)" with `f` for each number; the median alone for a single sample. */
export function fmtSpread(s: Summary, f: (x: number) => string): string {
  if (s.n === 0) return "–";
  if (s.n === 1) return f(s.median);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

// ---------------------------------------------------------------------------------------------------
// JSON

/** JSON with NaN and ±Infinity written as null, two-space indented, newline-terminated. */
export function renderJson(result: BenchResult): string {
  return (
    JSON.stringify(result, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n"
  );
}

// ---------------------------------------------------------------------------------------------------
// Markdown

const KIND_LABEL: Record<VariantKind, string> = {
  baseline: "no filter",
  sdk: "SDK floor",
  plugin: "wasmgate (AS)",
  native: "Envoy native",
  peer: "Go SDK",
};

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function variantRow(v: VariantResult): string[] {
  const s = v.summary;
  return [
    `\`${v.id}\``,
    KIND_LABEL[v.kind],
    fmtKiB(v.wasmBytes),
    fmtSpread(s.rps, fmtInt),
    fmtUs(s.c1P50Us.median),
    fmtUs(s.c1P99Us.median),
    fmtUs(s.fixedP50Us.median),
    fmtUs(s.fixedP99Us.median),
    fmtSpread(s.cpuUsPerReq, fmtUs),
    fmtMiB(v.rssAfterWarmupKb),
  ];
}

/** The Markdown table of a scenario's variants. */
export function variantsTable(s: ScenarioResult): string {
  return table(
    [
      "variant",
      "kind",
      ".wasm KiB",
      "req/s at saturation",
      "c=1 p50 µs",
      "c=1 p99 µs",
      `${fmtInt(s.fixedRate)}/s p50 µs`,
      `${fmtInt(s.fixedRate)}/s p99 µs`,
      "Envoy CPU µs/req",
      "RSS MiB",
    ],
    s.variants.map(variantRow),
  );
}

/** The Markdown table of a scenario's pairwise ratios. */
export function pairsTable(s: ScenarioResult): string {
  return table(
    [
      "variant",
      "against",
      "req/s ratio",
      "CPU/req ratio",
      "CPU/req Δ µs",
      "c=1 p50 Δ µs",
      "fixed-rate p99 ratio",
    ],
    s.pairs.map((p) => [
      `\`${p.a}\``,
      `\`${p.b}\` (${p.relation})`,
      fmtSpread(p.rpsRatio, fmtRatio),
      fmtSpread(p.cpuRatio, fmtRatio),
      fmtDeltaUs(p.cpuDeltaUs.median),
      fmtDeltaUs(p.c1P50DeltaUs.median),
      fmtRatio(p.fixedP99Ratio.median),
    ]),
  );
}

function runsTable(s: ScenarioResult): string {
  return table(
    ["variant", "req/s per round", "CPU µs/req per round", "c=1 p50 µs per round"],
    s.variants.map((v) => {
      const by = (f: (r: VariantResult["runs"][number]) => number, fmt: (x: number) => string) =>
        [...v.runs]
          .sort((a, b) => a.rep - b.rep)
          .map((r) => fmt(f(r)))
          .join(", ") || "–";
      return [
        `\`${v.id}\``,
        by((r) => r.rps, fmtInt),
        by((r) => r.cpuUsPerReq, fmtUs),
        by((r) => r.c1P50Us, fmtUs),
      ];
    }),
  );
}

/** The host-call profile table: calls per request, and the calls that make them up. */
export function hostCallsTable(r: BenchResult): string {
  return table(
    ["variant", "host calls / request", "by call (per request)"],
    r.hostCalls.map((p) => [
      `\`${p.id}\``,
      p.error ? "–" : fmtUs(p.perRequest),
      p.error
        ? `not counted: ${p.error}`
        : p.byName.map((c) => `${c.name} ${+c.perRequest.toFixed(2)}`).join(", "),
    ]),
  );
}

export function renderMarkdown(r: BenchResult): string {
  const m = r.machine;
  const st = r.settings;
  const out: string[] = [];
  out.push(`# wasmgate benchmark (${r.mode} run, ${r.startedAt.slice(0, 10)})`, "");
  if (r.loaded) {
    out.push(
      `> **Taken on a loaded machine**: 1-minute load average ${m.loadStart.toFixed(2)} at the start` +
        `${m.loadEnd !== undefined ? ` and ${m.loadEnd.toFixed(2)} at the end` : ""} (other jobs were running). ` +
        "Absolute numbers are low and noisy; the per-round ratios are the more robust figures. Rerun on an idle machine.",
      "",
    );
  }
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.os}, Linux ${m.kernel}`,
    `- 1-minute load average: ${m.loadStart.toFixed(2)} at the start` +
      `${m.loadEnd !== undefined ? `, ${m.loadEnd.toFixed(2)} at the end (the run itself keeps both cores busy)` : ""}`,
    `- Envoy ${m.envoy} (V8), \`--concurrency 1\`, pinned to CPU ${st.envoyCpu ?? "(not pinned)"}; ` +
      `wrk ${m.wrk} and the fixed-rate client pinned to CPU ${st.loadCpu ?? "(not pinned)"} (go-httpbin too); loopback only`,
    `- ${st.reps} interleaved round(s) per variant (the order rotates each round) after a ${st.warmupS} s warm-up; ` +
      `per round: ${st.saturationS} s saturation (wrk, ${st.connections} connections), ${st.c1S} s at concurrency 1 (wrk), ` +
      `${st.fixedS} s at a fixed rate (tools/bench/loadgen, open loop, ${st.fixedConnections} connections)`,
    `- Request: \`GET ${st.requestPath}\` with ${st.requestHeaders.map((h) => `\`${h}\``).join(", ")}`,
    `- Figures are medians over the rounds, "(min–max)" where shown; ratios are computed round by round, then the median is taken. ` +
      "CPU per request is Envoy's utime+stime delta (/proc/<pid>/stat) over the fixed-rate phase divided by the requests served; " +
      "RSS is VmRSS after the warm-up.",
    `- Command: \`${r.command}\`; ${m.go}; Node ${m.node}`,
    "",
  );
  for (const s of r.scenarios) {
    out.push(
      `## ${s.label}`,
      "",
      variantsTable(s),
      "",
      "### Ratios (per round, median (min–max))",
      "",
      pairsTable(s),
      "",
    );
    const worst = slowestVsNative(s);
    if (worst) {
      out.push(
        `Slowest plugin relative to its native equivalent (CPU per request): \`${worst.a}\`, ` +
          `${fmtRatio(worst.cpuRatio.median)} of \`${worst.b}\` (${fmtDeltaUs(worst.cpuDeltaUs.median)} µs per request).`,
        "",
      );
    }
    const notes = s.variants.filter(
      (v) => v.note || v.errors.length > 0 || v.logBytesPerRequest !== undefined,
    );
    if (notes.length > 0) {
      out.push("Variant notes:", "");
      for (const v of notes) {
        const parts = [v.note, ...v.errors.map((e) => `**error**: ${e}`)];
        if (v.logBytesPerRequest !== undefined)
          parts.push(`${fmtInt(v.logBytesPerRequest)} log bytes per request`);
        out.push(`- \`${v.id}\`: ${parts.filter(Boolean).join("; ")}`);
      }
      out.push("");
    }
    out.push("<details><summary>Every round</summary>", "", runsTable(s), "", "</details>", "");
  }
  if (r.hostCalls.length > 0) {
    out.push(
      "## Host calls per request (emulator)",
      "",
      "Counted in tools/emulator with the same module, root id, configuration and request " +
        "(`npx tsx tools/bench/hostcalls.ts`); each is a crossing from V8 into Envoy, and most copy a string " +
        "through the guest's allocator.",
      "",
      hostCallsTable(r),
      "",
    );
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// SVG

export const KIND_COLOR: Record<VariantKind, string> = {
  baseline: "#7f7f7f",
  sdk: "#9ecae1",
  plugin: "#3182bd",
  native: "#31a354",
  peer: "#e6550d",
};

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const NICE_STEPS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

/** A round axis maximum ≥ x (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten). */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of NICE_STEPS) if (m * p >= x * (1 - 1e-12)) return Number((m * p).toPrecision(12));
  return 10 * p;
}

const ROW = 22;
const LABEL_W = 150;
const PANEL_W = 340;
const GAP = 80;

interface Panel {
  title: string;
  value: (v: VariantResult) => Summary;
  fmt: (x: number) => string;
}

const PANELS: Panel[] = [
  { title: "requests/s at saturation (higher is better)", value: (v) => v.summary.rps, fmt: fmtInt },
  {
    title: "Envoy CPU µs per request at the fixed rate (lower is better)",
    value: (v) => v.summary.cpuUsPerReq,
    fmt: fmtUs,
  },
];

function scenarioSvg(s: ScenarioResult, y0: number): { body: string[]; height: number } {
  const body: string[] = [];
  body.push(`<text x="10" y="${y0 + 16}" class="h2">${esc(s.label)}</text>`);
  const top = y0 + 44;
  PANELS.forEach((p, i) => {
    const x0 = LABEL_W + i * (PANEL_W + GAP);
    const max = niceMax(Math.max(0, ...s.variants.map((v) => p.value(v).max).filter(Number.isFinite)));
    const scale = (x: number) => (Number.isFinite(x) ? (x / max) * PANEL_W : 0);
    body.push(`<text x="${x0}" y="${top - 8}" class="t">${esc(p.title)}</text>`);
    body.push(`<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + s.variants.length * ROW}" class="axis"/>`);
    body.push(
      `<text x="${x0 + PANEL_W}" y="${top + s.variants.length * ROW + 14}" class="s" text-anchor="end">${esc(p.fmt(max))}</text>`,
    );
    s.variants.forEach((v, j) => {
      const y = top + j * ROW;
      const sum = p.value(v);
      const w = scale(sum.median);
      // the value goes after the bar or its whisker, whichever ends later
      const labelAt = sum.n > 1 ? Math.max(w, scale(sum.max)) : w;
      body.push(
        `<rect x="${x0}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${KIND_COLOR[v.kind]}">` +
          `<title>${esc(`${v.id}: ${p.fmt(sum.median)}`)}</title></rect>`,
      );
      if (sum.n > 1) {
        const ym = (y + ROW / 2).toFixed(1);
        body.push(
          `<line x1="${scale(sum.min).toFixed(1)}" y1="${ym}" x2="${scale(sum.max).toFixed(1)}" y2="${ym}" class="whisker" transform="translate(${x0},0)"/>`,
        );
      }
      body.push(
        `<text x="${(x0 + labelAt + 4).toFixed(1)}" y="${y + ROW / 2 + 4}" class="s">${esc(p.fmt(sum.median))}</text>`,
      );
    });
  });
  s.variants.forEach((v, j) => {
    body.push(
      `<text x="${LABEL_W - 8}" y="${top + j * ROW + ROW / 2 + 4}" class="l" text-anchor="end">${esc(v.id)}</text>`,
    );
  });
  return { body, height: 44 + s.variants.length * ROW + 30 };
}

/** An SVG with, per scenario, bars of throughput and CPU per request (median, min–max whiskers). */
export function renderSvg(r: BenchResult): string {
  const width = LABEL_W + PANELS.length * PANEL_W + (PANELS.length - 1) * GAP + 70;
  const parts: string[] = [];
  parts.push(
    `<text x="10" y="22" class="h1">${esc(`wasmgate benchmark, ${r.startedAt.slice(0, 10)} (${r.mode})`)}</text>`,
  );
  const sub =
    `Envoy ${r.machine.envoy.split("/")[1] ?? r.machine.envoy}, --concurrency 1, ${r.machine.cpus} CPUs` +
    (r.loaded ? `; LOADED MACHINE (load ${r.machine.loadStart.toFixed(1)})` : "");
  parts.push(`<text x="10" y="40" class="s">${esc(sub)}</text>`);
  // legend
  let lx = 10;
  for (const kind of Object.keys(KIND_COLOR) as VariantKind[]) {
    parts.push(`<rect x="${lx}" y="50" width="12" height="12" fill="${KIND_COLOR[kind]}"/>`);
    parts.push(`<text x="${lx + 16}" y="60" class="s">${esc(KIND_LABEL[kind])}</text>`);
    lx += 26 + KIND_LABEL[kind].length * 7;
  }
  let y = 70;
  for (const s of r.scenarios) {
    const { body, height } = scenarioSvg(s, y);
    parts.push(...body);
    y += height;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    "<style>.h1{font-size:16px;font-weight:bold}.h2{font-size:14px;font-weight:bold}.t{font-size:12px}" +
      ".s{font-size:11px;fill:#333}.l{font-size:12px}.axis{stroke:#000}.whisker{stroke:#000;stroke-width:1.5}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
