/**
 * What the benchmark compares: scenarios (upstreams) and variants (filter chains), as pure Envoy config
 * builders, plus the data-driven discovery of the plugins (a plugin is benchmarked when its
 * `build/<name>.wasm` exists; its typical configuration is the `pluginConfig` of
 * `filters/<name>/wasmplugin.yaml`, with the overrides below where the benchmark needs one).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { Json, bootstrap, routerFilter, wasmHttpFilter } from "../harness/bootstrap";

export type ScenarioId = "direct" | "httpbin";

export interface Scenario {
  id: ScenarioId;
  label: string;
  /** Path every load-generator request asks for. */
  path: string;
}

/**
 * The request every variant gets. It is one the plugins' typical configurations act on: the path is
 * under ratelimit's `/anything/api/` rules (per API key and per client address), with an API key, so the
 * limiter really reads and writes its buckets; routing finds no override and falls to its split; b3 mints
 * a trace; accesslog logs the listed headers.
 */
export const REQUEST_PATH = "/anything/api/items";

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  direct: {
    id: "direct",
    label: "Envoy direct_response (filter chain only)",
    path: REQUEST_PATH,
  },
  httpbin: {
    id: "httpbin",
    label: "go-httpbin upstream",
    path: REQUEST_PATH,
  },
};

/** Request headers every load-generator request carries (same for wrk and the fixed-rate client). */
export const REQUEST_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["user-agent", "wasmgate-bench/1"],
  ["accept", "*/*"],
  ["x-api-key", "bench-key-1"],
];

/**
 * baseline: no filter; sdk: the empty module of this SDK; plugin: a wasmgate plugin; native: Envoy's own
 * filter doing the same job; peer: the same job written with the Go proxy-wasm SDK.
 */
export type VariantKind = "baseline" | "sdk" | "plugin" | "native" | "peer";

/** Where the Envoy config of a variant needs run-time facts. */
export interface BuildContext {
  scenario: ScenarioId;
  /** go-httpbin port (httpbin scenario only). */
  upstreamPort?: number;
  /** Scratch directory for files a variant writes (the native access log). */
  tmpDir: string;
}

export interface Variant {
  /** Unique id, used by `--only` and in the result files: `none`, `empty`, `hello`, `hello-native`, ... */
  id: string;
  kind: VariantKind;
  /** The plugin this variant is (or stands in for): `hello`, `ratelimit`, ...; undefined for none/empty. */
  family?: string;
  /** The `.wasm` module, when there is one. */
  wasmPath?: string;
  /** How the configuration differs from the plugin's typical one, for the report. */
  note?: string;
  /** Plugins: the typical `pluginConfig` (before the benchmark's overrides). */
  typicalConfig?: Json;
  /** HTTP filters before the router. */
  filters(ctx: BuildContext): object[];
  /** Routes replacing the scenario's default routes (native routing), if any. */
  routes?(ctx: BuildContext): object[];
  /** Access-log entries for the HCM (native access log), if any. */
  accessLog?(ctx: BuildContext): object[];
}

// ---------------------------------------------------------------------------------------------------
// Routes and bootstrap

const DIRECT_BODY = "ok\n";

/** A route answered by Envoy itself: no upstream, so only the filter chain is measured. */
export function directResponse(match: Json): Json {
  return { match, direct_response: { status: 200, body: { inline_string: DIRECT_BODY } } };
}

/**
 * The default route table of a scenario. It already holds the routes the routing plugin pairs with
 * (`cluster_header` on x-wasmgate-cluster, `x-route-to: v2` → v2) so every variant sees the same table.
 */
export function scenarioRoutes(scenario: ScenarioId): Json[] {
  const clusterHeader = { prefix: "/", headers: [{ name: "x-wasmgate-cluster", present_match: true }] };
  const toV2 = { prefix: "/", headers: [{ name: "x-route-to", string_match: { exact: "v2" } }] };
  if (scenario === "direct") {
    return [directResponse(clusterHeader), directResponse(toV2), directResponse({ prefix: "/" })];
  }
  return [
    { match: clusterHeader, route: { cluster_header: "x-wasmgate-cluster" } },
    { match: toV2, route: { cluster: "httpbin_v2" } },
    { match: { prefix: "/" }, route: { cluster: "httpbin" } },
  ];
}

