// The gateway description (envoy/gateway.yaml): the few facts about the local Envoy that WasmPlugins do
// not carry — listener, admin, upstream clusters, routes, which workload the gateway is (labels, namespace,
// name, for selector/targetRefs), where `file://` Wasm URLs point on each target, and which plugins share a
// vm_id. `render` combines it with the WasmPlugins into an Envoy bootstrap per target.

import { isObject, Schema, validateAgainstSchema } from "./json-schema";
import type { Problem } from "./problems";
import type { YamlDocument } from "./yaml-docs";

export const GATEWAY_API_VERSION = "wasmgate/v1alpha1";
export const GATEWAY_KIND = "Gateway";

export interface Endpoint {
  host: string;
  port: number;
}

export interface ClusterDescription {
  name: string;
  /** Endpoint per target name, e.g. {local: 127.0.0.1:8080, compose: httpbin:8080}. */
  endpoints: Record<string, Endpoint>;
}

export interface TargetDescription {
  /** Address the listener and the admin interface bind to (127.0.0.1 locally, 0.0.0.0 in a container). */
  address: string;
  /** Directory that `file://<wasmMountPath>/` maps to on this target (relative: to the repository root). */
  wasmDir: string;
  /** Where `render --write` puts this target's bootstrap (relative to the repository root). */
  output?: string;
}

export interface MeshDescription {
  /** Where `render --write` puts the mesh WasmPlugins. */
  output: string;
  /** Image URL per plugin; `{name}` is replaced by the plugin (module) name. */
  url: string;
  imagePullPolicy?: "IfNotPresent" | "Always";
}

export interface GatewayDescription {
  /** Gateway name: WasmPlugins with `targetRefs: [{kind: Gateway, name: <this>}]` select it. */
  name: string;
  /** Namespace of the gateway workload: WasmPlugins from here and from `rootNamespace` apply. */
  namespace: string;
  /** Istio's root namespace (mesh-wide plugins). Default istio-system. */
  rootNamespace: string;
  /** Labels of the gateway workload, matched by `spec.selector.matchLabels`. */
  labels: Record<string, string>;
  /** WasmPlugin files (relative to the repository root; `*` matches within one path segment). */
  plugins: string[];
  /** The container path that `file://` Wasm URLs use (e.g. /etc/wasmgate/wasm). */
  wasmMountPath: string;
  listener: { port: number };
  admin: { port: number };
  /** Log each request to Envoy's stdout. */
  accessLog: boolean;
  clusters: ClusterDescription[];
  /** Envoy `config.route.v3.Route` objects, verbatim, for the single `*` virtual host. */
  routes: Record<string, unknown>[];
  /** vm_id → plugin names that share it (and so share VMs of the same module, shared data and queues). */
  sharedVms: Record<string, string[]>;
  targets: Record<string, TargetDescription>;
  mesh?: MeshDescription;
}

const NAME = { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 };
const PORT = { type: "integer", minimum: 1, maximum: 65535 };
const ENDPOINT = { type: "string", pattern: "^[A-Za-z0-9.-]+:[0-9]{1,5}$" };

/** JSON Schema of the gateway description (checked with the same validator as plugin configs). */
export const GATEWAY_SCHEMA: Schema = {
  type: "object",
  additionalProperties: false,
  required: [
    "apiVersion",
    "kind",
    "name",
    "namespace",
    "plugins",
    "wasmMountPath",
    "listener",
    "admin",
    "clusters",
    "routes",
    "targets",
  ],
  properties: {
    apiVersion: { const: GATEWAY_API_VERSION },
    kind: { const: GATEWAY_KIND },
    name: NAME,
    namespace: NAME,
    rootNamespace: NAME,
    labels: { type: "object", additionalProperties: { type: "string", maxLength: 63 } },
    plugins: { type: "array", items: { type: "string", minLength: 1 } },
    wasmMountPath: { type: "string", pattern: "^/.*[^/]$" },
    listener: { type: "object", additionalProperties: false, required: ["port"], properties: { port: PORT } },
    admin: { type: "object", additionalProperties: false, required: ["port"], properties: { port: PORT } },
    accessLog: { type: "boolean" },
    clusters: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "endpoints"],
        properties: {
          name: { type: "string", pattern: "^[A-Za-z0-9_.-]+$" },
          endpoints: { type: "object", minProperties: 1, additionalProperties: ENDPOINT },
        },
      },
    },
    routes: { type: "array", minItems: 1, items: { type: "object", required: ["match"] } },
    sharedVms: {
      type: "object",
      additionalProperties: { type: "array", items: { type: "string" }, minItems: 1 },
    },
    targets: {
      type: "object",
      minProperties: 1,
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        required: ["address", "wasmDir"],
        properties: {
          address: { type: "string", enum: ["127.0.0.1", "0.0.0.0", "::1", "::"] },
          wasmDir: { type: "string", minLength: 1 },
          output: { type: "string", minLength: 1 },
        },
      },
    },
    mesh: {
      type: "object",
      additionalProperties: false,
      required: ["output", "url"],
      properties: {
        output: { type: "string", minLength: 1 },
        url: { type: "string", pattern: "\\{name\\}" },
        imagePullPolicy: { enum: ["IfNotPresent", "Always"] },
      },
    },
  },
};

