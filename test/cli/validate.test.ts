// validate: the WasmPlugin CRD's OpenAPI schema, its CEL rules (by hand), the plugin's config.schema.json,
// and the plugin's own on_configure in the emulator. Each bad WasmPlugin is refused with the field path
// and what was expected; the valid ones pass.

import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { isObject, formatPath } from "../../tools/cli/json-schema";
import { checkOnConfigure } from "../../tools/cli/plugin-check";
import { formatProblem } from "../../tools/cli/problems";
import { configSchemaLookup, CRD_FILE, loadCrdSchema } from "../../tools/cli/project";
import { CEL_RULES, isUrl, validateDocuments } from "../../tools/cli/validate";
import type { WasmPlugin } from "../../tools/cli/wasmplugin";
import { parseYamlDocuments } from "../../tools/cli/yaml-docs";
import { filterWasm } from "../support/wasm";
import { ROOT } from "./support";

const SPEC = `  selector:
    matchLabels:
      app: httpbin
  url: file:///etc/wasmgate/wasm/hello.wasm
  pluginName: hello
  phase: STATS
  priority: 10
  failStrategy: FAIL_OPEN
  vmConfig:
    env:
      - name: POD_NAME
        valueFrom: HOST
      - name: MODE
        value: strict
  match:
    - mode: CLIENT
      ports:
        - number: 10000
  pluginConfig:
    header: x-wasmgate-hello
    value: hello`;

const doc = (
  spec: string,
  head = "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: hello\n  namespace: wasmgate",
) => `${head}\nspec:\n${spec}\n`;

/** `spec` with the line starting with `key:` (2-space indent) replaced (or removed when `by` is ""). */
function edit(key: string, by: string, spec = SPEC): string {
  const lines = spec.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`  ${key}:`));
  if (i < 0) throw new Error(`no ${key} in spec`);
  let j = i + 1;
  while (j < lines.length && lines[j]!.startsWith("    ")) j++;
  lines.splice(i, j - i, ...(by === "" ? [] : by.split("\n")));
  return lines.join("\n");
}

function validate(text: string) {
  const { documents, problems } = parseYamlDocuments(text, "plugin.yaml");
  const v = validateDocuments(documents, { crd: loadCrdSchema(), configSchema: configSchemaLookup(ROOT) });
  return { ...v, problems: [...problems, ...v.problems] };
}

/** "path: message" of each error, in order. */
function errorsOf(text: string): string[] {
  return validate(text)
    .problems.filter((p) => p.severity === "error")
    .map((p) => `${formatPath(p.path ?? [])}: ${p.message}`);
}

const E = (s: string) => s; // readability in the table

