/**
 * Pure builders for Envoy v3 bootstrap configs (plain objects, serialisable as JSON/YAML).
 * Everything listens on and connects to loopback only.
 */
import * as path from "node:path";
import {
  HCM_TYPE,
  ROUTER_TYPE,
  STDOUT_ACCESS_LOG_TYPE,
  STRING_VALUE_TYPE,
  WASM_HTTP_TYPE,
} from "./type-urls";

export const ROUTER_FILTER_NAME = "envoy.filters.http.router";
export const WASM_FILTER_NAME = "envoy.filters.http.wasm";
export const HCM_STAT_PREFIX = "ingress_http";

const LOOPBACK = "127.0.0.1";

/** JSON-ish plain object. */
export type Json = Record<string, unknown>;

export interface ClusterSpec {
  name: string;
  port: number;
  /** Endpoint IP address (STATIC clusters need an IP); default 127.0.0.1. */
  host?: string;
}

export interface BootstrapOptions {
  /** Admin port on 127.0.0.1 (0 = let the kernel pick; startEnvoy discovers it). */
  adminPort: number;
  /** Listener port on 127.0.0.1. */
  listenerPort: number;
  clusters: ClusterSpec[];
  /** HTTP filters in order; the router filter is appended last (unless already last). */
  httpFilters?: object[];
  /** Routes of the single `*` virtual host; default: prefix "/" to the first cluster. */
  routes?: object[];
  /** Log every request to Envoy's stdout (so into the harness log file). */
  accessLog?: boolean;
}

function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

export function routerFilter(): Json {
  return { name: ROUTER_FILTER_NAME, typed_config: { "@type": ROUTER_TYPE } };
}

export function staticCluster(spec: ClusterSpec): Json {
  return {
    name: spec.name,
    type: "STATIC",
    connect_timeout: "1s",
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: spec.name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: socketAddress(spec.host ?? LOOPBACK, spec.port) } }] },
      ],
    },
  };
}

/** A static Envoy bootstrap: one HTTP listener (HCM `ingress_http`) on 127.0.0.1, admin, STATIC clusters. */
export function bootstrap(opts: BootstrapOptions): Json {
  if (opts.clusters.length === 0 && opts.routes === undefined) {
    throw new Error("bootstrap: need at least one cluster (or explicit routes)");
  }
  const routes = opts.routes ?? [{ match: { prefix: "/" }, route: { cluster: opts.clusters[0]!.name } }];
  const filters = [...(opts.httpFilters ?? [])];
  const last = filters[filters.length - 1] as { name?: unknown } | undefined;
  if (last?.name !== ROUTER_FILTER_NAME) filters.push(routerFilter());

  const hcm: Json = {
    "@type": HCM_TYPE,
    stat_prefix: HCM_STAT_PREFIX,
    codec_type: "AUTO",
    route_config: {
      name: "local_route",
      virtual_hosts: [{ name: "local", domains: ["*"], routes }],
    },
    http_filters: filters,
  };
  if (opts.accessLog) {
    hcm.access_log = [
      { name: "envoy.access_loggers.stdout", typed_config: { "@type": STDOUT_ACCESS_LOG_TYPE } },
    ];
  }

  return {
    admin: { address: socketAddress(LOOPBACK, opts.adminPort) },
    static_resources: {
      listeners: [
        {
          name: "ingress",
          address: socketAddress(LOOPBACK, opts.listenerPort),
          filter_chains: [
            {
              filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }],
            },
          ],
        },
      ],
      clusters: opts.clusters.map(staticCluster),
    },
  };
}

export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

export interface WasmFilterOptions {
  /** Filter/plugin name (also the plugin's `name`). */
  name: string;
  /** proxy-wasm root context id. */
  rootId: string;
  /** Path to the .wasm module; made absolute. */
  wasmPath: string;
  /**
   * Plugin configuration. Non-string values are JSON-serialised; a string is passed
   * verbatim (so tests can hand the plugin malformed JSON). Omitted when undefined.
   */
  configuration?: unknown;
  vmId?: string;
  /** Default FAIL_CLOSED; always written explicitly. */
  failurePolicy?: FailurePolicy;
  /** Environment variables visible to the VM (vm_config.environment_variables.key_values). */
  envVars?: Record<string, string>;
}

/** An `envoy.filters.http.wasm` filter running a local .wasm file on the V8 runtime. */
export function wasmHttpFilter(opts: WasmFilterOptions): Json {
  const vmConfig: Json = {
    runtime: "envoy.wasm.runtime.v8",
    code: { local: { filename: path.resolve(opts.wasmPath) } },
  };
  if (opts.vmId !== undefined) vmConfig.vm_id = opts.vmId;
  if (opts.envVars && Object.keys(opts.envVars).length > 0) {
    vmConfig.environment_variables = { key_values: { ...opts.envVars } };
  }
  const config: Json = {
    name: opts.name,
    root_id: opts.rootId,
    vm_config: vmConfig,
    failure_policy: opts.failurePolicy ?? "FAIL_CLOSED",
  };
  if (opts.configuration !== undefined) {
    const value =
      typeof opts.configuration === "string" ? opts.configuration : JSON.stringify(opts.configuration);
    config.configuration = { "@type": STRING_VALUE_TYPE, value };
  }
  return { name: opts.name, typed_config: { "@type": WASM_HTTP_TYPE, config } };
}
