/**
 * Everything the benchmark needs besides Envoy and go-httpbin (tools/setup.sh provides those):
 * wrk from Debian, taskset (util-linux), the Wasm modules, the Go SDK peers and the fixed-rate client.
 * Build outputs go to build/bench/ (ignored by git).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildAll } from "../scripts/build-wasm";

export const BENCH_DIR = __dirname;
export const ROOT = path.resolve(__dirname, "..", "..");
export const BENCH_BUILD_DIR = path.join(ROOT, "build", "bench");
export const LOADGEN_BIN = path.join(BENCH_BUILD_DIR, "loadgen");

type Log = (line: string) => void;

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Debian packages providing each command the benchmark runs. */
export const DEBIAN_PACKAGES: Record<string, string> = { wrk: "wrk", taskset: "util-linux" };

/**
 * Installs the missing commands from Debian (`apt-get update` once, then `apt-get install -y`), as root
 * only; otherwise says what to install.
 */
export function ensureDebianTools(log: Log): void {
  const missing = Object.keys(DEBIAN_PACKAGES).filter((c) => !onPath(c));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((c) => DEBIAN_PACKAGES[c]!))];
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`missing ${missing.join(", ")}: run \`sudo apt-get install -y ${pkgs.join(" ")}\``);
  }
  if (!onPath("apt-get")) throw new Error(`missing ${missing.join(", ")} and no apt-get to install them`);
  log(`[bench] installing from Debian: ${pkgs.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env, timeout: 300_000 });
  execFileSync("apt-get", ["install", "-y", "-qq", ...pkgs], { stdio: "inherit", env, timeout: 300_000 });
  const still = missing.filter((c) => !onPath(c));
  if (still.length > 0) throw new Error(`apt-get install did not provide ${still.join(", ")}`);
}

/**
 * Builds the AssemblyScript modules that changed (`only`: just these, e.g. ["hello", "test/empty"]); a
 * filter that fails to build is left out (logged), and the variants of a missing module are skipped.
 */
export async function buildWasm(log: Log, only?: string[]): Promise<void> {
  try {
    await buildAll({ keepGoing: true, log, only });
  } catch (e) {
    log(`[bench] some modules did not build and are left out:\n${(e as Error).message.slice(0, 2000)}`);
  }
}

function goFilesHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(go|mod|sum)$/.test(e.name))
        h.update(path.relative(dir, p)).update("\0").update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

interface GoBuild {
  /** Module directory under tools/bench. */
  moduleDir: string;
  /** Package inside the module ("." or "./hello"). */
  pkg: string;
  out: string;
  wasm: boolean;
}

/** The Go builds: the two SDK peers (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared) and loadgen (native). */
export function goBuilds(): GoBuild[] {
  const peer = path.join(BENCH_DIR, "peer");
  return [
    { moduleDir: path.join(BENCH_DIR, "loadgen"), pkg: ".", out: LOADGEN_BIN, wasm: false },
    { moduleDir: peer, pkg: "./hello", out: path.join(BENCH_BUILD_DIR, "go-hello.wasm"), wasm: true },
    { moduleDir: peer, pkg: "./ratelimit", out: path.join(BENCH_BUILD_DIR, "go-ratelimit.wasm"), wasm: true },
  ];
}

/**
 * Builds loadgen and the Go peers when their sources changed (hash stamp next to the output). The Go SDK
 * version is pinned in tools/bench/peer/go.mod and fetched through the Go module proxy. Throws when the
 * loadgen cannot be built; a peer that fails is only logged (its variants are then left out).
 */
export function buildGo(log: Log): void {
  if (!onPath("go")) throw new Error("the benchmark needs Go >= 1.24 on PATH (tools/bench/loadgen, peers)");
  fs.mkdirSync(BENCH_BUILD_DIR, { recursive: true });
  for (const b of goBuilds()) {
    const stamp = `${b.out}.inputs`;
    const hash = goFilesHash(b.moduleDir) + b.pkg;
    if (fs.existsSync(b.out) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === hash) continue;
    const env = { ...process.env, ...(b.wasm ? { GOOS: "wasip1", GOARCH: "wasm" } : {}) };
    const args = ["build", "-trimpath", ...(b.wasm ? ["-buildmode=c-shared"] : []), "-o", b.out, b.pkg];
    const started = Date.now();
    const r = spawnSync("go", args, { cwd: b.moduleDir, env, encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) {
      fs.rmSync(b.out, { force: true });
      fs.rmSync(stamp, { force: true });
      const msg = `go ${args.join(" ")} (in ${path.relative(ROOT, b.moduleDir)}) failed:\n${r.stderr}${r.stdout}`;
      if (!b.wasm) throw new Error(msg);
      log(`[bench] ${msg}`);
      continue;
    }
    fs.writeFileSync(stamp, hash);
    log(
      `[bench] built ${path.relative(ROOT, b.out)} ${fs.statSync(b.out).size} bytes (${Date.now() - started} ms)`,
    );
  }
}
