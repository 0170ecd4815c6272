// What every command shares: the injected I/O, the repository root, and loading + checking the inputs.

import * as fs from "node:fs";
import * as path from "node:path";
import { buildAll } from "../scripts/build-wasm";
import type { GatewayDescription } from "./gateway";
import { checkOnConfigure } from "./plugin-check";
import { errors, formatProblem, Problem } from "./problems";
import { display, gatewayPluginFiles, loadGateway, loadPlugins, localWasmFile, moduleName } from "./project";
import type { PluginSource } from "./wasmplugin";
import { resourceName } from "./wasmplugin";

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where the user ran the command: relative file arguments resolve against it. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Calls `handler` on Ctrl-C (SIGINT), SIGTERM or SIGHUP; returns a function that unregisters it. */
  onInterrupt(handler: (signal: string) => void): () => void;
}

/** The repository root (the CLI always works on the repository it lives in). */
export const ROOT = path.resolve(__dirname, "..", "..");

/** A failure already explained to the user (printed); the command exits with `code`. */
export class Reported extends Error {
  constructor(readonly code = 1) {
    super("reported");
    this.name = "Reported";
  }
}

export function say(io: CliIo, line: string): void {
  io.stderr(`[wasmgate] ${line}\n`);
}

/** Prints problems (errors and warnings) to stderr; throws Reported if any is an error. */
export function report(io: CliIo, problems: readonly Problem[]): void {
  for (const p of problems) io.stderr(formatProblem(p) + "\n");
  if (errors(problems).length > 0) throw new Reported(1);
}

export function resolveArg(io: CliIo, file: string): string {
  return path.resolve(io.cwd, file);
}

/** The gateway description: `--gateway` relative to where the user is, else the repository's own. */
export function gatewayFileOf(io: CliIo, option: unknown): string {
  return typeof option === "string" ? resolveArg(io, option) : path.join(ROOT, "envoy", "gateway.yaml");
}

export interface Inputs {
  gateway: GatewayDescription;
  gatewayFile: string;
  plugins: PluginSource[];
  pluginFiles: string[];
  skipped: string[];
}

/** Loads and validates the gateway description and its WasmPlugins (or the given files instead). */
export function loadInputs(io: CliIo, gatewayOption: unknown, files?: string[]): Inputs {
  const gatewayFile = gatewayFileOf(io, gatewayOption);
  const g = loadGateway(ROOT, gatewayFile);
  report(io, g.problems);
  const gateway = g.gateway!;
  const list =
    files && files.length > 0 ? files.map((f) => resolveArg(io, f)) : gatewayPluginFiles(ROOT, gateway);
  const loaded = loadPlugins(ROOT, list);
  report(io, loaded.problems);
  return {
    gateway,
    gatewayFile,
    plugins: loaded.plugins,
    pluginFiles: loaded.files,
    skipped: loaded.skipped,
  };
}

/** Builds the plugin modules `plugins` need (only those: a half-written filter elsewhere does not matter). */
export async function buildModules(io: CliIo, plugins: readonly PluginSource[]): Promise<void> {
  const modules = [
    ...new Set(plugins.map((p) => moduleName(ROOT, p.plugin)).filter((m): m is string => !!m)),
  ];
  if (modules.length === 0) return;
  say(io, `building ${modules.join(", ")} (AssemblyScript → build/*.wasm; unchanged modules are skipped)`);
  try {
    await buildAll({ only: modules, log: (l) => io.stderr(`  ${l}\n`) });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n`);
    throw new Reported(1);
  }
}

/**
 * Runs each plugin's on_configure in the emulator with its pluginConfig (what Envoy does at startup).
 * Returns problems for refusals; a module that is not built is a warning (or an error if `required`).
 */
export async function checkPluginsInEmulator(
  plugins: readonly PluginSource[],
  gateway: GatewayDescription | undefined,
  env: NodeJS.ProcessEnv,
  required: boolean,
): Promise<{ problems: Problem[]; checked: string[] }> {
  const problems: Problem[] = [];
  const checked: string[] = [];
  for (const s of plugins) {
    const wasm = localWasmFile(ROOT, s.plugin, gateway);
    const where = {
      file: s.file,
      line: s.lineOf(["spec", "pluginConfig"]),
      document: s.document,
      resource: resourceName(s.plugin),
      path: ["spec", "pluginConfig"],
    };
    if (!wasm || !fs.existsSync(wasm)) {
      problems.push({
        ...where,
        severity: required ? "error" : "warning",
        message: wasm
          ? `${display(ROOT, wasm)} is not built, so on_configure was not checked (run npm run build)`
          : "no local module for this plugin (filters/<pluginName>/), so on_configure was not checked",
      });
      continue;
    }
    const r = await checkOnConfigure(wasm, s.plugin, env);
    checked.push(display(ROOT, wasm));
    for (const line of r.lines) {
      problems.push({
        ...where,
        severity: "error",
        message: `${display(ROOT, wasm)} refused it in on_configure: ${line}`,
      });
    }
  }
  return { problems, checked };
}