describe("invalid WasmPlugins are refused, naming the field", () => {
  test.each([
    {
      name: "failStrategy: wrong enum",
      text: doc(edit("failStrategy", "  failStrategy: FAIL_CLOSED")),
      errors: [E(`spec.failStrategy: expected one of FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD, got "FAIL_CLOSED"`)],
    },
    {
      name: "phase: wrong enum",
      text: doc(edit("phase", "  phase: AUTHENTICATION")),
      errors: [E(`spec.phase: expected one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS, got "AUTHENTICATION"`)],
    },
    {
      name: "imagePullPolicy: wrong enum",
      text: doc(SPEC + "\n  imagePullPolicy: Never"),
      errors: [
        E(`spec.imagePullPolicy: expected one of UNSPECIFIED_POLICY, IfNotPresent, Always, got "Never"`),
      ],
    },
    {
      name: "type: wrong enum",
      text: doc(SPEC + "\n  type: TCP"),
      errors: [E(`spec.type: expected one of UNSPECIFIED_PLUGIN_TYPE, HTTP, NETWORK, got "TCP"`)],
    },
    {
      name: "match mode: wrong enum",
      text: doc(edit("match", "  match:\n    - mode: INBOUND")),
      errors: [
        E(`spec.match[0].mode: expected one of UNDEFINED, CLIENT, SERVER, CLIENT_AND_SERVER, got "INBOUND"`),
      ],
    },
    {
      name: "sha256: upper-case hex",
      text: doc(SPEC + `\n  sha256: ${"AB".repeat(32)}`),
      errors: [
        E(
          `spec.sha256: expected 64 lower-case hex characters (a SHA-256 digest) or "", got "${"AB".repeat(32)}"`,
        ),
      ],
    },
    {
      name: "sha256: too short",
      text: doc(SPEC + "\n  sha256: abc123"),
      errors: [
        E(`spec.sha256: expected 64 lower-case hex characters (a SHA-256 digest) or "", got "abc123"`),
      ],
    },
    {
      name: "sha256: all digits, unquoted (YAML reads a number)",
      text: doc(SPEC + `\n  sha256: ${"1".repeat(64)}`),
      errors: [
        E(
          `spec.sha256: expected a string, got ${Number("1".repeat(64))} (put it in quotes: YAML reads unquoted numbers, true/false and null as non-strings)`,
        ),
      ],
    },
    {
      name: "two selectors: selector and targetRefs",
      text: doc(
        SPEC +
          "\n  targetRefs:\n    - kind: Gateway\n      group: gateway.networking.k8s.io\n      name: wasmgate",
      ),
      errors: [E("spec: only one of targetRefs or selector can be set (found selector and targetRefs)")],
    },
    {
      name: "two selectors: targetRef and targetRefs",
      text: doc(
        edit(
          "selector",
          "  targetRef:\n    kind: Gateway\n    name: a\n  targetRefs:\n    - kind: Gateway\n      name: b",
        ),
      ),
      errors: [E("spec: only one of targetRefs or selector can be set (found targetRef and targetRefs)")],
    },
    {
      name: "url: ftp scheme",
      text: doc(edit("url", "  url: ftp://example.com/hello.wasm")),
      errors: [
        E(
          'spec.url: url must have schema one of [http, https, file, oci], got "ftp://example.com/hello.wasm" (scheme "ftp")',
        ),
      ],
    },
    {
      name: "url: host:port without scheme parses as scheme registry.io (as Go's url.Parse does)",
      text: doc(edit("url", "  url: registry.io:5000/hello")),
      errors: [
        E(
          'spec.url: url must have schema one of [http, https, file, oci], got "registry.io:5000/hello" (scheme "registry.io")',
        ),
      ],
    },
    {
      name: "url: not a URL at all",
      text: doc(edit("url", "  url: my module.wasm")),
      errors: [
        E('spec.url: url must have schema one of [http, https, file, oci], got "my module.wasm" (not a URL)'),
      ],
    },
    {
      name: "url: missing",
      text: doc(edit("url", "")),
      errors: [E("spec.url: required field is missing")],
    },
    {
      name: "url: empty",
      text: doc(edit("url", '  url: ""')),
      errors: [E('spec.url: expected a non-empty string, got ""')],
    },
    {
      name: "env: value with valueFrom HOST",
      text: doc(
        edit(
          "vmConfig",
          "  vmConfig:\n    env:\n      - name: POD_NAME\n        valueFrom: HOST\n        value: x",
        ),
      ),
      errors: [
        E(
          "spec.vmConfig.env[0].value: value may only be set when valueFrom is INLINE (HOST copies the variable from the proxy's environment)",
        ),
      ],
    },
    {
      name: "env: valueFrom wrong enum",
      text: doc(edit("vmConfig", "  vmConfig:\n    env:\n      - name: A\n        valueFrom: ENV")),
      errors: [E('spec.vmConfig.env[0].valueFrom: expected one of INLINE, HOST, got "ENV"')],
    },
    {
      name: "env: name missing",
      text: doc(edit("vmConfig", "  vmConfig:\n    env:\n      - value: x")),
      errors: [E("spec.vmConfig.env[0].name: required field is missing")],
    },
    {
      name: "env: the same name twice (list-map key)",
      text: doc(
        edit("vmConfig", "  vmConfig:\n    env:\n      - name: A\n      - name: A\n        value: y"),
      ),
      errors: [E('spec.vmConfig.env[1]: duplicate name "A" (already at [0])')],
    },
    {
      name: "ports: number 0",
      text: doc(edit("match", "  match:\n    - ports:\n        - number: 0")),
      errors: [E("spec.match[0].ports[0].number: expected 1 to 65535, got 0")],
    },
    {
      name: "ports: number 70000",
      text: doc(edit("match", "  match:\n    - ports:\n        - number: 70000")),
      errors: [E("spec.match[0].ports[0].number: expected 1 to 65535, got 70000")],
    },
    {
      name: "ports: number missing",
      text: doc(edit("match", "  match:\n    - ports:\n        - {}")),
      errors: [E("spec.match[0].ports[0].number: required field is missing")],
    },
    {
      name: "ports: number not an integer",
      text: doc(edit("match", '  match:\n    - ports:\n        - number: "http"')),
      errors: [E('spec.match[0].ports[0].number: expected an integer, got "http"')],
    },
    {
      name: "ports: the same number twice (list-map key)",
      text: doc(edit("match", "  match:\n    - ports:\n        - number: 80\n        - number: 80")),
      errors: [E("spec.match[0].ports[1]: duplicate number 80 (already at [0])")],
    },
    {
      name: "unknown spec field, with a suggestion",
      text: doc(SPEC + "\n  pluginconfig: {}"),
      errors: [E('spec.pluginconfig: unknown field (did you mean "pluginConfig"?)')],
    },
    {
      name: "unknown plugin config field (config.schema.json)",
      text: doc(SPEC + "\n    colour: red"),
      errors: [
        E(
          "spec.pluginConfig.colour: unknown field (allowed: header, value, includeSource) (filters/hello/config.schema.json)",
        ),
      ],
    },
    {
      name: "plugin config field of the wrong type (config.schema.json)",
      text: doc(SPEC + '\n    includeSource: "yes"'),
      errors: [
        E(
          'spec.pluginConfig.includeSource: expected a boolean, got "yes" (filters/hello/config.schema.json)',
        ),
      ],
    },
    {
      name: "pluginConfig not an object",
      text: doc(edit("pluginConfig", "  pluginConfig: header=x")),
      errors: [E('spec.pluginConfig: expected an object, got "header=x"')],
    },
    {
      name: "priority: not an integer",
      text: doc(edit("priority", "  priority: high")),
      errors: [E('spec.priority: expected an integer, got "high"')],
    },
    {
      name: "priority: beyond int32",
      text: doc(edit("priority", "  priority: 3000000000")),
      errors: [E("spec.priority: expected a int32 (-2147483648 to 2147483647), got 3000000000")],
    },
    {
      name: "pluginName: empty",
      text: doc(edit("pluginName", '  pluginName: ""')),
      errors: [E('spec.pluginName: expected a non-empty string, got ""')],
    },
    {
      name: "selector: wildcard in a label value",
      text: doc(edit("selector", '  selector:\n    matchLabels:\n      app: "*"')),
      errors: [E("spec.selector.matchLabels.app: wildcard not allowed in label value match")],
    },
    {
      name: "selector: empty label key",
      text: doc(edit("selector", '  selector:\n    matchLabels:\n      "": httpbin')),
      errors: [E("spec.selector.matchLabels: key must not be empty")],
    },
    {
      name: "selector: label value longer than 63",
      text: doc(edit("selector", `  selector:\n    matchLabels:\n      app: ${"a".repeat(64)}`)),
      errors: [E("spec.selector.matchLabels.app: expected at most 63 characters, got 64")],
    },
    {
      name: "targetRefs: cross-namespace reference",
      text: doc(
        edit("selector", "  targetRefs:\n    - kind: Gateway\n      name: gw\n      namespace: other"),
      ),
      errors: [
        E(
          'spec.targetRefs[0].namespace: cross namespace referencing is not currently supported, got "other"',
        ),
      ],
    },
    {
      name: "targetRefs: kind missing",
      text: doc(edit("selector", "  targetRefs:\n    - name: gw")),
      errors: [E("spec.targetRefs[0].kind: required field is missing")],
    },
    {
      name: "targetRefs: more than 16",
      text: doc(
        edit("selector", "  targetRefs:\n" + "    - kind: Gateway\n      name: gw\n".repeat(17).trimEnd()),
      ),
      errors: [E("spec.targetRefs: expected at most 16 items, got 17")],
    },
    {
      name: "metadata.name: not a DNS-1123 subdomain",
      text: doc(
        SPEC,
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: Hello_World",
      ),
      errors: [
        E(
          `metadata.name: expected a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253), got "Hello_World"`,
        ),
      ],
    },
    {
      name: "metadata.name: missing",
      text: doc(
        SPEC,
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  namespace: wasmgate",
      ),
      errors: [E("metadata.name: required field is missing")],
    },
    {
      name: "apiVersion: wrong version",
      text: doc(SPEC, "apiVersion: extensions.istio.io/v1beta1\nkind: WasmPlugin\nmetadata:\n  name: hello"),
      errors: [E('apiVersion: expected extensions.istio.io/v1alpha1, got "extensions.istio.io/v1beta1"')],
    },
    {
      name: "spec: missing",
      text: "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: hello\n",
      errors: [E("spec: required field is missing (spec.url at least)")],
    },
    {
      name: "unknown top-level field",
      text: doc(SPEC) + "specs: {}\n",
      errors: [E('specs: unknown field (did you mean "spec"?)')],
    },
    {
      name: "several errors at once, in document order",
      text: doc(edit("phase", "  phase: LATE", edit("failStrategy", "  failStrategy: NEVER"))),
      errors: [
        E(`spec.phase: expected one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS, got "LATE"`),
        E(`spec.failStrategy: expected one of FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD, got "NEVER"`),
      ],
    },
  ])("$name", ({ text, errors }) => {
    const r = validate(text);
    expect(errorsOf(text)).toEqual(errors);
    expect(r.plugins).toEqual([]);
  });
});