export function isGatewayDocument(value: unknown): boolean {
  return isObject(value) && value.kind === GATEWAY_KIND && value.apiVersion === GATEWAY_API_VERSION;
}

function parseEndpoint(s: string): Endpoint {
  const i = s.lastIndexOf(":");
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** Checks a gateway description document and returns it with defaults filled in. */
export function parseGateway(doc: YamlDocument): { gateway?: GatewayDescription; problems: Problem[] } {
  const v = doc.value;
  const problem = (path: (string | number)[], message: string): Problem => ({
    severity: "error",
    file: doc.file,
    line: doc.lineOf(path),
    document: doc.document,
    resource: "gateway description",
    path,
    message,
  });
  const problems = validateAgainstSchema(GATEWAY_SCHEMA, v).map((i) => problem(i.path, i.message));
  if (problems.length > 0 || !isObject(v)) return { problems };
  const raw = v as Record<string, unknown> & {
    clusters: { name: string; endpoints: Record<string, string> }[];
    targets: Record<string, TargetDescription>;
    routes: Record<string, unknown>[];
    sharedVms?: Record<string, string[]>;
    listener: { port: number };
    admin: { port: number };
  };
  const targetNames = Object.keys(raw.targets);
  const clusters: ClusterDescription[] = raw.clusters.map((c, i) => {
    for (const t of targetNames) {
      if (c.endpoints[t] === undefined)
        problems.push(problem(["clusters", i, "endpoints"], `no endpoint for target "${t}"`));
    }
    for (const [t, e] of Object.entries(c.endpoints)) {
      if (!targetNames.includes(t))
        problems.push(
          problem(["clusters", i, "endpoints", t], `unknown target (targets: ${targetNames.join(", ")})`),
        );
      const port = parseEndpoint(e).port;
      if (port < 1 || port > 65535)
        problems.push(problem(["clusters", i, "endpoints", t], `port must be 1-65535, got ${port}`));
    }
    return {
      name: c.name,
      endpoints: Object.fromEntries(Object.entries(c.endpoints).map(([t, e]) => [t, parseEndpoint(e)])),
    };
  });
  const names = clusters.map((c) => c.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i)
      problems.push(problem(["clusters", i, "name"], `duplicate cluster name "${n}"`));
  });
  raw.routes.forEach((r, i) => {
    for (const [path, cluster] of routeClusters(r)) {
      if (!names.includes(cluster)) {
        problems.push(
          problem(["routes", i, ...path], `unknown cluster "${cluster}" (clusters: ${names.join(", ")})`),
        );
      }
    }
  });
  const seen = new Map<string, string>();
  for (const [vmId, plugins] of Object.entries(raw.sharedVms ?? {})) {
    for (const p of plugins) {
      const other = seen.get(p);
      if (other !== undefined)
        problems.push(problem(["sharedVms", vmId], `plugin "${p}" is already in vm_id "${other}"`));
      seen.set(p, vmId);
    }
  }
  if (raw.listener.port === raw.admin.port)
    problems.push(problem(["admin", "port"], "must differ from listener.port"));
  if (problems.length > 0) return { problems };
  return {
    problems,
    gateway: {
      name: raw.name as string,
      namespace: raw.namespace as string,
      rootNamespace: (raw.rootNamespace as string | undefined) ?? "istio-system",
      labels: (raw.labels as Record<string, string> | undefined) ?? {},
      plugins: raw.plugins as string[],
      wasmMountPath: raw.wasmMountPath as string,
      listener: raw.listener,
      admin: raw.admin,
      accessLog: (raw.accessLog as boolean | undefined) ?? false,
      clusters,
      routes: raw.routes,
      sharedVms: raw.sharedVms ?? {},
      targets: raw.targets,
      mesh: raw.mesh as MeshDescription | undefined,
    },
  };
}

/** Clusters a route names (`route.cluster`, `route.weighted_clusters.clusters[].name`) with their paths. */
function routeClusters(route: Record<string, unknown>): [(string | number)[], string][] {
  const action = route.route;
  if (!isObject(action)) return [];
  const out: [(string | number)[], string][] = [];
  if (typeof action.cluster === "string") out.push([["route", "cluster"], action.cluster]);
  const wc = action.weighted_clusters;
  if (isObject(wc) && Array.isArray(wc.clusters)) {
    wc.clusters.forEach((c, i) => {
      if (isObject(c) && typeof c.name === "string")
        out.push([["route", "weighted_clusters", "clusters", i, "name"], c.name]);
    });
  }
  return out;
}
