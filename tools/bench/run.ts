/**
 * The benchmark: what each plugin costs against no filter, Envoy's native filters and the Go SDK.
 *
 *   npx tsx tools/bench/run.ts [--smoke] [--only id,...] [--scenarios direct,httpbin] [--reps N] [--out DIR]
 *   npx tsx tools/bench/run.ts --render [tools/bench/results/latest.json]   (re-render md and svg)
 *
 * Envoy 1.39 (`--concurrency 1`) is pinned to CPU 0 and the load generators (wrk, tools/bench/loadgen),
 * go-httpbin and this runner to CPU 1, on loopback. Every variant of a scenario runs in its own Envoy,
 * all started up front and warmed up; then the rounds interleave the variants (the order rotates each
 * round). A full run writes tools/bench/results/latest.{md,json,svg}; --smoke (one short round of a
 * subset, for CI) and partial runs (--only, --scenarios, --reps) write under build/bench/ instead.
 * See tools/bench/README.md.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  EnvoyInstance,
  findEnvoyBinary,
  request,
  startEnvoy,
  startHttpbin,
  HttpbinInstance,
} from "../harness";
import { HostCallProfile, hostCallProfile } from "./hostcalls";
import { runLoadgen, runWrk, wrkErrors, wrkRps } from "./load";
import { describeMachine } from "./machine";
import { pinProcess, readCpuTicks, readRssKb, ticksPerSecond } from "./proc";
import { renderJson, renderMarkdown, renderSvg } from "./report";
import {
  BenchResult,
  RunSample,
  ScenarioResult,
  Settings,
  VariantResult,
  comparePair,
  summarizeRuns,
  isLoaded,
} from "./result";
import { BENCH_BUILD_DIR, LOADGEN_BIN, ROOT, buildGo, buildWasm, ensureDebianTools } from "./setup";
import { cpuMicrosPerRequest, fixedRate } from "./stats";
import {
  REQUEST_HEADERS,
  SCENARIOS,
  ScenarioId,
  Variant,
  allVariants,
  comparisonPairs,
  selectVariants,
  variantBootstrap,
} from "./variants";

export interface Options {
  smoke: boolean;
  only?: string[];
  scenarios: ScenarioId[];
  reps?: number;
  out?: string;
  pin: boolean;
}

const USAGE =
  "usage: tsx tools/bench/run.ts [--smoke] [--only id,...] [--scenarios direct,httpbin] [--reps N] [--out DIR] [--no-pin]";

export function parseArgs(argv: string[]): Options {
  const o: Options = { smoke: false, scenarios: ["direct", "httpbin"], pin: true };
  const list = (v: string | undefined, flag: string) => {
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--smoke") o.smoke = true;
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--only") o.only = list(argv[++i], a);
    else if (a === "--scenarios") {
      const s = list(argv[++i], a);
      for (const x of s)
        if (!(x in SCENARIOS)) throw new Error(`--scenarios: unknown scenario "${x}"\n${USAGE}`);
      o.scenarios = s as ScenarioId[];
    } else if (a === "--reps") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`--reps: expected 1..50\n${USAGE}`);
      o.reps = n;
    } else if (a === "--out") {
      const v = argv[++i];
      if (!v) throw new Error(`--out needs a directory\n${USAGE}`);
      o.out = path.resolve(v);
    } else if (a === "--help" || a === "-h") throw new Error(USAGE);
    else throw new Error(`unknown argument "${a}"\n${USAGE}`);
  }
  return o;
}

/** Durations and repetitions of a full run and of a smoke run. */
export function settingsFor(o: Options): Omit<Settings, "envoyCpu" | "loadCpu"> {
  const base = {
    connections: 32,
    fixedConnections: 16,
    fixedFraction: 0.5,
    requestPath: SCENARIOS.direct.path,
    requestHeaders: REQUEST_HEADERS.map(([k, v]) => `${k}: ${v}`),
  };
  if (o.smoke) return { ...base, reps: o.reps ?? 1, warmupS: 1, saturationS: 1, c1S: 1, fixedS: 1 };
  return { ...base, reps: o.reps ?? 5, warmupS: 5, saturationS: 5, c1S: 4, fixedS: 5 };
}