describe("valid WasmPlugins are accepted", () => {
  test.each([
    { name: "the full example", text: doc(SPEC) },
    { name: "url only", text: doc("  url: file:///etc/wasmgate/wasm/hello.wasm") },
    {
      name: "scheme-less image reference (Istio reads oci://)",
      text: doc("  url: ghcr.io/example/hello:0.1.0"),
    },
    {
      name: "oci:// with digest and sha256",
      text: doc(
        `  url: oci://ghcr.io/example/hello@sha256:${"a".repeat(64)}\n  sha256: ${"a".repeat(64)}\n  imagePullPolicy: Always`,
      ),
    },
    {
      name: "https with sha256",
      text: doc(`  url: https://example.com/hello.wasm\n  sha256: ${"0f".repeat(32)}`),
    },
    { name: "empty sha256", text: doc('  url: https://example.com/hello.wasm\n  sha256: ""') },
    { name: "absolute path (scheme-less)", text: doc("  url: /var/lib/wasm/hello.wasm") },
    {
      name: "targetRefs only",
      text: doc(
        "  url: oci://x/y:1\n  targetRefs:\n    - group: gateway.networking.k8s.io\n      kind: Gateway\n      name: gw",
      ),
    },
    { name: "priority null (unset)", text: doc("  url: oci://x/y:1\n  priority: null") },
    { name: "negative priority", text: doc("  url: oci://x/y:1\n  priority: -2147483648") },
    {
      name: "HOST env without value",
      text: doc("  url: oci://x/y:1\n  vmConfig:\n    env:\n      - name: HOSTNAME\n        valueFrom: HOST"),
    },
    {
      name: "status is server-managed and ignored",
      text: doc("  url: oci://x/y:1") + "status:\n  observedGeneration: 3\n",
    },
    {
      name: "metadata the API server adds",
      text: doc(
        "  url: oci://x/y:1",
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: hello\n  uid: abc\n  resourceVersion: '12'\n  labels:\n    team: edge",
      ),
    },
  ])("$name", ({ text }) => {
    const r = validate(text);
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.plugins.map((p) => p.plugin.metadata.name)).toEqual(["hello"]);
  });
});

