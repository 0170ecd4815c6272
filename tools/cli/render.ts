// `wasmgate render`, the pure part: a gateway description plus WasmPlugins → an Envoy v3 bootstrap, the
// way istiod would configure a gateway's Envoy with the same WasmPlugins (see RenderedPlugin for the field
// mapping, order.ts for the chain order), except that stock Envoy has no istio-agent to download modules:
// `oci://` URLs are refused and `http(s)://` needs `sha256`.

import type { ClusterDescription, Endpoint, GatewayDescription } from "./gateway";
import { isObject } from "./json-schema";
import { orderPlugins } from "./order";
import type { Problem } from "./problems";
import { HCM_STAT_PREFIX } from "../harness/bootstrap";
import {
  HCM_TYPE,
  ROUTER_TYPE,
  STDOUT_ACCESS_LOG_TYPE,
  STRING_VALUE_TYPE,
  UPSTREAM_TLS_TYPE,
  WASM_HTTP_TYPE,
  WASM_NETWORK_TYPE,
} from "../harness/type-urls";
import { FailStrategy, namespaceOf, PluginSource, urlScheme, WasmPlugin } from "./wasmplugin";

export type Json = Record<string, unknown>;

export { WASM_HTTP_TYPE, WASM_NETWORK_TYPE };
export { HCM_STAT_PREFIX };
export const LISTENER_NAME = "gateway";

/** failStrategy → PluginConfig.failure_policy, always explicit (Envoy's own default has changed before). */
export const FAILURE_POLICY: Record<FailStrategy, string> = {
  FAIL_CLOSE: "FAIL_CLOSED",
  FAIL_OPEN: "FAIL_OPEN",
  FAIL_RELOAD: "FAIL_RELOAD",
};

export interface RenderOptions {
  /** Target name in the gateway description ("local", "compose"). */
  target: string;
  /** Local port overrides (`up --port`): addresses change, plugin selection still uses listener.port. */
  ports?: { listener?: number; admin?: number; clusters?: Record<string, number> };
  /**
   * Where Envoy reads a `file://` module from, given the path on this target (dev mode substitutes
   * content-addressed copies). Default: the path itself.
   */
  codePath?: (plugin: RenderedPlugin, path: string) => string;
}

/** One WasmPlugin as it ends up in the chain. */
export interface RenderedPlugin {
  /** Envoy filter name and PluginConfig.name: the WasmPlugin's metadata.name (one name per plugin). */
  name: string;
  source: PluginSource;
  type: "HTTP" | "NETWORK";
  /** The filter's `typed_config` (envoy.extensions.filters.{http,network}.wasm.v3.Wasm). */
  typedConfig: Json;
  /** For file:// URLs: the module path on this target (before `codePath`). */
  localFile?: string;
  /** spec.sha256 when set (the shell verifies it against `localFile`). */
  sha256?: string;
}

export interface SkippedPlugin {
  source: PluginSource;
  reason: string;
}

export interface RenderResult {
  /** Undefined when there are errors. */
  config?: Json;
  /** Selected plugins in chain order. */
  plugins: RenderedPlugin[];
  skipped: SkippedPlugin[];
  problems: Problem[];
}

/** Why a WasmPlugin does not apply to this gateway, or undefined when it does (istiod's selection rules). */
export function selectionReason(plugin: WasmPlugin, gw: GatewayDescription): string | undefined {
  const ns = namespaceOf(plugin);
  if (ns !== gw.namespace && ns !== gw.rootNamespace) {
    return `namespace "${ns}" is neither the gateway's ("${gw.namespace}") nor the root namespace ("${gw.rootNamespace}")`;
  }
  const spec = plugin.spec;
  const labels = spec.selector?.matchLabels ?? {};
  for (const [k, v] of Object.entries(labels)) {
    if (gw.labels[k] !== v) return `selector ${k}=${v} does not match the gateway's labels`;
  }
  const refs = [...(spec.targetRef ? [spec.targetRef] : []), ...(spec.targetRefs ?? [])];
  if (refs.length > 0) {
    const hit = refs.some(
      (r) =>
        r.kind === "Gateway" &&
        (r.group ?? "") === "gateway.networking.k8s.io" &&
        r.name === gw.name &&
        ns === gw.namespace,
    );
    if (!hit) {
      const list = refs.map((r) => `${r.kind}/${r.name}`).join(", ");
      return `targetRefs (${list}) do not name this gateway (gateway.networking.k8s.io Gateway ${gw.namespace}/${gw.name})`;
    }
  }
  // A gateway's listeners are CLIENT (outbound) in istiod's terms; the port is the listener port.
  const match = spec.match ?? [];
  if (match.length > 0) {
    const port = gw.listener.port;
    const ok = match.some(
      (m) =>
        (m.mode ?? "UNDEFINED") !== "SERVER" &&
        ((m.ports ?? []).length === 0 || (m.ports ?? []).some((p) => p.number === port)),
    );
    if (!ok) return `match does not select CLIENT traffic on port ${port} (a gateway's listener is CLIENT)`;
  }
  return undefined;
}