/** The variants a smoke run keeps in each scenario (unless --only says otherwise). */
export const SMOKE_SUBSET: Record<ScenarioId, string[]> = {
  direct: ["none", "empty", "hello", "hello-native", "hello-go"],
  httpbin: ["none", "hello"],
};

const t0 = Date.now();
/** Progress lines carry the seconds since the start, so slow phases are easy to spot. */
const log = (line: string) =>
  process.stdout.write(
    line.startsWith("[") ? `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${line}\n` : `${line}\n`,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Live {
  variant: Variant;
  envoy?: EnvoyInstance;
  url: string;
  result: VariantResult;
  requests: number;
}

function emptyResult(v: Variant): VariantResult {
  return {
    id: v.id,
    kind: v.kind,
    family: v.family,
    note: v.note,
    wasmBytes: v.wasmPath && fs.existsSync(v.wasmPath) ? fs.statSync(v.wasmPath).size : undefined,
    warmupRps: NaN,
    rssAfterWarmupKb: NaN,
    errors: [],
    runs: [],
    summary: summarizeRuns([]),
  };
}

function errText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n").slice(0, 3).join(" ").slice(0, 300);
}

async function startVariant(
  v: Variant,
  scenario: ScenarioId,
  ctx: RunContext,
  upstreamPort?: number,
): Promise<Live> {
  const live: Live = { variant: v, url: "", result: emptyResult(v), requests: 0 };
  try {
    const config = variantBootstrap(v, { scenario, upstreamPort, tmpDir: ctx.tmpDir });
    live.envoy = await startEnvoy({ config, name: `bench-${scenario}-${v.id}`, concurrency: 1, cwd: ROOT });
    if (ctx.envoyCpu !== null) pinProcess(live.envoy.pid, ctx.envoyCpu);
    const [listener] = await live.envoy.listeners();
    live.url = `http://127.0.0.1:${listener!.port}${SCENARIOS[scenario].path}`;
    const headers = Object.fromEntries(REQUEST_HEADERS.map(([k, val]) => [k, val]));
    const res = await request({ url: live.url, headers });
    live.requests++;
    if (res.status !== 200)
      throw new Error(`probe request answered ${res.status}: ${res.body.slice(0, 200)}`);
  } catch (e) {
    live.result.errors.push(`did not start: ${errText(e)}`);
    await live.envoy?.stop();
    live.envoy = undefined;
  }
  return live;
}

interface RunContext {
  settings: Settings;
  envoyCpu: string | null;
  loadCpu: string | null;
  tmpDir: string;
  tck: number;
}

function alive(l: Live): l is Live & { envoy: EnvoyInstance } {
  return l.envoy !== undefined && l.envoy.process.running;
}

async function warmUp(l: Live, ctx: RunContext): Promise<void> {
  if (!alive(l)) return;
  try {
    const w = await runWrk({
      url: l.url,
      connections: ctx.settings.connections,
      durationS: ctx.settings.warmupS,
      headers: REQUEST_HEADERS,
      cpu: ctx.loadCpu ?? undefined,
    });
    l.requests += w.requests;
    l.result.warmupRps = wrkRps(w);
    if (wrkErrors(w) > 0)
      l.result.errors.push(`warm-up: ${wrkErrors(w)} errors (${JSON.stringify(w.errors)})`);
    await sleep(200);
    l.result.rssAfterWarmupKb = readRssKb(l.envoy.pid);
  } catch (e) {
    l.result.errors.push(`warm-up failed: ${errText(e)}`);
  }
}

