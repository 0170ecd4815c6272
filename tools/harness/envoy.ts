/** Run stock Envoy (several at once if needed) against a bootstrap object, and talk to its admin API. */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { request } from "./httpclient";
import { ensureDir, findEnvoyBinary, runDir } from "./paths";
import { ManagedProcess, ProcessExitedError, spawnManaged } from "./process";

export interface EnvoyOptions {
  /** Envoy v3 bootstrap (e.g. from `bootstrap()`); must configure `admin.address`. Port 0 is fine. */
  config: object;
  /** Worker threads (default 1). */
  concurrency?: number;
  /** `--log-level` (default "info"). */
  logLevel?: string;
  /** `--component-log-level`, e.g. "wasm:debug" or "wasm:trace,http:debug". */
  componentLogLevel?: string;
  /** Used in log/config file names (default "envoy"). */
  name?: string;
  /** How long to wait for admin `/ready` to say LIVE (default 30 s). */
  readyTimeoutMs?: number;
  /** `--file-flush-interval-msec` so access logs show up quickly (default 100). */
  fileFlushIntervalMs?: number;
  /** Extra command-line arguments, appended last. */
  extraArgs?: string[];
  /** Extra environment for the Envoy process. */
  env?: NodeJS.ProcessEnv;
  /** Keep this Node process alive while Envoy runs (for `wasmgate up`); default false. */
  keepAlive?: boolean;
  /** Working directory of Envoy: relative paths in the config (e.g. `build/x.wasm`) resolve against it. */
  cwd?: string;
}

export interface ListenerAddress {
  name: string;
  host: string;
  port: number;
}

export interface EnvoyInstance {
  name: string;
  pid: number;
  /** e.g. http://127.0.0.1:40124 */
  adminUrl: string;
  adminPort: number;
  /** Envoy's stdout+stderr (application log and stdout access log). */
  logPath: string;
  /** The bootstrap file Envoy was started with (JSON). */
  configPath: string;
  process: ManagedProcess;
  logs(): string;
  /** All counters and gauges from admin `/stats` (histograms skipped). */
  stats(): Promise<Map<string, number>>;
  /** One counter/gauge by exact name; undefined if Envoy does not have it. */
  stat(name: string): Promise<number | undefined>;
  /** Admin `/config_dump` as parsed JSON; `query` e.g. "resource=dynamic_active_clusters". */
  configDump(query?: string): Promise<unknown>;
  /** Addresses the static/dynamic listeners are actually bound to (useful with port 0). */
  listeners(): Promise<ListenerAddress[]>;
  stop(graceMs?: number): Promise<void>;
}

/** Envoy failed before becoming ready; the message is Envoy's own error output. */
export class EnvoyStartError extends Error {
  constructor(
    message: string,
    readonly errorLines: string[],
    readonly logPath: string,
    readonly exitCode: number | null,
    readonly pid: number,
  ) {
    super(message);
    this.name = "EnvoyStartError";
  }
}

const LOG_LINE = /^\[\d{4}-\d\d-\d\d [\d:.]+\]\[\d+\]\[(\w+)\]/;

/**
 * The `[critical]`/`[error]` lines of an Envoy log (with their continuation lines),
 * stripped of the timestamp/thread prefix. Envoy's protobuf errors contain deliberately
 * randomised whitespace, so match on field names rather than whole sentences.
 */
export function envoyErrorLines(log: string): string[] {
  const out: string[] = [];
  let current: string[] | undefined;
  for (const line of log.split("\n")) {
    const m = LOG_LINE.exec(line);
    if (m) {
      if (current) out.push(current.join("\n"));
      current =
        m[1] === "critical" || m[1] === "error" ? [line.replace(/^\[[^\]]*\]\[\d+\]/, "")] : undefined;
    } else if (current && line.trim() !== "") {
      current.push(line);
    }
  }
  if (current) out.push(current.join("\n"));
  // absl::Status debug strings embed a "goo.gle/debugonly" marker plus a line break; drop it.
  return out.map((l) => l.replace(/goo\.gle\/debugonly\s*/g, ""));
}

let baseIdCounter = 0;
function uniqueBaseId(): number {
  // Only matters if hot restart is ever re-enabled; still unique per process and instance.
  return (process.pid % 100_000) * 1000 + (baseIdCounter++ % 1000);
}

function writeConfig(dir: string, config: object): string {
  const file = path.join(dir, "envoy.json"); // Envoy picks the parser from the extension
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + "\n");
  return file;
}

function newRunDir(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, "_");
  return fs.mkdtempSync(path.join(ensureDir(path.join(runDir, "envoy")), `${safe}-`));
}

/** Parse admin `/stats` text output ("name: value" lines); histogram lines are skipped. */
export function parseStats(text: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const line of text.split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i <= 0) continue;
    const value = line.slice(i + 2).trim();
    if (!/^-?\d+(\.\d+)?$/.test(value)) continue; // histograms: "P0(...) P25(...)" / "No recorded values"
    stats.set(line.slice(0, i), Number(value));
  }
  return stats;
}

