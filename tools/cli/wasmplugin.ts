// Istio's WasmPlugin resource (extensions.istio.io/v1alpha1), as the CLI reads it. Field names and
// enums are the CRD's (tools/cli/schema/wasmplugins.extensions.istio.io.crd.yaml, istio/api 1.30.3).

import type { PathSegment } from "./json-schema";

export const WASMPLUGIN_API_VERSION = "extensions.istio.io/v1alpha1";
export const WASMPLUGIN_KIND = "WasmPlugin";

export type Phase = "UNSPECIFIED_PHASE" | "AUTHN" | "AUTHZ" | "STATS";
export type FailStrategy = "FAIL_CLOSE" | "FAIL_OPEN" | "FAIL_RELOAD";
export type PullPolicy = "UNSPECIFIED_POLICY" | "IfNotPresent" | "Always";
export type PluginType = "UNSPECIFIED_PLUGIN_TYPE" | "HTTP" | "NETWORK";
export type WorkloadMode = "UNDEFINED" | "CLIENT" | "SERVER" | "CLIENT_AND_SERVER";

export interface PolicyTargetReference {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface EnvVar {
  name: string;
  /** Default INLINE. */
  valueFrom?: "INLINE" | "HOST";
  value?: string;
}

export interface TrafficSelector {
  /** Default UNDEFINED, which means CLIENT_AND_SERVER. */
  mode?: WorkloadMode;
  ports?: { number: number }[];
}

export interface WasmPluginSpec {
  selector?: { matchLabels?: Record<string, string> };
  /** Deprecated singular form of targetRefs. */
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  url: string;
  sha256?: string;
  imagePullPolicy?: PullPolicy;
  imagePullSecret?: string;
  verificationKey?: string;
  pluginConfig?: Record<string, unknown>;
  /** Becomes Envoy's root_id. */
  pluginName?: string;
  phase?: Phase;
  /** Higher runs first within a phase; unset sorts after every set priority. */
  priority?: number | null;
  failStrategy?: FailStrategy;
  vmConfig?: { env?: EnvVar[] };
  match?: TrafficSelector[];
  type?: PluginType;
}

export interface WasmPlugin {
  apiVersion: typeof WASMPLUGIN_API_VERSION;
  kind: typeof WASMPLUGIN_KIND;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: WasmPluginSpec;
}

/** A validated WasmPlugin and where it came from. */
export interface PluginSource {
  plugin: WasmPlugin;
  file: string;
  /** 1-based document index in `file`. */
  document: number;
  lineOf(path: readonly PathSegment[]): number | undefined;
}

/** `WasmPlugin <namespace>/<name>` (namespace "default" when unset, as kubectl would apply it). */
export function resourceName(plugin: { metadata?: { name?: unknown; namespace?: unknown } }): string {
  const ns = typeof plugin.metadata?.namespace === "string" ? plugin.metadata.namespace : "default";
  const name = typeof plugin.metadata?.name === "string" ? plugin.metadata.name : "<unnamed>";
  return `WasmPlugin ${ns}/${name}`;
}

export function namespaceOf(plugin: WasmPlugin): string {
  return plugin.metadata.namespace ?? "default";
}

/** True when a YAML document is meant to be a WasmPlugin (other kinds in a manifest file are skipped). */
export function isWasmPluginDocument(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { kind?: unknown }).kind === WASMPLUGIN_KIND &&
    typeof (value as { apiVersion?: unknown }).apiVersion === "string" &&
    ((value as { apiVersion: string }).apiVersion.startsWith("extensions.istio.io/") ||
      (value as { apiVersion: string }).apiVersion === "")
  );
}

/**
 * The URL scheme as Istio reads it: lower-cased; "" for scheme-less references (`ghcr.io/x/y:1`),
 * which Istio treats as `oci://`. Mirrors Go's url.Parse scheme rules: a scheme is letters, digits,
 * `+`, `-`, `.` starting with a letter and ending at the first `:`.
 */
export function urlScheme(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  return m ? m[1]!.toLowerCase() : "";
}