describe("problem reports", () => {
  test("name the file, line, document, resource and field", () => {
    const text =
      doc("  url: oci://x/y:1") +
      "---\n" +
      doc("  url: oci://x/y:1\n  phase: LATE").replace("name: hello", "name: second");
    expect(validate(text).problems.map(formatProblem)).toEqual([
      `plugin.yaml:16: document 2 (WasmPlugin wasmgate/second): spec.phase: expected one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS, got "LATE"`,
    ]);
  });

  test("documents of other kinds are skipped, not validated", () => {
    const text =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: httpbin\n---\n" + doc("  url: oci://x/y:1");
    const r = validate(text);
    expect(r.skipped).toEqual(["document 1 (Service httpbin)"]);
    expect(r.plugins).toHaveLength(1);
  });

  test("invalid YAML is reported with its line", () => {
    expect(validate("spec:\n  url: [oops\n").problems.map(formatProblem)[0]).toMatch(
      /^plugin\.yaml:\d+: document 1: invalid YAML: /,
    );
  });

  test("deprecated targetRef is a warning, not an error", () => {
    const r = validate(doc("  url: oci://x/y:1\n  targetRef:\n    kind: Gateway\n    name: gw"));
    expect(r.problems.map(formatProblem)).toEqual([
      "plugin.yaml:8: document 1 (WasmPlugin wasmgate/hello): spec.targetRef: warning: deprecated: use targetRefs",
    ]);
    expect(r.plugins).toHaveLength(1);
  });
});

