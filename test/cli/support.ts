// Helpers for the CLI tests: parse a multi-document YAML (optionally starting with a gateway description)
// into validated inputs, and a capturing CliIo.

import * as path from "node:path";
import type { CliIo } from "../../tools/cli/context";
import { GatewayDescription, isGatewayDocument, parseGateway } from "../../tools/cli/gateway";
import type { Problem } from "../../tools/cli/problems";
import { loadCrdSchema } from "../../tools/cli/project";
import { validateDocuments } from "../../tools/cli/validate";
import type { PluginSource } from "../../tools/cli/wasmplugin";
import { parseYamlDocuments } from "../../tools/cli/yaml-docs";

export const ROOT = path.resolve(__dirname, "../..");

export interface ParsedCase {
  gateway?: GatewayDescription;
  plugins: PluginSource[];
  problems: Problem[];
}

/** Parses `text` (file name `file` in messages): an optional gateway description, then WasmPlugins. */
export function parseCase(text: string, file = "case.yaml"): ParsedCase {
  const { documents, problems } = parseYamlDocuments(text, file);
  const first = documents[0];
  let gateway: GatewayDescription | undefined;
  let rest = documents;
  if (first && isGatewayDocument(first.value)) {
    const g = parseGateway(first);
    problems.push(...g.problems);
    gateway = g.gateway;
    rest = documents.slice(1);
  }
  const v = validateDocuments(rest, { crd: loadCrdSchema() });
  return { gateway, plugins: v.plugins, problems: [...problems, ...v.problems] };
}

/** A minimal gateway description (YAML) for tests; `extra` lines are appended at top level. */
export function gatewayYaml(extra = ""): string {
  return `apiVersion: wasmgate/v1alpha1
kind: Gateway
name: wasmgate
namespace: wasmgate
labels:
  app: httpbin
plugins: []
wasmMountPath: /etc/wasmgate/wasm
listener:
  port: 10000
admin:
  port: 9901
clusters:
  - name: httpbin
    endpoints:
      local: 127.0.0.1:8080
      compose: httpbin:8080
routes:
  - match:
      prefix: /
    route:
      cluster: httpbin
targets:
  local:
    address: 127.0.0.1
    wasmDir: build
  compose:
    address: 0.0.0.0
    wasmDir: /etc/wasmgate/wasm
${extra}`;
}

export interface CapturedIo extends CliIo {
  out: string;
  err: string;
}

export function captureIo(cwd = ROOT, env: NodeJS.ProcessEnv = process.env): CapturedIo {
  const io: CapturedIo = {
    out: "",
    err: "",
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
    cwd,
    env,
    onInterrupt: () => () => {},
  };
  return io;
}
