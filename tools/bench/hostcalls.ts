/**
 * Profile evidence that needs no Envoy: the host calls (proxy_* and WASI) each Wasm variant makes per
 * request, counted in the emulator (tools/emulator) with the same module, root id and configuration as
 * in the benchmark, for the benchmark's request. Every host call is a V8→C++ crossing plus, for strings,
 * a copy through the guest's allocator, so this count is the first thing to compare between plugins.
 *
 *   npx tsx tools/bench/hostcalls.ts          (prints the table for every Wasm variant)
 */
import { Host } from "../emulator";
import { REQUEST_HEADERS, SCENARIOS, Variant } from "./variants";

export interface HostCallProfile {
  id: string;
  /** Host calls per request (all callbacks of one stream: headers, response, log, done). */
  perRequest: number;
  /** Per-request count of each host call, most frequent first. */
  byName: Array<{ name: string; perRequest: number }>;
  /** Set when the module could not run in the emulator. */
  error?: string;
}

interface WasmFilterJson {
  typed_config?: { config?: { root_id?: string; configuration?: { value?: string } } };
}

/** Root id and configuration text of the variant's (single) Wasm filter. */
export function wasmPluginOf(v: Variant): { rootId: string; configuration: string } | undefined {
  if (!v.wasmPath) return undefined;
  const f = v.filters({ scenario: "direct", tmpDir: "/tmp" })[0] as WasmFilterJson | undefined;
  const cfg = f?.typed_config?.config;
  if (!cfg) return undefined;
  return { rootId: cfg.root_id ?? "", configuration: cfg.configuration?.value ?? "" };
}

/** Counts grouped by name, divided by `requests`, most frequent first (then by name). */
export function countCalls(names: string[], requests: number): HostCallProfile["byName"] {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts.entries()]
    .map(([name, c]) => ({ name, perRequest: c / requests }))
    .sort((a, b) => b.perRequest - a.perRequest || a.name.localeCompare(b.name));
}

/** Runs `requests` benchmark requests (after `warmup` ones) through the variant in the emulator. */
export async function hostCallProfile(v: Variant, requests = 100, warmup = 10): Promise<HostCallProfile> {
  const p = wasmPluginOf(v);
  if (!p) return { id: v.id, perRequest: NaN, byName: [], error: "not a Wasm variant" };
  try {
    const host = await Host.start({
      wasm: v.wasmPath!,
      rootId: p.rootId,
      pluginName: p.rootId,
      pluginConfig: p.configuration,
      logLevel: "info",
      properties: { "xds.route_name": "bench" },
    });
    if (!host.started) {
      const why = host.logEntries.map((l) => l.message).join("; ");
      return {
        id: v.id,
        perRequest: NaN,
        byName: [],
        error: `refused its configuration: ${why}`.slice(0, 300),
      };
    }
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
    for (let i = 0; i < warmup; i++) exchange();
    host.calls.length = 0;
    for (let i = 0; i < requests; i++) exchange();
    if (host.failed())
      return { id: v.id, perRequest: NaN, byName: [], error: "the VM failed in the emulator" };
    const names = host.calls.map((c) => c.name);
    return { id: v.id, perRequest: names.length / requests, byName: countCalls(names, requests) };
  } catch (e) {
    // The emulator loads ABI 0.2.1 modules only; Envoy 1.39 also runs the Go SDK's 0.2.0 modules.
    const msg = (e as Error).message.replace(/\s+/g, " ").trim();
    return {
      id: v.id,
      perRequest: NaN,
      byName: [],
      error: `the emulator refuses the module (${msg})`.slice(0, 300),
    };
  }
}

if (require.main === module) {
  void (async () => {
    const { allVariants } = await import("./variants");
    const { BENCH_BUILD_DIR, ROOT } = await import("./setup");
    for (const v of allVariants({ root: ROOT, benchBuildDir: BENCH_BUILD_DIR })) {
      if (!v.wasmPath) continue;
      const p = await hostCallProfile(v);
      const top = p.byName.map((c) => `${c.name}×${+c.perRequest.toFixed(2)}`).join(", ");
      process.stdout.write(
        `${v.id.padEnd(14)} ${p.error ?? `${p.perRequest.toFixed(1)} calls/request: ${top}`}\n`,
      );
    }
  })();
}