async function measure(l: Live, rep: number, order: number, rate: number, ctx: RunContext): Promise<void> {
  if (!alive(l)) return;
  const st = ctx.settings;
  const cpu = ctx.loadCpu ?? undefined;
  const pid = l.envoy.pid;
  const sample: RunSample = {
    rep,
    order,
    rps: NaN,
    satErrors: NaN,
    satCpuUsPerReq: NaN,
    c1P50Us: NaN,
    c1P99Us: NaN,
    c1MaxUs: NaN,
    c1Errors: NaN,
    fixedP50Us: NaN,
    fixedP99Us: NaN,
    fixedMaxUs: NaN,
    fixedAchievedRate: NaN,
    fixedErrors: NaN,
    cpuUsPerReq: NaN,
    rssKb: NaN,
  };
  try {
    let t0 = readCpuTicks(pid);
    const sat = await runWrk({
      url: l.url,
      connections: st.connections,
      durationS: st.saturationS,
      headers: REQUEST_HEADERS,
      cpu,
    });
    let t1 = readCpuTicks(pid);
    l.requests += sat.requests;
    sample.rps = wrkRps(sat);
    sample.satErrors = wrkErrors(sat);
    sample.satCpuUsPerReq = cpuMicrosPerRequest(t1 - t0, ctx.tck, sat.requests);

    const c1 = await runWrk({ url: l.url, connections: 1, durationS: st.c1S, headers: REQUEST_HEADERS, cpu });
    l.requests += c1.requests;
    sample.c1P50Us = c1.latency.p50;
    sample.c1P99Us = c1.latency.p99;
    sample.c1MaxUs = c1.latency.max;
    sample.c1Errors = wrkErrors(c1);

    t0 = readCpuTicks(pid);
    const fx = await runLoadgen({
      binary: LOADGEN_BIN,
      url: l.url,
      rate,
      durationS: st.fixedS,
      connections: st.fixedConnections,
      headers: REQUEST_HEADERS,
      cpu,
    });
    t1 = readCpuTicks(pid);
    l.requests += fx.completed;
    sample.fixedP50Us = fx.p50Us;
    sample.fixedP99Us = fx.p99Us;
    sample.fixedMaxUs = fx.maxUs;
    sample.fixedAchievedRate = fx.achievedRate;
    sample.fixedErrors = fx.errors + fx.non2xx + fx.unsent;
    sample.cpuUsPerReq = cpuMicrosPerRequest(t1 - t0, ctx.tck, fx.completed);
    sample.rssKb = readRssKb(pid);
    const errs = sample.satErrors + sample.c1Errors + sample.fixedErrors;
    if (errs > 0) {
      l.result.errors.push(
        `round ${rep + 1}: ${sample.satErrors} saturation, ${sample.c1Errors} c=1 and ${sample.fixedErrors} fixed-rate errors` +
          (fx.firstError ? ` (${fx.firstError})` : ""),
      );
    }
  } catch (e) {
    l.result.errors.push(`round ${rep + 1}: ${errText(e)}`);
  }
  l.result.runs.push(sample);
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "–");
  log(
    `[bench]   ${l.variant.id.padEnd(16)} ${f(sample.rps).padStart(7)} req/s  c1 p50 ${f(sample.c1P50Us)} µs  ` +
      `@${rate}/s p99 ${f(sample.fixedP99Us)} µs  cpu ${f(sample.cpuUsPerReq, 1)} µs/req`,
  );
}