function escapeRe2(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function adminGet(adminUrl: string, pathAndQuery: string): Promise<string> {
  const res = await request({ url: `${adminUrl}${pathAndQuery}` });
  if (res.status !== 200) {
    throw new Error(`Envoy admin GET ${pathAndQuery} returned ${res.status}: ${res.body.slice(0, 500)}`);
  }
  return res.body;
}

function hasAdminAddress(config: object): boolean {
  const admin = (config as { admin?: { address?: unknown } }).admin;
  return admin !== undefined && admin !== null && admin.address !== undefined;
}

/** Start Envoy with `config` and wait until admin `/ready` answers 200 LIVE. */
export async function startEnvoy(opts: EnvoyOptions): Promise<EnvoyInstance> {
  if (!hasAdminAddress(opts.config)) {
    throw new Error("startEnvoy: the bootstrap needs admin.address (the harness waits on admin /ready)");
  }
  const bin = findEnvoyBinary();
  const name = opts.name ?? "envoy";
  const dir = newRunDir(name);
  const configPath = writeConfig(dir, opts.config);
  const adminAddressPath = path.join(dir, "admin-address.txt");
  const args = [
    "-c",
    configPath,
    "--concurrency",
    String(opts.concurrency ?? 1),
    "--log-level",
    opts.logLevel ?? "info",
    "--disable-hot-restart",
    "--base-id",
    String(uniqueBaseId()),
    "--admin-address-path",
    adminAddressPath,
    "--file-flush-interval-msec",
    String(opts.fileFlushIntervalMs ?? 100),
  ];
  if (opts.componentLogLevel) args.push("--component-log-level", opts.componentLogLevel);
  if (opts.extraArgs) args.push(...opts.extraArgs);

  const proc = await spawnManaged({
    name,
    command: bin,
    args,
    env: opts.env,
    keepAlive: opts.keepAlive,
    cwd: opts.cwd,
  });

  let adminUrl = "";
  try {
    await proc.waitUntil(
      async () => {
        if (!adminUrl) {
          const addr = fs.existsSync(adminAddressPath)
            ? fs.readFileSync(adminAddressPath, "utf8").trim()
            : "";
          if (!addr) return false;
          adminUrl = `http://${addr}`;
        }
        const res = await request({ url: `${adminUrl}/ready`, timeoutMs: 2000 });
        return res.status === 200 && res.body.trim() === "LIVE";
      },
      opts.readyTimeoutMs ?? 30_000,
      "Envoy admin /ready to return 200 LIVE",
    );
  } catch (err) {
    await proc.stop();
    if (err instanceof ProcessExitedError) {
      const log = proc.logs();
      const lines = envoyErrorLines(log);
      const message =
        lines.length > 0
          ? lines.join("\n")
          : `Envoy exited with code ${err.status.code} before becoming ready; log tail:\n${proc.logTail()}`;
      throw new EnvoyStartError(message, lines, proc.logPath, err.status.code, proc.pid);
    }
    throw err;
  }

  const adminPort = Number(new URL(adminUrl).port);
  return {
    name,
    pid: proc.pid,
    adminUrl,
    adminPort,
    logPath: proc.logPath,
    configPath,
    process: proc,
    logs: () => proc.logs(),
    stats: async () => parseStats(await adminGet(adminUrl, "/stats")),
    stat: async (stat: string) => {
      const filter = encodeURIComponent(`^${escapeRe2(stat)}$`);
      return parseStats(await adminGet(adminUrl, `/stats?filter=${filter}`)).get(stat);
    },
    configDump: async (query?: string) =>
      JSON.parse(await adminGet(adminUrl, `/config_dump${query ? `?${query}` : ""}`)) as unknown,
    listeners: async () => {
      const body = JSON.parse(await adminGet(adminUrl, "/listeners?format=json")) as {
        listener_statuses?: {
          name: string;
          local_address?: { socket_address?: { address: string; port_value: number } };
        }[];
      };
      return (body.listener_statuses ?? []).map((l) => ({
        name: l.name,
        host: l.local_address?.socket_address?.address ?? "",
        port: l.local_address?.socket_address?.port_value ?? 0,
      }));
    },
    stop: (graceMs?: number) => proc.stop(graceMs),
  };
}

export interface ValidateOptions {
  /** `--log-level` for the validation run (default "warn": errors without the extension list). */
  logLevel?: string;
  timeoutMs?: number;
  /** Working directory: relative paths in the config (e.g. `build/x.wasm`) resolve against it. */
  cwd?: string;
}

export interface ValidateResult {
  ok: boolean;
  /** Envoy's combined stdout+stderr. */
  output: string;
  exitCode: number | null;
  /** `[critical]`/`[error]` lines of `output`. */
  errorLines: string[];
  configPath: string;
}

/** Run `envoy --mode validate -c <file>` on `config`. */
export async function validateEnvoyConfig(
  config: object,
  opts: ValidateOptions = {},
): Promise<ValidateResult> {
  const bin = findEnvoyBinary();
  const configPath = writeConfig(newRunDir("validate"), config);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const args = [
    "--mode",
    "validate",
    "-c",
    configPath,
    "--disable-hot-restart",
    "--log-level",
    opts.logLevel ?? "warn",
  ];
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], cwd: opts.cwd });
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString("utf8");
      if (signal === "SIGKILL") {
        reject(new Error(`envoy --mode validate did not finish within ${timeoutMs} ms:\n${output}`));
        return;
      }
      resolve({ ok: code === 0, output, exitCode: code, errorLines: envoyErrorLines(output), configPath });
    });
  });
}
