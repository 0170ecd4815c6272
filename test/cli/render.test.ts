// render: golden files (test/cli/golden/<case>.input.yaml → <case>.envoy.yaml or <case>.errors.txt,
// regenerate with UPDATE_GOLDEN=1), every rendered golden through `envoy --mode validate`, and the field
// mapping case by case.

import * as fs from "node:fs";
import * as path from "node:path";
import { validateEnvoyConfig } from "../../tools/harness";
import { describeChain } from "../../tools/cli/cmd-render";
import { formatProblem } from "../../tools/cli/problems";
import { httpFilters, Json, render, selectionReason, sortedJson } from "../../tools/cli/render";
import { toYaml } from "../../tools/cli/yaml-out";
import { gatewayYaml, parseCase, ROOT } from "./support";

jest.setTimeout(120_000);

const GOLDEN = path.join(__dirname, "golden");
const CASES = fs
  .readdirSync(GOLDEN)
  .filter((f) => f.endsWith(".input.yaml"))
  .map((f) => f.slice(0, -".input.yaml".length))
  .sort();

/** What a golden case renders to: the bootstrap (with chain and skipped plugins on top) or the errors. */
function renderGolden(name: string): { file: string; text: string; config?: Json } {
  const input = `${name}.input.yaml`;
  const parsed = parseCase(fs.readFileSync(path.join(GOLDEN, input), "utf8"), input);
  if (parsed.problems.length > 0) throw new Error(parsed.problems.map(formatProblem).join("\n"));
  const result = render(parsed.gateway!, parsed.plugins, { target: "local" });
  if (!result.config) {
    return { file: `${name}.errors.txt`, text: result.problems.map(formatProblem).join("\n") + "\n" };
  }
  const header = [
    `Rendered from ${input} by test/cli/render.test.ts (UPDATE_GOLDEN=1 regenerates).`,
    `chain: ${describeChain(result)}`,
    ...result.skipped.map((s) => `skipped ${s.source.plugin.metadata.name}: ${s.reason}`),
    ...result.problems.map((p) => formatProblem(p)),
  ];
  return { file: `${name}.envoy.yaml`, text: toYaml(result.config, header), config: result.config };
}

describe("golden files", () => {
  test.each(CASES)("%s", (name) => {
    const { file, text } = renderGolden(name);
    const target = path.join(GOLDEN, file);
    if (process.env.UPDATE_GOLDEN) {
      for (const ext of [".envoy.yaml", ".errors.txt"])
        fs.rmSync(path.join(GOLDEN, name + ext), { force: true });
      fs.writeFileSync(target, text);
    }
    expect(fs.existsSync(target) ? fs.readFileSync(target, "utf8") : `(missing ${file})`).toBe(text);
  });

  test("every output file has an input", () => {
    const outputs = fs.readdirSync(GOLDEN).filter((f) => !f.endsWith(".input.yaml"));
    const orphans = outputs.filter((f) => !CASES.includes(f.replace(/\.(envoy\.yaml|errors\.txt)$/, "")));
    expect(orphans).toEqual([]);
  });

  const rendered = CASES.map((name) => [name, renderGolden(name).config] as const).filter(([, c]) => c);
  test.each(rendered)("%s passes envoy --mode validate", async (_name, config) => {
    const r = await validateEnvoyConfig(config!, { cwd: ROOT });
    expect(r.errorLines).toEqual([]);
    expect(r.ok).toBe(true);
  });
});

const plugin = (name: string, spec: string, ns = "wasmgate") => `---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  url: file:///etc/wasmgate/wasm/hello.wasm
  pluginName: hello
${spec}`;

function renderOne(spec: string, target = "local", gatewayExtra = "") {
  const parsed = parseCase(gatewayYaml(gatewayExtra) + plugin("p", spec));
  expect(parsed.problems.map(formatProblem)).toEqual([]);
  return render(parsed.gateway!, parsed.plugins, { target });
}

function pluginConfig(spec: string, target = "local"): Json {
  const r = renderOne(spec, target);
  expect(r.problems.map(formatProblem)).toEqual([]);
  return (r.plugins[0]!.typedConfig as { config: Json }).config;
}

