// The WasmPlugins for a real mesh, derived from the local ones: same name, namespace, selector, phase,
// priority, failStrategy, env, match and pluginConfig — only `url` becomes the published OCI image (see
// `wasmgate package`), so what runs in the mesh is configured exactly like what the local tests ran.

import type { GatewayDescription } from "./gateway";
import { orderPlugins } from "./order";
import { selectionReason } from "./render";
import type { PluginSource, WasmPlugin, WasmPluginSpec } from "./wasmplugin";

export function meshPlugins(
  gw: GatewayDescription,
  sources: readonly PluginSource[],
  moduleOf: (p: WasmPlugin) => string | undefined,
): WasmPlugin[] {
  const mesh = gw.mesh;
  if (!mesh) return [];
  const selected = sources.filter((s) => selectionReason(s.plugin, gw) === undefined);
  return orderPlugins(selected, (s) => s.plugin).map((s) => {
    const p = s.plugin;
    const module = moduleOf(p) ?? p.metadata.name;
    const spec: WasmPluginSpec = { ...p.spec, url: mesh.url.replace(/\{name\}/g, module) };
    delete spec.sha256; // the local file's digest says nothing about the image; Istio checks the manifest digest
    if (mesh.imagePullPolicy) spec.imagePullPolicy = mesh.imagePullPolicy;
    return {
      apiVersion: p.apiVersion,
      kind: p.kind,
      metadata: { name: p.metadata.name, namespace: p.metadata.namespace ?? gw.namespace },
      spec,
    };
  });
}