/** The router with `dynamic_stats` off, as Envoy's benchmarking guide recommends. */
export function benchRouter(): Json {
  const r = routerFilter() as { name: string; typed_config: Json };
  return { ...r, typed_config: { ...r.typed_config, dynamic_stats: false } };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function hcmOf(config: Json): any {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (config as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
}

/** The whole Envoy bootstrap of `variant` in `ctx.scenario` (admin and listener on loopback, port 0). */
export function variantBootstrap(variant: Variant, ctx: BuildContext): Json {
  const clusters =
    ctx.scenario === "httpbin"
      ? ["httpbin", "httpbin_v2"].map((name) => {
          if (ctx.upstreamPort === undefined) throw new Error("httpbin scenario needs upstreamPort");
          return { name, port: ctx.upstreamPort };
        })
      : [];
  const config = bootstrap({
    adminPort: 0,
    listenerPort: 0,
    clusters,
    httpFilters: [...variant.filters(ctx), benchRouter()],
    routes: variant.routes ? variant.routes(ctx) : scenarioRoutes(ctx.scenario),
  });
  const hcm = hcmOf(config);
  hcm.generate_request_id = false; // Envoy's benchmarking guide: no UUID per request
  const logs = variant.accessLog?.(ctx);
  if (logs && logs.length > 0) hcm.access_log = logs;
  return config;
}

// ---------------------------------------------------------------------------------------------------
// Native equivalents

const HEADER_MUTATION_TYPE =
  "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation";
const LOCAL_RATELIMIT_TYPE =
  "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const FILE_ACCESS_LOG_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

export interface HeaderSet {
  key: string;
  value: string;
  /** OVERWRITE_IF_EXISTS_OR_ADD (default) or ADD_IF_ABSENT. */
  action?: "OVERWRITE_IF_EXISTS_OR_ADD" | "ADD_IF_ABSENT";
}

/** `envoy.filters.http.header_mutation` setting request headers (values may use Envoy's formatters). */
export function headerMutationFilter(headers: HeaderSet[]): Json {
  return {
    name: "envoy.filters.http.header_mutation",
    typed_config: {
      "@type": HEADER_MUTATION_TYPE,
      mutations: {
        request_mutations: headers.map((h) => ({
          append: {
            header: { key: h.key, value: h.value },
            append_action: h.action ?? "OVERWRITE_IF_EXISTS_OR_ADD",
          },
        })),
      },
    },
  };
}

/** A local token bucket for all requests, enabled and enforced for 100% of them. */
export function localRateLimitFilter(tokens: number, fillInterval = "1s"): Json {
  const percent = (key: string) => ({
    runtime_key: key,
    default_value: { numerator: 100, denominator: "HUNDRED" },
  });
  return {
    name: "envoy.filters.http.local_ratelimit",
    typed_config: {
      "@type": LOCAL_RATELIMIT_TYPE,
      stat_prefix: "bench_local_ratelimit",
      token_bucket: { max_tokens: tokens, tokens_per_fill: tokens, fill_interval: fillInterval },
      filter_enabled: percent("bench_local_ratelimit.enabled"),
      filter_enforced: percent("bench_local_ratelimit.enforced"),
    },
  };
}

/** Fields of the native JSON access log: about what the accesslog plugin records per request. */
export const NATIVE_ACCESS_LOG_FIELDS: Record<string, string> = {
  time: "%START_TIME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  authority: "%REQ(:AUTHORITY)%",
  status: "%RESPONSE_CODE%",
  flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
  upstream_host: "%UPSTREAM_HOST%",
  client: "%DOWNSTREAM_REMOTE_ADDRESS%",
  user_agent: "%REQ(USER-AGENT)%",
  route: "%ROUTE_NAME%",
};

/** A JSON-lines file access log (`envoy.access_loggers.file`). */
export function fileAccessLog(file: string): Json {
  return {
    name: "envoy.access_loggers.file",
    typed_config: {
      "@type": FILE_ACCESS_LOG_TYPE,
      path: file,
      log_format: { json_format: NATIVE_ACCESS_LOG_FIELDS },
    },
  };
}

/** Cookie `name=value` anywhere in a Cookie header, as an RE2 regex. */
function cookieRegex(name: string, value: string): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return `(^|.*;\\s*)${esc(name)}=${esc(value)}(;.*|$)`;
}

/**
 * Envoy route matching doing the job of the routing plugin's typical configuration
 * (filters/routing/wasmplugin.yaml): x-beta: 1, cookie canary=always and query version=2.x go to v2;
 * GET/HEAD under /internal/ go to httpbin_v2 with the prefix rewritten; everything else is split 10/90
 * between v2 and v1 with weighted clusters. In the direct scenario every route answers directly, so
 * the split is a plain direct response (weighted_clusters needs clusters).
 */
export function nativeRoutingRoutes(scenario: ScenarioId): Json[] {
  const toV2 = (match: Json): Json =>
    scenario === "direct" ? directResponse(match) : { match, route: { cluster: "httpbin_v2" } };
  const rules: Json[] = [
    toV2({ prefix: "/", headers: [{ name: "x-beta", string_match: { exact: "1" } }] }),
    toV2({
      prefix: "/",
      headers: [{ name: "cookie", string_match: { safe_regex: { regex: cookieRegex("canary", "always") } } }],
    }),
    toV2({
      prefix: "/",
      query_parameters: [{ name: "version", string_match: { safe_regex: { regex: "^2(\\.[0-9]+)?$" } } }],
    }),
  ];
  const internal = {
    prefix: "/internal/",
    headers: [{ name: ":method", string_match: { safe_regex: { regex: "^(GET|HEAD)$" } } }],
  };
  rules.push(
    scenario === "direct"
      ? directResponse(internal)
      : { match: internal, route: { cluster: "httpbin_v2", prefix_rewrite: "/anything/internal/" } },
  );
  const base = scenarioRoutes(scenario);
  const fallback: Json =
    scenario === "direct"
      ? directResponse({ prefix: "/" })
      : {
          match: { prefix: "/" },
          route: {
            weighted_clusters: {
              clusters: [
                { name: "httpbin_v2", weight: 1000 },
                { name: "httpbin", weight: 9000 },
              ],
            },
          },
        };
  // Keep the plugin-pairing routes (same table shape as every other variant), then the split.
  return [...base.slice(0, 2), ...rules, fallback];
}

// ---------------------------------------------------------------------------------------------------
// Plugin configurations

/** The `pluginConfig` (and root id) of a filters/<name>/wasmplugin.yaml, or undefined when absent. */
export interface WasmPluginSpec {
  rootId: string;
  pluginConfig: Json;
}

/** Parses an Istio WasmPlugin document; throws with the file name on malformed YAML. */
export function parseWasmPlugin(text: string, name: string): WasmPluginSpec {
  const doc = YAML.parse(text) as { spec?: { pluginName?: unknown; pluginConfig?: unknown } } | null;
  const spec = doc?.spec;
  if (!spec || typeof spec !== "object") throw new Error(`${name}: wasmplugin.yaml has no spec`);
  const rootId = typeof spec.pluginName === "string" && spec.pluginName !== "" ? spec.pluginName : name;
  const cfg = spec.pluginConfig;
  if (cfg !== undefined && (cfg === null || typeof cfg !== "object" || Array.isArray(cfg))) {
    throw new Error(`${name}: spec.pluginConfig must be a mapping`);
  }
  return { rootId, pluginConfig: (cfg as Json | undefined) ?? {} };
}

/** A limit the benchmark never reaches: a rate limiter that refused requests would measure 429s. */
export const NEVER_LIMIT = 1_000_000_000;

/** Configurations used when a plugin has no wasmplugin.yaml yet (its typical use, as in its tests). */
export const FALLBACK_CONFIGS: Record<string, Json> = {
  ratelimit: {
    rules: [{ name: "per-ip", key: [{ source: "ip" }], limit: 100, period: "1s" }],
  },
  accesslog: {
    sinks: { log: { enabled: true, level: "info" } },
    headers: { request: ["user-agent", "x-request-id"], response: ["content-type"] },
  },
};

export interface BenchConfig {
  config: Json;
  /** What was changed from the typical configuration, and why; undefined when used as is. */
  override?: string;
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/**
 * The configuration the benchmark runs a plugin with: its typical config, changed only where the
 * benchmark needs it (documented in the returned `override`).
 */
export function benchPluginConfig(name: string, typical: Json): BenchConfig {
  const cfg = clone(typical);
  switch (name) {
    case "ratelimit": {
      const rules = Array.isArray(cfg.rules) ? (cfg.rules as Json[]) : [];
      for (const rule of rules) {
        rule.limit = NEVER_LIMIT;
        rule.burst = NEVER_LIMIT;
        rule.period = "1s";
      }
      return {
        config: cfg,
        override: `every rule's limit and burst set to ${NEVER_LIMIT} per 1s so no request is refused`,
      };
    }
    case "accesslog": {
      const sinks = (cfg.sinks ?? {}) as Json;
      if (sinks.http === undefined) return { config: cfg };
      cfg.sinks = { log: { enabled: true, level: "info" } };
      return {
        config: cfg,
        override:
          "sinks: the HTTP collector sink is replaced by the log sink (records go to Envoy's log file)",
      };
    }
    default:
      return { config: cfg };
  }
}

// ---------------------------------------------------------------------------------------------------
// Variant lists

export interface Layout {
  /** Repository root. */
  root: string;
  /** Where the Go peers are built (build/bench). */
  benchBuildDir: string;
}

function wasmFilter(name: string, rootId: string, wasmPath: string, configuration?: unknown): Json {
  return wasmHttpFilter({ name, rootId, wasmPath, configuration, failurePolicy: "FAIL_CLOSED" });
}

/** Variant 1: no HTTP filter but the router. */
export function noneVariant(): Variant {
  return { id: "none", kind: "baseline", filters: () => [] };
}

/** Variant 2: the SDK's empty module (test/sdk/guests/empty.ts, root id `empty`). */
export function emptyVariant(wasmPath: string): Variant {
  return {
    id: "empty",
    kind: "sdk",
    wasmPath,
    filters: () => [wasmFilter("empty", "empty", wasmPath)],
  };
}

/** A wasmgate plugin in its benchmark configuration. */
export function pluginVariant(name: string, rootId: string, wasmPath: string, cfg: BenchConfig): Variant {
  return {
    id: name,
    kind: "plugin",
    family: name,
    wasmPath,
    note: cfg.override,
    filters: () => [wasmFilter(name, rootId, wasmPath, cfg.config)],
  };
}

function str(x: unknown, fallback: string): string {
  return typeof x === "string" && x !== "" ? x : fallback;
}

/** Envoy's native equivalent of a plugin, or undefined when the benchmark has none for it. */
export function nativeVariant(family: string, cfg: Json): Variant | undefined {
  const id = `${family}-native`;
  switch (family) {
    case "hello": {
      const header = str(cfg.header, "x-wasmgate-hello");
      const value = str(cfg.value, "hello from wasmgate");
      return {
        id,
        kind: "native",
        family,
        note: "header_mutation sets the same request header",
        filters: () => [headerMutationFilter([{ key: header, value }])],
      };
    }
    case "b3":
      return {
        id,
        kind: "native",
        family,
        note:
          "header_mutation adds x-b3-traceid/x-b3-spanid (%UNIQUE_ID%) and x-b3-sampled when absent; " +
          "no Zipkin tracer (it needs a collector and, with direct_response, injects nothing)",
        filters: () => [
          headerMutationFilter([
            { key: "x-b3-traceid", value: "%UNIQUE_ID%", action: "ADD_IF_ABSENT" },
            { key: "x-b3-spanid", value: "%UNIQUE_ID%", action: "ADD_IF_ABSENT" },
            { key: "x-b3-sampled", value: "0", action: "ADD_IF_ABSENT" },
          ]),
        ],
      };
    case "routing":
      return {
        id,
        kind: "native",
        family,
        note: "route header/cookie/query matching and weighted_clusters, no filter",
        filters: () => [],
        routes: (ctx) => nativeRoutingRoutes(ctx.scenario),
      };
    case "ratelimit":
      return {
        id,
        kind: "native",
        family,
        note: `local_ratelimit, one bucket of ${NEVER_LIMIT} tokens per 1s, enabled and enforced 100%`,
        filters: () => [localRateLimitFilter(NEVER_LIMIT)],
      };
    case "accesslog":
      return {
        id,
        kind: "native",
        family,
        note: "HCM file access log, JSON lines, to a temp file",
        filters: () => [],
        accessLog: (ctx) => [fileAccessLog(path.join(ctx.tmpDir, `native-access-${ctx.scenario}.log`))],
      };
    default:
      return undefined;
  }
}

/** The Go SDK peers (tools/bench/peer), once built. */
export function peerVariants(helloCfg: Json, benchBuildDir: string): Variant[] {
  const hello = path.join(benchBuildDir, "go-hello.wasm");
  const ratelimit = path.join(benchBuildDir, "go-ratelimit.wasm");
  const out: Variant[] = [];
  if (fs.existsSync(hello)) {
    const configuration = {
      header: str(helloCfg.header, "x-wasmgate-hello"),
      value: str(helloCfg.value, "hello from wasmgate"),
    };
    out.push({
      id: "hello-go",
      kind: "peer",
      family: "hello",
      wasmPath: hello,
      note: "Go SDK (Go wasip1, c-shared): sets the header, counts requests",
      filters: () => [wasmFilter("go-hello", "go-hello", hello, configuration)],
    });
  }
  if (fs.existsSync(ratelimit)) {
    const configuration = { limit: NEVER_LIMIT, periodMs: 1000, burst: NEVER_LIMIT };
    out.push({
      id: "ratelimit-go",
      kind: "peer",
      family: "ratelimit",
      wasmPath: ratelimit,
      note: `Go SDK: one shared-data token bucket (CAS), ${NEVER_LIMIT} per 1s`,
      filters: () => [wasmFilter("go-ratelimit", "go-ratelimit", ratelimit, configuration)],
    });
  }
  return out;
}

/** The plugins under filters/ whose build/<name>.wasm exists, with their benchmark configuration. */
export function discoverPlugins(root: string, log: (line: string) => void = () => {}): Variant[] {
  const filtersDir = path.join(root, "filters");
  const names = fs.existsSync(filtersDir) ? fs.readdirSync(filtersDir).sort() : [];
  const out: Variant[] = [];
  for (const name of names) {
    const wasmPath = path.join(root, "build", `${name}.wasm`);
    if (!fs.statSync(path.join(filtersDir, name)).isDirectory()) continue;
    if (!fs.existsSync(wasmPath)) {
      log(`[bench] skip ${name}: build/${name}.wasm does not exist`);
      continue;
    }
    const yamlPath = path.join(filtersDir, name, "wasmplugin.yaml");
    let spec: WasmPluginSpec;
    let source: string;
    if (fs.existsSync(yamlPath)) {
      spec = parseWasmPlugin(fs.readFileSync(yamlPath, "utf8"), name);
      source = "wasmplugin.yaml";
    } else if (FALLBACK_CONFIGS[name]) {
      spec = { rootId: name, pluginConfig: FALLBACK_CONFIGS[name]! };
      source = "the benchmark's fallback (no wasmplugin.yaml yet)";
    } else {
      log(`[bench] skip ${name}: no filters/${name}/wasmplugin.yaml and no fallback configuration`);
      continue;
    }
    const cfg = benchPluginConfig(name, spec.pluginConfig);
    const v = pluginVariant(name, spec.rootId, wasmPath, cfg);
    v.note = [`config from ${source}`, cfg.override].filter(Boolean).join("; ");
    v.typicalConfig = spec.pluginConfig;
    out.push(v);
  }
  return out;
}

/** Every variant of a run, in report order: none, empty, then per plugin: plugin, native, peer. */
export function allVariants(layout: Layout, log: (line: string) => void = () => {}): Variant[] {
  const out: Variant[] = [noneVariant()];
  const empty = path.join(layout.root, "build", "test", "empty.wasm");
  if (fs.existsSync(empty)) out.push(emptyVariant(empty));
  else log("[bench] skip empty: build/test/empty.wasm does not exist");
  const plugins = discoverPlugins(layout.root, log);
  const helloCfg = plugins.find((p) => p.id === "hello")?.typicalConfig;
  const peers = peerVariants(helloCfg ?? {}, layout.benchBuildDir);
  for (const p of plugins) {
    out.push(p);
    const native = nativeVariant(p.id, p.typicalConfig ?? {});
    if (native) out.push(native);
    out.push(...peers.filter((x) => x.family === p.id));
  }
  return out;
}

/** Keep the variants named in `only` (by id); `none` is always kept, as every ratio needs it. */
export function selectVariants(all: Variant[], only: string[] | undefined): Variant[] {
  if (!only || only.length === 0) return all;
  const unknown = only.filter((id) => !all.some((v) => v.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `--only: unknown variant(s) ${unknown.join(", ")}; known: ${all.map((v) => v.id).join(", ")}`,
    );
  }
  return all.filter((v) => v.id === "none" || only.includes(v.id));
}

/**
 * The pairs a report compares, by variant id: every variant against `none`; each plugin against its
 * native equivalent and its Go peer; each Go peer against the native equivalent; empty against none.
 */
export function comparisonPairs(variants: Variant[]): Array<{ a: string; b: string; relation: string }> {
  const ids = new Set(variants.map((v) => v.id));
  const pairs: Array<{ a: string; b: string; relation: string }> = [];
  for (const v of variants) {
    if (v.id !== "none" && ids.has("none")) pairs.push({ a: v.id, b: "none", relation: "vs no filter" });
  }
  for (const v of variants) {
    if (v.kind === "plugin") {
      if (ids.has(`${v.id}-native`)) pairs.push({ a: v.id, b: `${v.id}-native`, relation: "vs native" });
      if (ids.has(`${v.id}-go`)) pairs.push({ a: v.id, b: `${v.id}-go`, relation: "vs Go SDK" });
    }
    if (v.kind === "peer" && v.family && ids.has(`${v.family}-native`)) {
      pairs.push({ a: v.id, b: `${v.family}-native`, relation: "vs native" });
    }
  }
  return pairs;
}
