// File-based ECDS for `wasmgate dev`: the bootstrap names one file per HTTP Wasm filter, each file holds the
// filter's typed_config, and Envoy accepts both (envoy --mode validate).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ecdsResponse, typedConfigHash, TYPED_EXTENSION_CONFIG_TYPE, withEcds } from "../../tools/cli/ecds";
import { formatProblem } from "../../tools/cli/problems";
import { httpFilters, Json, render, WASM_HTTP_TYPE } from "../../tools/cli/render";
import { toYaml } from "../../tools/cli/yaml-out";
import { validateEnvoyConfig } from "../../tools/harness";
import { gatewayYaml, parseCase, ROOT } from "./support";

jest.setTimeout(60_000);

const plugin = (name: string, extra: string) => `---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ${name}
  namespace: wasmgate
spec:
  url: file:///etc/wasmgate/wasm/hello.wasm
  pluginName: hello
${extra}`;

const parsed = parseCase(
  gatewayYaml() +
    plugin("greet", "  phase: STATS\n  pluginConfig:\n    value: one") +
    "\n" +
    plugin("tcp", "  type: NETWORK"),
);
const result = render(parsed.gateway!, parsed.plugins, { target: "local" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasmgate-ecds-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const ecdsPath = (name: string) => path.join(dir, `${name}.yaml`);

test("inputs are valid", () => {
  expect([...parsed.problems, ...result.problems].map(formatProblem)).toEqual([]);
});

test("HTTP Wasm filters become config_discovery from their file; the router and network filters stay", () => {
  const bootstrap = withEcds(result.config!, result.plugins, ecdsPath);
  expect(httpFilters(bootstrap)).toEqual([
    {
      name: "greet",
      config_discovery: {
        config_source: { path_config_source: { path: ecdsPath("greet") }, resource_api_version: "V3" },
        type_urls: [WASM_HTTP_TYPE],
      },
    },
    httpFilters(result.config!)[1],
  ]);
  const chain = (bootstrap.static_resources as { listeners: Json[] }).listeners[0]!.filter_chains as {
    filters: Json[];
  }[];
  expect(chain[0]!.filters.map((f) => f.name)).toEqual([
    "tcp",
    "envoy.filters.network.http_connection_manager",
  ]);
  expect(result.config).not.toEqual(bootstrap); // a copy: the inline config is left alone
});

test("the ECDS file is one TypedExtensionConfig named like the filter", () => {
  const greet = result.plugins.find((p) => p.name === "greet")!;
  expect(ecdsResponse(greet, "v1")).toEqual({
    version_info: "v1",
    resources: [{ "@type": TYPED_EXTENSION_CONFIG_TYPE, name: "greet", typed_config: greet.typedConfig }],
  });
});

test("the version changes exactly when the typed_config changes", () => {
  const again = render(parsed.gateway!, parsed.plugins, { target: "local" }).plugins[0]!;
  expect(typedConfigHash(again)).toBe(typedConfigHash(result.plugins[0]!));
  const other = parseCase(gatewayYaml() + plugin("greet", "  phase: STATS\n  pluginConfig:\n    value: two"));
  const changed = render(other.gateway!, other.plugins, { target: "local" }).plugins[0]!;
  expect(typedConfigHash(changed)).not.toBe(typedConfigHash(result.plugins[0]!));
  expect(typedConfigHash(changed)).toMatch(/^[0-9a-f]{12}$/);
});

// Envoy's validate mode needs each ECDS file to exist but does not load it (a plugin config the plugin
// refuses still validates); test/e2e/dev-reload.e2e.test.ts has a real Envoy load them.
test("envoy --mode validate: accepted with the files, refused without them", async () => {
  const bootstrap = withEcds(result.config!, result.plugins, ecdsPath);
  const missing = await validateEnvoyConfig(bootstrap, { cwd: ROOT });
  expect(missing.ok).toBe(false);
  expect(missing.errorLines.join("\n")).toContain(`'${ecdsPath("greet")}' does not exist`);

  for (const p of result.plugins.filter((x) => x.type === "HTTP")) {
    fs.writeFileSync(ecdsPath(p.name), toYaml(ecdsResponse(p, typedConfigHash(p))));
  }
  const r = await validateEnvoyConfig(bootstrap, { cwd: ROOT });
  expect(r.errorLines).toEqual([]);
  expect(r.ok).toBe(true);
});