describe("CEL rules", () => {
  /** Every x-kubernetes-validations rule in the CRD, as {message, rule}. */
  function crdRules(node: unknown, out: { message: string; rule: string }[] = []) {
    if (Array.isArray(node)) node.forEach((n) => crdRules(n, out));
    else if (isObject(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (k === "x-kubernetes-validations" && Array.isArray(v))
          for (const r of v) out.push({ message: r.message, rule: r.rule });
        else crdRules(v, out);
      }
    }
    return out;
  }
  const norm = (s: string) => s.replace(/\s+/g, " ").trim();

  test("every rule of the CRD is implemented exactly once, and nothing else", () => {
    const crd = parseYaml(fs.readFileSync(CRD_FILE, "utf8"));
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    const want = crdRules(spec).map((r) => `${r.message} :: ${norm(r.rule)}`);
    // The cross-namespace rule appears twice in the CRD (targetRef and targetRefs items): one implementation.
    const have = CEL_RULES.map((r) => `${r.message} :: ${norm(r.rule)}`);
    expect([...new Set(want)].sort()).toEqual([...have].sort());
  });

  test.each([
    { url: "file:///etc/wasm/x.wasm", ok: true },
    { url: "FILE:///etc/wasm/x.wasm", ok: true },
    { url: "oci://ghcr.io/a/b:1", ok: true },
    { url: "https://example.com:8443/x.wasm", ok: true },
    { url: "/abs/path.wasm", ok: true },
    { url: "mailto:someone", ok: true },
    { url: "ghcr.io/a/b:1", ok: false },
    { url: "relative/path", ok: false },
    { url: "http://host:port/x", ok: false },
    { url: "http://a b/x", ok: false },
    { url: "http://host/%zz", ok: false },
    { url: "1abc://x", ok: false },
    { url: ":x", ok: false },
    { url: "http://x/\u0007", ok: false },
  ])("isURL($url) is $ok (Go url.ParseRequestURI)", ({ url, ok }) => {
    expect(isUrl(url)).toBe(ok);
  });
});

describe("on_configure in the emulator (what Envoy does at startup)", () => {
  const plugin = (pluginConfig: Record<string, unknown> | undefined, pluginName = "hello"): WasmPlugin => ({
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: "hello", namespace: "wasmgate" },
    spec: { url: "file:///etc/wasmgate/wasm/hello.wasm", pluginName, pluginConfig },
  });
  test.each([
    { name: "valid config", config: { header: "x-a", value: "b" }, root: "hello", lines: [] },
    { name: "no config (defaults)", config: undefined, root: "hello", lines: [] },
    {
      name: "header the plugin refuses",
      config: { header: "Bad Header" },
      root: "hello",
      lines: [
        'hello: invalid configuration: header: expected a lower-case HTTP header name, got "Bad Header"',
      ],
    },
    {
      name: "unknown field",
      config: { colour: 1 },
      root: "hello",
      lines: ["hello: invalid configuration: colour: unknown field"],
    },
    {
      name: "pluginName that is no root context of the module",
      config: undefined,
      root: "nope",
      lines: [
        "wasmgate: no root context registered for root_id 'nope'",
        "wasm trap in VM 0: proxy_on_context_create: unreachable",
      ],
    },
  ])("$name", async ({ config, root, lines }) => {
    const r = await checkOnConfigure(filterWasm("hello"), plugin(config, root));
    expect(r).toEqual({ ok: lines.length === 0, lines });
  });
});
