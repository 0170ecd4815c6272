/**
 * A whole local gateway for e2e tests: N go-httpbin upstreams (clusters `httpbin`, `httpbin_v2`, ...) and
 * one Envoy with the given HTTP filters in front, all on loopback. `stop()` tears everything down.
 */
import * as path from "node:path";
import { bootstrap, Json, WasmFilterOptions, wasmHttpFilter } from "./bootstrap";
import { EnvoyInstance, startEnvoy } from "./envoy";
import { HttpbinInstance, startHttpbin } from "./httpbin";
import { repoRoot } from "./paths";

export interface GatewayOptions {
  /** Wasm plugins, in filter-chain order (`wasmPath` defaults to build/<name>.wasm). */
  plugins?: Array<Omit<WasmFilterOptions, "wasmPath"> & { wasmPath?: string }>;
  /** Extra non-Wasm HTTP filters appended after the plugins (before the router). */
  extraFilters?: object[];
  /** Number of httpbin upstreams: cluster names `httpbin`, then `httpbin_v2`, `httpbin_v3`, ... Default 1. */
  upstreams?: number;
  /** Routes of the single virtual host; default prefix "/" → `httpbin`. */
  routes?: object[];
  /** Envoy worker threads. Default 1. */
  concurrency?: number;
  /** Extra clusters (e.g. a test collector), `{name, port}` on 127.0.0.1. */
  clusters?: Array<{ name: string; port: number }>;
  componentLogLevel?: string;
  accessLog?: boolean;
  /** Transform the bootstrap before Envoy starts (e.g. to add HCM tracing). */
  mutate?: (config: Json) => void;
}

export interface Gateway {
  /** Base URL of the Envoy listener, e.g. http://127.0.0.1:41234 */
  url: string;
  envoy: EnvoyInstance;
  httpbins: HttpbinInstance[];
  stop(): Promise<void>;
}

export function clusterName(i: number): string {
  return i === 0 ? "httpbin" : `httpbin_v${i + 1}`;
}

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const httpbins: HttpbinInstance[] = [];
  try {
    for (let i = 0; i < (opts.upstreams ?? 1); i++)
      httpbins.push(await startHttpbin({ name: clusterName(i) }));
    const filters = (opts.plugins ?? []).map((p) =>
      wasmHttpFilter({ ...p, wasmPath: p.wasmPath ?? path.join(repoRoot, "build", `${p.name}.wasm`) }),
    );
    const config = bootstrap({
      adminPort: 0,
      listenerPort: 0,
      clusters: [
        ...httpbins.map((h, i) => ({ name: clusterName(i), port: h.port })),
        ...(opts.clusters ?? []),
      ],
      httpFilters: [...filters, ...(opts.extraFilters ?? [])],
      routes: opts.routes,
      accessLog: opts.accessLog,
    });
    opts.mutate?.(config);
    const envoy = await startEnvoy({
      config,
      concurrency: opts.concurrency ?? 1,
      componentLogLevel: opts.componentLogLevel ?? "wasm:debug",
    });
    const [listener] = await envoy.listeners();
    return {
      url: `http://127.0.0.1:${listener.port}`,
      envoy,
      httpbins,
      stop: async () => {
        await envoy.stop();
        await Promise.all(httpbins.map((h) => h.stop()));
      },
    };
  } catch (e) {
    await Promise.all(httpbins.map((h) => h.stop()));
    throw e;
  }
}