/** JSON with object keys sorted at every level, as istiod's protojson rendering of the Struct does. */
export function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : isObject(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort(v[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

function clusterJson(name: string, ep: Endpoint, extra: Json = {}): Json {
  return {
    name,
    type: isIp(ep.host) ? "STATIC" : "STRICT_DNS",
    connect_timeout: "5s",
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(ep.host, ep.port) } }] }],
    },
    ...extra,
  };
}

/** Cluster name for fetching `http(s)://` modules from one origin. */
export function fetchClusterName(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `wasm_fetch_${url.protocol.replace(":", "")}_${url.hostname.replace(/[^A-Za-z0-9]+/g, "_")}_${port}`;
}

export function render(gw: GatewayDescription, sources: PluginSource[], opts: RenderOptions): RenderResult {
  const problems: Problem[] = [];
  const target = gw.targets[opts.target];
  if (!target) {
    return {
      plugins: [],
      skipped: [],
      problems: [
        {
          severity: "error",
          message: `unknown target "${opts.target}" (targets: ${Object.keys(gw.targets).join(", ")})`,
        },
      ],
    };
  }
  const problemAt = (
    s: PluginSource,
    path: (string | number)[],
    message: string,
    severity: "error" | "warning" = "error",
  ) =>
    problems.push({
      severity,
      file: s.file,
      line: s.lineOf(path),
      document: s.document,
      resource: `WasmPlugin ${namespaceOf(s.plugin)}/${s.plugin.metadata.name}`,
      path,
      message,
    });

  const skipped: SkippedPlugin[] = [];
  const selected: PluginSource[] = [];
  for (const s of sources) {
    const reason = selectionReason(s.plugin, gw);
    if (reason) skipped.push({ source: s, reason });
    else selected.push(s);
  }

  const byName = new Map<string, PluginSource>();
  for (const s of selected) {
    const other = byName.get(s.plugin.metadata.name);
    if (other) {
      problemAt(
        s,
        ["metadata", "name"],
        `another selected WasmPlugin has the same name (${other.file}, namespace ${namespaceOf(other.plugin)}); ` +
          "the name is the Envoy filter name, so it must be unique on the gateway",
      );
    }
    byName.set(s.plugin.metadata.name, s);
  }
  for (const [vmId, names] of Object.entries(gw.sharedVms)) {
    for (const n of names) {
      if (!byName.has(n)) {
        problems.push({
          severity: "warning",
          message: `sharedVms.${vmId}: no selected WasmPlugin is named "${n}"`,
        });
      }
    }
  }
  const vmIdOf = (name: string): string | undefined =>
    Object.entries(gw.sharedVms).find(([, names]) => names.includes(name))?.[0];

  const fetchClusters = new Map<string, Json>();
  const plugins: RenderedPlugin[] = [];
  for (const s of orderPlugins(selected, (x) => x.plugin)) {
    const spec = s.plugin.spec;
    const name = s.plugin.metadata.name;
    const rendered: RenderedPlugin = {
      name,
      source: s,
      type: spec.type === "NETWORK" ? "NETWORK" : "HTTP",
      typedConfig: {},
      sha256: spec.sha256 ? spec.sha256 : undefined,
    };
    let code: Json | undefined;
    const scheme = urlScheme(spec.url);
    if (scheme === "file") {
      const path = spec.url.replace(/^file:\/\//i, "");
      let local = path;
      if (path.startsWith(gw.wasmMountPath + "/")) {
        const rest = path.slice(gw.wasmMountPath.length + 1);
        local = target.wasmDir === gw.wasmMountPath ? path : `${target.wasmDir.replace(/\/$/, "")}/${rest}`;
      } else {
        problemAt(
          s,
          ["spec", "url"],
          `${path} is outside wasmMountPath ${gw.wasmMountPath}; Envoy on target "${opts.target}" reads it as is`,
          "warning",
        );
      }
      rendered.localFile = local;
      code = { local: { filename: opts.codePath ? opts.codePath(rendered, local) : local } };
    } else if (scheme === "http" || scheme === "https") {
      if (!spec.sha256) {
        problemAt(
          s,
          ["spec", "sha256"],
          `required for ${scheme}:// URLs with a stock Envoy (its RemoteDataSource needs the module's SHA-256; ` +
            "in a mesh istio-agent downloads the module instead); run `sha256sum` on the module and set it",
        );
      } else {
        const url = new URL(spec.url);
        const cluster = fetchClusterName(url);
        if (!fetchClusters.has(cluster)) {
          const port = Number(url.port || (scheme === "https" ? 443 : 80));
          const tls =
            scheme === "https"
              ? {
                  transport_socket: {
                    name: "envoy.transport_sockets.tls",
                    typed_config: { "@type": UPSTREAM_TLS_TYPE, sni: url.hostname },
                  },
                }
              : {};
          fetchClusters.set(cluster, clusterJson(cluster, { host: url.hostname, port }, tls));
        }
        code = {
          remote: {
            http_uri: { uri: spec.url, cluster, timeout: "30s" },
            sha256: spec.sha256,
            retry_policy: { num_retries: 3 },
          },
        };
      }
    } else {
      problemAt(
        s,
        ["spec", "url"],
        `${scheme === "" ? "a URL without scheme (Istio reads it as oci://)" : "an oci:// image"} cannot be loaded by a stock Envoy ` +
          "(in a mesh istio-agent pulls it). Locally, use file://" +
          `${gw.wasmMountPath}/<module>.wasm (${target.wasmDir}/ on target "${opts.target}"), or serve the module over ` +
          "http(s):// with spec.sha256; keep oci:// for the mesh (`wasmgate package` writes the image)",
      );
    }

    const vmConfig: Json = { runtime: "envoy.wasm.runtime.v8" };
    const vmId = vmIdOf(name);
    if (vmId !== undefined) vmConfig.vm_id = vmId;
    if (code) vmConfig.code = code;
    const env = spec.vmConfig?.env ?? [];
    const keyValues: Record<string, string> = {};
    const hostKeys: string[] = [];
    for (const e of env) {
      if (e.valueFrom === "HOST") hostKeys.push(e.name);
      else keyValues[e.name] = e.value ?? "";
    }
    if (env.length > 0) {
      const ev: Json = {};
      if (hostKeys.length > 0) ev.host_env_keys = hostKeys;
      if (Object.keys(keyValues).length > 0) ev.key_values = keyValues;
      vmConfig.environment_variables = ev;
    }
    const config: Json = { name };
    if (spec.pluginName) config.root_id = spec.pluginName;
    config.vm_config = vmConfig;
    if (spec.pluginConfig && Object.keys(spec.pluginConfig).length > 0) {
      config.configuration = { "@type": STRING_VALUE_TYPE, value: sortedJson(spec.pluginConfig) };
    }
    config.failure_policy = FAILURE_POLICY[spec.failStrategy ?? "FAIL_CLOSE"];
    rendered.typedConfig = {
      "@type": rendered.type === "NETWORK" ? WASM_NETWORK_TYPE : WASM_HTTP_TYPE,
      config,
    };
    plugins.push(rendered);
  }

  const clusters = gw.clusters.map((c: ClusterDescription) => {
    const ep = c.endpoints[opts.target]!;
    const port = opts.ports?.clusters?.[c.name] ?? ep.port;
    return clusterJson(c.name, { host: ep.host, port });
  });
  for (const name of fetchClusters.keys()) {
    if (gw.clusters.some((c) => c.name === name)) {
      problems.push({
        severity: "error",
        message: `cluster name ${name} is reserved for fetching Wasm modules; rename the gateway cluster`,
      });
    }
  }

  const hcm: Json = {
    "@type": HCM_TYPE,
    stat_prefix: HCM_STAT_PREFIX,
    codec_type: "AUTO",
    route_config: {
      name: "local_route",
      virtual_hosts: [{ name: gw.name, domains: ["*"], routes: gw.routes }],
    },
    http_filters: [
      ...plugins.filter((p) => p.type === "HTTP").map((p) => ({ name: p.name, typed_config: p.typedConfig })),
      { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE } },
    ],
  };
  if (gw.accessLog)
    hcm.access_log = [
      { name: "envoy.access_loggers.stdout", typed_config: { "@type": STDOUT_ACCESS_LOG_TYPE } },
    ];

  const networkFilters = plugins
    .filter((p) => p.type === "NETWORK")
    .map((p) => ({ name: p.name, typed_config: p.typedConfig }));
  const config: Json = {
    // File-based ECDS (wasmgate dev) needs a node id and cluster; harmless otherwise.
    node: { id: `${gw.name}-${opts.target}`, cluster: gw.name },
    admin: { address: socketAddress(target.address, opts.ports?.admin ?? gw.admin.port) },
    static_resources: {
      listeners: [
        {
          name: LISTENER_NAME,
          address: socketAddress(target.address, opts.ports?.listener ?? gw.listener.port),
          filter_chains: [
            {
              filters: [
                ...networkFilters,
                { name: "envoy.filters.network.http_connection_manager", typed_config: hcm },
              ],
            },
          ],
        },
      ],
      clusters: [...clusters, ...fetchClusters.values()],
    },
  };
  problems.sort(
    (a, b) =>
      (a.file ?? "").localeCompare(b.file ?? "") ||
      (a.document ?? 0) - (b.document ?? 0) ||
      (a.line ?? 0) - (b.line ?? 0),
  );
  const failed = problems.some((p) => p.severity === "error");
  return { config: failed ? undefined : config, plugins, skipped, problems };
}

/** The HTTP filter list of a rendered bootstrap (for tests and the dev loop). */
export function httpFilters(config: Json): Json[] {
  const listeners = (config.static_resources as { listeners: Json[] }).listeners;
  const chain = (listeners[0]!.filter_chains as { filters: Json[] }[])[0]!.filters;
  const hcm = chain.find((f) => f.name === "envoy.filters.network.http_connection_manager")!;
  return (hcm.typed_config as { http_filters: Json[] }).http_filters;
}
