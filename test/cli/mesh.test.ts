// envoy/mesh/: kubectl-apply-ready httpbin following Istio's naming rules, and the WasmPlugins with oci://
// URLs, valid under the CRD and configured exactly like the local ones.

import * as fs from "node:fs";
import * as path from "node:path";
import { checkPluginsInEmulator, loadInputs } from "../../tools/cli/context";
import { formatProblem } from "../../tools/cli/problems";
import { expandGlob, loadPlugins } from "../../tools/cli/project";
import { selectionReason } from "../../tools/cli/render";
import { parseYamlDocuments } from "../../tools/cli/yaml-docs";
import { captureIo, ROOT } from "./support";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const files = expandGlob(ROOT, "envoy/mesh/*.yaml");
const docs = files.flatMap((f) =>
  parseYamlDocuments(fs.readFileSync(f, "utf8"), f).documents.map((d) => d.value as Json),
);
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const mesh = loadPlugins(ROOT, files);
const io = captureIo();
const local = loadInputs(io, "envoy/gateway.yaml");
const setup = fs.readFileSync(path.join(ROOT, "tools/setup.sh"), "utf8");
const HTTPBIN_VERSION = /^HTTPBIN_VERSION=(\S+)/m.exec(setup)![1];

describe("mesh WasmPlugins", () => {
  test("validate under the CRD with no problems", () => {
    expect(mesh.problems.map(formatProblem)).toEqual([]);
    expect(mesh.plugins.length).toBeGreaterThan(0);
  });

  test("their plugin configs pass each plugin's own on_configure (emulator)", async () => {
    const r = await checkPluginsInEmulator(mesh.plugins, local.gateway, process.env, true);
    expect(r.problems.map(formatProblem)).toEqual([]);
  });

  test("are the gateway's plugins, with an oci:// image instead of a file", () => {
    const selected = local.plugins.filter((s) => selectionReason(s.plugin, local.gateway) === undefined);
    expect(mesh.plugins.map((p) => p.plugin.metadata.name).sort()).toEqual(
      selected.map((s) => s.plugin.metadata.name).sort(),
    );
    for (const m of mesh.plugins) {
      const l = selected.find((s) => s.plugin.metadata.name === m.plugin.metadata.name)!.plugin;
      expect(m.plugin.spec.url).toMatch(/^oci:\/\/[^/]+\/.+:[A-Za-z0-9._-]+$/);
      const { url: _u1, imagePullPolicy: _p1, sha256: _s1, ...meshRest } = m.plugin.spec;
      const { url: _u2, imagePullPolicy: _p2, sha256: _s2, ...localRest } = l.spec;
      expect(meshRest).toEqual(localRest);
    }
  });

  test("select the httpbin pods, in their namespace", () => {
    const deployment = byKind("Deployment")[0]!;
    const podLabels = deployment.spec.template.metadata.labels;
    for (const m of mesh.plugins) {
      expect(m.plugin.metadata.namespace).toBe(deployment.metadata.namespace);
      for (const [k, v] of Object.entries(m.plugin.spec.selector?.matchLabels ?? {}))
        expect(podLabels[k]).toBe(v);
    }
  });
});

describe("mesh httpbin (Istio's naming rules)", () => {
  test("the namespace has sidecar injection on", () => {
    expect(byKind("Namespace").map((n) => [n.metadata.name, n.metadata.labels["istio-injection"]])).toEqual([
      ["wasmgate", "enabled"],
    ]);
  });

  test("the Service has a port named http, 8000 → 8080, and selects app: httpbin", () => {
    const [svc] = byKind("Service");
    expect(svc!.spec.ports).toEqual([{ name: "http", port: 8000, targetPort: 8080 }]);
    expect(svc!.spec.selector).toEqual({ app: "httpbin" });
    expect(svc!.metadata.labels).toMatchObject({ app: "httpbin" });
  });

  test("the pods carry app and version labels and run the pinned go-httpbin on a named port 8080", () => {
    const [d] = byKind("Deployment");
    expect(d!.spec.selector.matchLabels).toEqual({ app: "httpbin", version: "v1" });
    expect(d!.spec.template.metadata.labels).toEqual({ app: "httpbin", version: "v1" });
    const [c] = d!.spec.template.spec.containers;
    expect(c.image).toBe(`docker.io/mccutchen/go-httpbin:${HTTPBIN_VERSION}`);
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080 }]);
  });

  test("every namespaced resource is in the plugins' namespace", () => {
    for (const d of docs.filter((d) => d.kind !== "Namespace"))
      expect([d.kind, d.metadata.namespace]).toEqual([d.kind, "wasmgate"]);
  });
});