describe("field mapping", () => {
  test.each([
    { name: "FAIL_CLOSE", spec: "  failStrategy: FAIL_CLOSE", policy: "FAIL_CLOSED" },
    { name: "FAIL_OPEN", spec: "  failStrategy: FAIL_OPEN", policy: "FAIL_OPEN" },
    { name: "FAIL_RELOAD", spec: "  failStrategy: FAIL_RELOAD", policy: "FAIL_RELOAD" },
    { name: "unset is explicit FAIL_CLOSED", spec: "", policy: "FAIL_CLOSED" },
  ])("failStrategy $name → failure_policy $policy", ({ spec, policy }) => {
    expect(pluginConfig(spec).failure_policy).toBe(policy);
  });

  test.each([
    { name: "local target maps the mount to build/", target: "local", file: "build/hello.wasm" },
    {
      name: "compose target keeps the container path",
      target: "compose",
      file: "/etc/wasmgate/wasm/hello.wasm",
    },
  ])("file:// url: $name", ({ target, file }) => {
    const config = pluginConfig("", target);
    expect(config.vm_config).toEqual({
      runtime: "envoy.wasm.runtime.v8",
      code: { local: { filename: file } },
    });
  });

  test("pluginName → root_id, metadata.name → filter and plugin name", () => {
    const r = renderOne("");
    expect(httpFilters(r.config!).map((f) => f.name)).toEqual(["p", "envoy.filters.http.router"]);
    expect(pluginConfig("")).toMatchObject({ name: "p", root_id: "hello" });
  });

  test("pluginConfig → StringValue JSON with sorted keys at every level", () => {
    const config = pluginConfig("  pluginConfig:\n    z: 1\n    a:\n      y: [2, {d: 1, c: 2}]\n      b: x");
    expect(config.configuration).toEqual({
      "@type": "type.googleapis.com/google.protobuf.StringValue",
      value: '{"a":{"b":"x","y":[2,{"c":2,"d":1}]},"z":1}',
    });
  });

  test.each([
    { name: "absent", spec: "" },
    { name: "empty", spec: "  pluginConfig: {}" },
  ])("pluginConfig $name → no configuration", ({ spec }) => {
    expect(pluginConfig(spec)).not.toHaveProperty("configuration");
  });

  test("a file:// path outside wasmMountPath is used as is, with a warning", () => {
    const parsed = parseCase(
      gatewayYaml() + plugin("p", "").replace("/etc/wasmgate/wasm/hello.wasm", "/opt/x.wasm"),
    );
    const r = render(parsed.gateway!, parsed.plugins, { target: "local" });
    expect(r.problems.map(formatProblem)).toEqual([
      "case.yaml:37: document 2 (WasmPlugin wasmgate/p): spec.url: warning: /opt/x.wasm is outside wasmMountPath " +
        '/etc/wasmgate/wasm; Envoy on target "local" reads it as is',
    ]);
    expect((r.plugins[0]!.typedConfig.config as Json).vm_config).toMatchObject({
      code: { local: { filename: "/opt/x.wasm" } },
    });
  });

  test("port overrides move the listener, admin and cluster but not plugin selection", () => {
    const parsed = parseCase(
      gatewayYaml() + plugin("p", "  match:\n    - mode: CLIENT\n      ports:\n        - number: 10000"),
    );
    const r = render(parsed.gateway!, parsed.plugins, {
      target: "local",
      ports: { listener: 18000, admin: 18001, clusters: { httpbin: 18002 } },
    });
    const c = r.config as Json & { admin: Json; static_resources: { listeners: Json[]; clusters: Json[] } };
    expect(c.admin).toEqual({ address: { socket_address: { address: "127.0.0.1", port_value: 18001 } } });
    expect(c.static_resources.listeners[0]!.address).toEqual({
      socket_address: { address: "127.0.0.1", port_value: 18000 },
    });
    expect(JSON.stringify(c.static_resources.clusters[0])).toContain('"port_value":18002');
    expect(r.plugins.map((p) => p.name)).toEqual(["p"]);
  });

  test("two selected plugins with the same name are refused (the name is the Envoy filter name)", () => {
    const parsed = parseCase(gatewayYaml() + plugin("dup", "") + "\n" + plugin("dup", "", "istio-system"));
    const r = render(parsed.gateway!, parsed.plugins, { target: "local" });
    expect(r.config).toBeUndefined();
    expect(r.problems.map(formatProblem)).toEqual([
      "case.yaml:44: document 3 (WasmPlugin istio-system/dup): metadata.name: another selected WasmPlugin has the " +
        "same name (case.yaml, namespace wasmgate); the name is the Envoy filter name, so it must be unique on the gateway",
    ]);
  });

  test("sortedJson sorts nested keys and keeps arrays in order", () => {
    expect(sortedJson({ b: [3, 1, { y: 1, x: 2 }], a: null })).toBe('{"a":null,"b":[3,1,{"x":2,"y":1}]}');
  });
});

describe("selection reasons", () => {
  const gw = parseCase(gatewayYaml()).gateway!;
  const parse = (spec: string, ns = "wasmgate") => parseCase(plugin("p", spec, ns)).plugins[0]!.plugin;
  test.each([
    { name: "same namespace, no selector", spec: "", ns: "wasmgate", reason: undefined },
    { name: "root namespace", spec: "", ns: "istio-system", reason: undefined },
    {
      name: "other namespace",
      spec: "",
      ns: "other",
      reason:
        'namespace "other" is neither the gateway\'s ("wasmgate") nor the root namespace ("istio-system")',
    },
    {
      name: "selector mismatch",
      spec: "  selector:\n    matchLabels:\n      app: reviews",
      ns: "wasmgate",
      reason: "selector app=reviews does not match the gateway's labels",
    },
    {
      name: "targetRefs to another kind",
      spec: "  targetRefs:\n    - kind: Service\n      name: httpbin",
      ns: "wasmgate",
      reason:
        "targetRefs (Service/httpbin) do not name this gateway (gateway.networking.k8s.io Gateway wasmgate/wasmgate)",
    },
    {
      name: "SERVER only",
      spec: "  match:\n    - mode: SERVER",
      ns: "wasmgate",
      reason: "match does not select CLIENT traffic on port 10000 (a gateway's listener is CLIENT)",
    },
  ])("$name", ({ spec, ns, reason }) => {
    expect(selectionReason(parse(spec, ns), gw)).toBe(reason);
  });
});