async function runScenario(id: ScenarioId, variants: Variant[], ctx: RunContext): Promise<ScenarioResult> {
  const sc = SCENARIOS[id];
  log(`[bench] scenario ${id}: ${sc.label}; ${variants.length} variants`);
  let httpbin: HttpbinInstance | undefined;
  const lives: Live[] = [];
  try {
    if (id === "httpbin") {
      httpbin = await startHttpbin({ name: "bench-httpbin" });
      if (ctx.loadCpu !== null) pinProcess(httpbin.pid, ctx.loadCpu);
    }
    // Start every Envoy of the scenario at once (they idle until measured); V8 compiles in parallel.
    lives.push(...(await Promise.all(variants.map((v) => startVariant(v, id, ctx, httpbin?.port)))));
    for (const l of lives)
      if (l.result.errors.length > 0) log(`[bench]   ${l.variant.id}: ${l.result.errors[0]}`);
    for (const l of lives) {
      await warmUp(l, ctx);
      log(
        `[bench]   warm-up ${l.variant.id.padEnd(16)} ${Math.round(l.result.warmupRps)} req/s, RSS ${Math.round(l.result.rssAfterWarmupKb / 1024)} MiB`,
      );
    }
    const capacities = lives.filter(alive).map((l) => l.result.warmupRps);
    const rate = fixedRate(capacities, ctx.settings.fixedFraction);
    log(`[bench]   fixed rate: ${rate} req/s (${ctx.settings.fixedFraction} of the lowest warm-up capacity)`);
    for (let rep = 0; rep < ctx.settings.reps; rep++) {
      log(`[bench]   round ${rep + 1}/${ctx.settings.reps}`);
      const k = rep % lives.length;
      const order = [...lives.slice(k), ...lives.slice(0, k)];
      for (let i = 0; i < order.length; i++) await measure(order[i]!, rep, i, rate, ctx);
    }
    for (const l of lives) {
      if (l.envoy && !l.envoy.process.running) l.result.errors.push("Envoy exited during the run");
      l.result.summary = summarizeRuns(l.result.runs);
    }
    const result: ScenarioResult = {
      id,
      label: sc.label,
      fixedRate: rate,
      variants: lives.map((l) => l.result),
      pairs: [],
    };
    const byId = new Map(result.variants.map((v) => [v.id, v]));
    for (const p of comparisonPairs(variants)) {
      result.pairs.push(comparePair(byId.get(p.a)!, byId.get(p.b)!, p.relation, ctx.settings.reps));
    }
    return result;
  } finally {
    for (const l of lives) {
      if (!l.envoy) continue;
      await l.envoy.stop();
      let bytes = fs.existsSync(l.envoy.logPath) ? fs.statSync(l.envoy.logPath).size : 0;
      const nativeLog = path.join(ctx.tmpDir, `native-access-${id}.log`);
      if (l.variant.accessLog && fs.existsSync(nativeLog)) bytes += fs.statSync(nativeLog).size;
      if (l.variant.family === "accesslog" && l.requests > 0)
        l.result.logBytesPerRequest = bytes / l.requests;
      // The access-log variants write a line per request: do not keep hundreds of MB of logs.
      if (l.variant.family === "accesslog") fs.rmSync(l.envoy.logPath, { force: true });
    }
    await httpbin?.stop();
  }
}

/**
 * The AssemblyScript modules a run needs (undefined: all of them): a smoke run or `--only` builds only
 * the plugins it measures, plus the empty module.
 */
export function modulesToBuild(o: Pick<Options, "smoke" | "only">): string[] | undefined {
  const ids = o.only ?? (o.smoke ? [...new Set(Object.values(SMOKE_SUBSET).flat())] : undefined);
  if (!ids) return undefined;
  const names = ids
    .filter((id) => id !== "none")
    .map((id) => (id === "empty" ? "test/empty" : id.replace(/-(native|go)$/, "")));
  return [...new Set(names)].sort();
}

function outputDir(o: Options): { dir: string; mode: BenchResult["mode"] } {
  if (o.smoke) return { dir: o.out ?? path.join(BENCH_BUILD_DIR, "smoke"), mode: "smoke" };
  const partial = o.only !== undefined || o.scenarios.length < 2 || (o.reps !== undefined && o.reps < 5);
  if (partial) return { dir: o.out ?? path.join(BENCH_BUILD_DIR, "results"), mode: "partial" };
  return { dir: o.out ?? path.join(__dirname, "results"), mode: "full" };
}

/** Formats Markdown/JSON with the repository's Prettier config, so `prettier --check` passes. */
async function prettify(text: string, file: string): Promise<string> {
  try {
    const prettier = await import("prettier");
    const cfg = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...cfg, filepath: file });
  } catch {
    return text;
  }
}

