// Chain order as istiod computes it: phase AUTHN → AUTHZ → STATS → unspecified, priority descending,
// unset priority last (MinInt32), ties by name then namespace.

import { orderPlugins } from "../../tools/cli/order";
import type { Phase, WasmPlugin } from "../../tools/cli/wasmplugin";

const p = (name: string, phase?: Phase, priority?: number | null, namespace = "wasmgate"): WasmPlugin => ({
  apiVersion: "extensions.istio.io/v1alpha1",
  kind: "WasmPlugin",
  metadata: { name, namespace },
  spec: { url: "oci://x/y:1", ...(phase ? { phase } : {}), ...(priority !== undefined ? { priority } : {}) },
});
const id = (x: WasmPlugin) => `${x.metadata.namespace}/${x.metadata.name}`;

test.each([
  {
    name: "phases in istiod's order, unspecified last",
    input: [p("s", "STATS"), p("u"), p("z", "AUTHZ"), p("n", "AUTHN"), p("e", "UNSPECIFIED_PHASE")],
    order: ["n", "z", "s", "e", "u"],
  },
  {
    name: "priority descending within a phase",
    input: [p("low", "AUTHZ", 1), p("high", "AUTHZ", 100), p("mid", "AUTHZ", 10)],
    order: ["high", "mid", "low"],
  },
  {
    name: "unset priority runs after 0 and after negatives",
    input: [p("unset", "STATS"), p("zero", "STATS", 0), p("neg", "STATS", -10), p("null", "STATS", null)],
    order: ["zero", "neg", "null", "unset"],
  },
  {
    name: "a high priority does not cross phases",
    input: [p("stats-1000", "STATS", 1000), p("authn-0", "AUTHN", 0)],
    order: ["authn-0", "stats-1000"],
  },
  {
    name: "ties by name",
    input: [p("b", "STATS", 5), p("a", "STATS", 5), p("c", "STATS", 5)],
    order: ["a", "b", "c"],
  },
  {
    name: "ties by name, then namespace",
    input: [p("x", "STATS", 5, "wasmgate"), p("x", "STATS", 5, "istio-system"), p("w", "STATS", 5, "zeta")],
    order: ["w", "x", "x"],
    ids: ["zeta/w", "istio-system/x", "wasmgate/x"],
  },
])("$name", ({ input, order, ids }) => {
  const sorted = orderPlugins(input, (x) => x);
  expect(sorted.map((x) => x.metadata.name)).toEqual(order);
  if (ids) expect(sorted.map(id)).toEqual(ids);
});
