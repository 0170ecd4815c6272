// `wasmgate validate [file ...]`

import {
  buildModules,
  checkPluginsInEmulator,
  CliIo,
  gatewayFileOf,
  loadInputs,
  report,
  resolveArg,
  ROOT,
} from "./context";
import type { GatewayDescription } from "./gateway";
import type { ParsedArgs } from "./options";
import { loadGateway, loadPlugins } from "./project";
import { PluginSource, resourceName } from "./wasmplugin";

export async function validateCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  let gateway: GatewayDescription | undefined;
  let plugins: PluginSource[];
  let files: string[];
  if (args.positionals.length === 0) {
    const inputs = loadInputs(io, args.options.gateway);
    gateway = inputs.gateway;
    plugins = inputs.plugins;
    files = inputs.pluginFiles;
    for (const s of inputs.skipped) io.stderr(`${s}: skipped (not a WasmPlugin)\n`);
  } else {
    // Explicit files are validated even when the gateway description is broken or absent: it only tells
    // where file:// URLs point locally.
    gateway = loadGateway(ROOT, gatewayFileOf(io, args.options.gateway)).gateway;
    const loaded = loadPlugins(
      ROOT,
      args.positionals.map((f) => resolveArg(io, f)),
    );
    for (const s of loaded.skipped) io.stderr(`${s}: skipped (not a WasmPlugin)\n`);
    report(io, loaded.problems);
    plugins = loaded.plugins;
    files = loaded.files;
  }
  if (plugins.length === 0) {
    io.stderr(`no WasmPlugin documents in ${files.join(", ") || "the gateway's plugin files"}\n`);
    return 1;
  }

  const steps = ["CRD schema", "CEL rules", "config.schema.json"];
  if (args.options.wasm) {
    if (args.options.build) await buildModules(io, plugins);
    const r = await checkPluginsInEmulator(plugins, gateway, io.env, false);
    report(io, r.problems);
    steps.push("on_configure in the emulator");
  }
  for (const s of plugins) io.stdout(`${s.file}: document ${s.document} (${resourceName(s.plugin)}): ok\n`);
  const n = plugins.length;
  io.stdout(`${n} WasmPlugin${n === 1 ? "" : "s"} valid (${steps.join(", ")})\n`);
  return 0;
}
