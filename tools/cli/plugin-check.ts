// The authoritative plugin-config check: load the built .wasm in the host emulator with the WasmPlugin's
// pluginName (root_id), pluginConfig (as the same JSON the rendered Envoy config carries) and env, and run
// `proxy_on_configure` the way Envoy does at startup. If the plugin refuses, Envoy would refuse the config
// too (even with FAIL_OPEN, see README), so we report the plugin's own critical/error log lines.

import * as fs from "node:fs";
import { Host } from "../emulator";
import { sortedJson } from "./render";
import type { WasmPlugin } from "./wasmplugin";

export interface OnConfigureResult {
  ok: boolean;
  /** The plugin's critical/error log lines (or the loader's reason) when it refused. */
  lines: string[];
}

export async function checkOnConfigure(
  wasmFile: string,
  plugin: WasmPlugin,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OnConfigureResult> {
  const vars: Record<string, string> = {};
  for (const e of plugin.spec.vmConfig?.env ?? []) {
    if (e.valueFrom === "HOST") {
      const v = env[e.name];
      if (v !== undefined) vars[e.name] = v;
    } else vars[e.name] = e.value ?? "";
  }
  const config = plugin.spec.pluginConfig;
  let host: Host;
  try {
    host = await Host.start({
      wasm: fs.readFileSync(wasmFile),
      pluginName: plugin.metadata.name,
      rootId: plugin.spec.pluginName ?? "",
      pluginConfig: config && Object.keys(config).length > 0 ? sortedJson(config) : undefined,
      env: vars,
      logLevel: "info",
      trace: false,
    });
  } catch (e) {
    return { ok: false, lines: [(e as Error).message] };
  }
  if (host.started) {
    host.shutdown();
    return { ok: true, lines: [] };
  }
  const lines = host.logEntries
    .filter((l) => l.level === "critical" || l.level === "error")
    .map((l) => l.message);
  return { ok: false, lines: lines.length > 0 ? lines : ["on_configure returned false without logging why"] };
}