export async function main(argv: string[]): Promise<BenchResult> {
  const o = parseArgs(argv);
  const startedAt = new Date();
  ensureDebianTools(log);
  await buildWasm(log, modulesToBuild(o));
  buildGo(log);

  const cpus = os.cpus().length;
  const pin = o.pin && cpus >= 2;
  const envoyCpu = pin ? "0" : null;
  const loadCpu = pin ? "1" : null;
  // Children (go-httpbin, wrk, loadgen) inherit this runner's CPU; each Envoy is moved to CPU 0.
  if (loadCpu !== null) pinProcess(process.pid, loadCpu);

  const machine = describeMachine(findEnvoyBinary());
  const settings: Settings = { ...settingsFor(o), envoyCpu, loadCpu };
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "wasmgate-bench-"));
  const ctx: RunContext = { settings, envoyCpu, loadCpu, tmpDir, tck: ticksPerSecond() };
  const all = allVariants({ root: ROOT, benchBuildDir: BENCH_BUILD_DIR }, log);
  const { dir, mode } = outputDir(o);
  log(
    `[bench] ${mode} run; load average ${machine.loadStart.toFixed(2)}; variants: ${all.map((v) => v.id).join(", ")}`,
  );
  if (machine.loadStart > 1)
    log("[bench] WARNING: the machine is not idle (load average > 1); the result is marked as loaded");

  const scenarios: ScenarioResult[] = [];
  const measured = new Map<string, Variant>();
  try {
    for (const id of o.scenarios) {
      // A smoke run keeps what exists of its subset (a peer whose build failed is simply absent).
      const only =
        o.only ?? (o.smoke ? SMOKE_SUBSET[id].filter((x) => all.some((v) => v.id === x)) : undefined);
      const variants = selectVariants(all, only);
      for (const v of variants) measured.set(v.id, v);
      scenarios.push(await runScenario(id, variants, ctx));
    }
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }

  machine.loadEnd = os.loadavg()[0]!;
  const hostCalls: HostCallProfile[] = [];
  for (const v of measured.values()) if (v.wasmPath) hostCalls.push(await hostCallProfile(v));
  const result: BenchResult = {
    schema: 1,
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    loaded: isLoaded(machine),
    command: `npx tsx tools/bench/run.ts${argv.length ? " " + argv.join(" ") : ""}`,
    machine,
    settings,
    scenarios,
    hostCalls,
  };
  fs.mkdirSync(dir, { recursive: true });
  const md = path.join(dir, "latest.md");
  const json = path.join(dir, "latest.json");
  fs.writeFileSync(md, await prettify(renderMarkdown(result), md));
  fs.writeFileSync(json, await prettify(renderJson(result), json));
  fs.writeFileSync(path.join(dir, "latest.svg"), renderSvg(result));
  log(`\n${renderMarkdown(result)}`);
  log(
    `[bench] wrote ${path.relative(ROOT, md)}, latest.json and latest.svg in ${path.relative(ROOT, dir) || "."}`,
  );
  return result;
}

/** A result read back from latest.json: the nulls JSON wrote for NaN become NaN again. */
export function parseResultJson(text: string): BenchResult {
  return JSON.parse(text, (k, v) =>
    v === null && k !== "envoyCpu" && k !== "loadCpu" ? NaN : v,
  ) as BenchResult;
}

/** `--render <latest.json>`: rewrites latest.md, latest.svg and the JSON (after a change to report.ts or the rules). */
async function rerender(file: string): Promise<void> {
  const result = parseResultJson(fs.readFileSync(file, "utf8"));
  result.loaded = isLoaded(result.machine); // the rule may have changed since the run
  const dir = path.dirname(path.resolve(file));
  const md = path.join(dir, "latest.md");
  fs.writeFileSync(md, await prettify(renderMarkdown(result), md));
  fs.writeFileSync(file, await prettify(renderJson(result), file));
  fs.writeFileSync(path.join(dir, "latest.svg"), renderSvg(result));
  log(
    `[bench] rendered ${path.relative(ROOT, md)}, latest.svg and the JSON from ${path.relative(ROOT, path.resolve(file))}`,
  );
}

if (require.main === module && process.argv[2] === "--render") {
  rerender(process.argv[3] ?? path.join(__dirname, "results", "latest.json")).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
} else if (require.main === module) {
  main(process.argv.slice(2)).then(
    (r) => {
      const failed = r.scenarios.some((s) => s.variants.some((v) => !(v.summary.rps.n > 0)));
      process.exitCode = failed ? 1 : 0;
    },
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exitCode = 1;
    },
  );
}
