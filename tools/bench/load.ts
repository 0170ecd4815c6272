/**
 * The load generators: wrk (closed loop: saturation and concurrency 1) and tools/bench/loadgen (open
 * loop at a fixed rate), each pinned to the load generator's CPU with taskset, loopback only, and bounded
 * in time (their own duration plus a hard kill).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";

export interface WrkResult {
  durationUs: number;
  requests: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Microseconds. */
  latency: { min: number; max: number; mean: number; p50: number; p90: number; p99: number; p999: number };
}

export interface LoadgenResult {
  rate: number;
  durationS: number;
  scheduled: number;
  completed: number;
  errors: number;
  non2xx: number;
  unsent: number;
  achievedRate: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
  serviceP50Us: number;
  serviceP99Us: number;
  connections: number;
  maxQueueUs: number;
  firstError?: string;
}

/** The `WRK_JSON {...}` line printed by wrk-report.lua. */
export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no WRK_JSON line:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice("WRK_JSON ".length)) as WrkResult;
}

/** Requests per second of a wrk run. */
export function wrkRps(r: WrkResult): number {
  return r.durationUs > 0 ? (r.requests * 1e6) / r.durationUs : NaN;
}

/** Non-2xx/3xx responses plus socket errors and timeouts of a wrk run. */
export function wrkErrors(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

/** The single JSON line loadgen prints. */
export function parseLoadgenOutput(stdout: string): LoadgenResult {
  const line = stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) throw new Error(`loadgen printed no JSON line:\n${stdout.slice(-2000)}`);
  return JSON.parse(line) as LoadgenResult;
}

function loopbackUrl(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== "http:" || !/^127\.\d+\.\d+\.\d+$/.test(u.hostname)) {
    throw new Error(`load generators only target http://127.x.x.x, got ${url}`);
  }
  return u;
}

interface Exec {
  command: string;
  args: string[];
  /** Hard limit: the process group is killed after this long. */
  timeoutMs: number;
}

function run(e: Exec): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      e.command,
      e.args,
      { timeout: e.timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${e.command} ${e.args.join(" ")} failed: ${err.message}\n${stderr}${stdout}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/** `taskset -c <cpu>` prefix, or none when pinning is off. */
function pinned(
  cpu: string | undefined,
  command: string,
  args: string[],
): { command: string; args: string[] } {
  return cpu === undefined ? { command, args } : { command: "taskset", args: ["-c", cpu, command, ...args] };
}

export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  headers: ReadonlyArray<readonly [string, string]>;
  /** CPU list for taskset (undefined: not pinned). */
  cpu?: string;
}

/** wrk's command line for one run (one thread; `--timeout 5s`). */
export function wrkArgs(o: WrkOptions): string[] {
  if (!Number.isInteger(o.durationS) || o.durationS < 1) throw new Error("wrk: durationS must be >= 1 s");
  const args = [
    "-t1",
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    "--timeout",
    "5s",
    "-s",
    path.join(__dirname, "wrk-report.lua"),
  ];
  for (const [k, v] of o.headers) args.push("-H", `${k}: ${v}`);
  args.push(loopbackUrl(o.url).href);
  return args;
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const p = pinned(o.cpu, "wrk", wrkArgs(o));
  return parseWrkOutput(await run({ ...p, timeoutMs: (o.durationS + 15) * 1000 }));
}

export interface LoadgenOptions {
  binary: string;
  url: string;
  rate: number;
  durationS: number;
  connections: number;
  headers: ReadonlyArray<readonly [string, string]>;
  cpu?: string;
}

export function loadgenArgs(o: LoadgenOptions): string[] {
  const args = [
    "-url",
    loopbackUrl(o.url).href,
    "-rate",
    String(o.rate),
    "-d",
    `${o.durationS}s`,
    "-c",
    String(o.connections),
    "-n",
    String(Math.ceil(o.rate * o.durationS)),
  ];
  for (const [k, v] of o.headers) args.push("-H", `${k}: ${v}`);
  return args;
}

export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenResult> {
  const p = pinned(o.cpu, o.binary, loadgenArgs(o));
  return parseLoadgenOutput(await run({ ...p, timeoutMs: (o.durationS + 20) * 1000 }));
}
