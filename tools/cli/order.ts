// Filter-chain order of WasmPlugins, as istiod computes it (pilot/pkg/model/push_context.go
// `sortByPriority`, pilot/pkg/networking/core/listener_builder.go), for one listener:
//
//   [AUTHN plugins] → [AUTHZ plugins] → [STATS plugins] → [UNSPECIFIED_PHASE plugins] → router
//
// Within a phase: priority descending; an unset priority counts as math.MinInt32, so it runs after every
// plugin that sets one, even `priority: 0` or a negative one. istiod's stable sort starts from creation
// time, then name, then namespace; a local tool has no creation time, so ties go by name, then namespace.
// (In a real mesh istiod also places native filters between the phases: ext_authz before AUTHN, jwt/authn
// before AUTHZ, rbac before STATS. A wasmgate gateway has none of them.)

import type { Phase, WasmPlugin } from "./wasmplugin";

export const PHASE_ORDER: readonly Phase[] = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"];

const MIN_INT32 = -2147483648;

export function phaseOf(p: WasmPlugin): Phase {
  return p.spec.phase ?? "UNSPECIFIED_PHASE";
}

/** The priority istiod sorts by: unset (or null) is MinInt32. */
export function effectivePriority(p: WasmPlugin): number {
  const v = p.spec.priority;
  return v === undefined || v === null ? MIN_INT32 : v;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** istiod's order: phase, then priority descending, then name, then namespace. */
export function comparePlugins(a: WasmPlugin, b: WasmPlugin): number {
  return (
    PHASE_ORDER.indexOf(phaseOf(a)) - PHASE_ORDER.indexOf(phaseOf(b)) ||
    effectivePriority(b) - effectivePriority(a) ||
    compareText(a.metadata.name, b.metadata.name) ||
    compareText(a.metadata.namespace ?? "default", b.metadata.namespace ?? "default")
  );
}

/** A sorted copy; works on anything that carries a plugin. */
export function orderPlugins<T>(items: readonly T[], pluginOf: (item: T) => WasmPlugin): T[] {
  return [...items].sort((x, y) => comparePlugins(pluginOf(x), pluginOf(y)));
}
