// Loading the CLI's inputs from disk: the gateway description, WasmPlugin files (globs), the CRD schema
// shipped with the CLI, and each plugin's config.schema.json. Everything else in the CLI works on the
// values returned here.

import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { GatewayDescription, isGatewayDocument, parseGateway } from "./gateway";
import { isObject, Schema } from "./json-schema";
import type { Problem } from "./problems";
import { crdSchema, ConfigSchemaLookup, validateDocuments } from "./validate";
import { PluginSource, urlScheme, WasmPlugin } from "./wasmplugin";
import { parseYamlDocuments, YamlDocument } from "./yaml-docs";

/** The WasmPlugin CRD shipped with the CLI (istio/api 1.30.3, Apache-2.0). */
export const CRD_FILE = path.join(__dirname, "schema", "wasmplugins.extensions.istio.io.crd.yaml");
export const DEFAULT_GATEWAY = "envoy/gateway.yaml";

let crdCache: Schema | undefined;
export function loadCrdSchema(): Schema {
  crdCache ??= crdSchema(parseYaml(fs.readFileSync(CRD_FILE, "utf8")));
  return crdCache;
}

/** `file` as shown to the user: relative to the repository root when inside it. */
export function display(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}

export function readYamlFile(root: string, file: string): { documents: YamlDocument[]; problems: Problem[] } {
  const shown = display(root, file);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      documents: [],
      problems: [
        { severity: "error", file: shown, message: code === "ENOENT" ? "file not found" : String(e) },
      ],
    };
  }
  return parseYamlDocuments(text, shown);
}

/** Expands `*` and `?` within path segments (no `**`), relative to `root`; sorted, existing files only. */
export function expandGlob(root: string, pattern: string): string[] {
  const segments = pattern.split("/").filter((s) => s !== "" && s !== ".");
  let current = [path.isAbsolute(pattern) ? "/" : root];
  for (const seg of segments) {
    const next: string[] = [];
    const wild = /[*?]/.test(seg);
    const re = new RegExp(
      "^" +
        seg
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, "[^/]*")
          .replace(/\?/g, "[^/]") +
        "$",
    );
    for (const dir of current) {
      if (!wild) {
        const p = path.join(dir, seg);
        if (fs.existsSync(p)) next.push(p);
        continue;
      }
      let entries: string[];
      try {
        entries = fs.readdirSync(dir).sort();
      } catch {
        continue; // not a directory
      }
      for (const e of entries) if (re.test(e) && !e.startsWith(".")) next.push(path.join(dir, e));
    }
    current = next;
  }
  return current.filter((f) => fs.statSync(f).isFile());
}

export interface LoadedGateway {
  gateway?: GatewayDescription;
  file: string;
  problems: Problem[];
}

export function loadGateway(root: string, file: string): LoadedGateway {
  const { documents, problems } = readYamlFile(root, file);
  if (problems.length > 0) return { file, problems };
  const doc = documents.find((d) => isGatewayDocument(d.value)) ?? documents[0];
  if (!doc)
    return {
      file,
      problems: [{ severity: "error", file: display(root, file), message: "empty gateway description" }],
    };
  const r = parseGateway(doc);
  return { file, gateway: r.gateway, problems: r.problems };
}

/** The plugin module a WasmPlugin runs: filters/<module>/ (from the file:// name, pluginName or name). */
export function moduleName(root: string, plugin: WasmPlugin): string | undefined {
  const candidates: string[] = [];
  if (urlScheme(plugin.spec.url) === "file")
    candidates.push(path.basename(plugin.spec.url).replace(/\.wasm$/, ""));
  if (plugin.spec.pluginName) candidates.push(plugin.spec.pluginName);
  candidates.push(plugin.metadata.name);
  return candidates.find(
    (c) => /^[A-Za-z0-9_.-]+$/.test(c) && fs.existsSync(path.join(root, "filters", c, "index.ts")),
  );
}

/** filters/<module>/config.schema.json for a WasmPlugin, if the module has one. */
export function configSchemaLookup(root: string): ConfigSchemaLookup {
  return (plugin) => {
    const mod = moduleName(root, plugin);
    if (!mod) return undefined;
    const file = path.join(root, "filters", mod, "config.schema.json");
    if (!fs.existsSync(file)) return undefined;
    const shown = display(root, file);
    try {
      const schema = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
      if (!isObject(schema)) return { file: shown, error: "not a JSON object" };
      return { file: shown, schema };
    } catch (e) {
      return { file: shown, error: `invalid JSON: ${(e as Error).message}` };
    }
  };
}

export interface LoadedPlugins {
  plugins: PluginSource[];
  problems: Problem[];
  /** Files read, as shown. */
  files: string[];
  skipped: string[];
}

/** Reads and validates (CRD + CEL + config.schema.json) every WasmPlugin in `files`. */
export function loadPlugins(
  root: string,
  files: string[],
  opts: { configSchemas?: boolean } = {},
): LoadedPlugins {
  const out: LoadedPlugins = { plugins: [], problems: [], files: [], skipped: [] };
  const crd = loadCrdSchema();
  const configSchema = opts.configSchemas === false ? undefined : configSchemaLookup(root);
  for (const file of files) {
    out.files.push(display(root, file));
    const { documents, problems } = readYamlFile(root, file);
    out.problems.push(...problems);
    const v = validateDocuments(documents, { crd, configSchema });
    out.problems.push(...v.problems);
    out.plugins.push(...v.plugins);
    out.skipped.push(...v.skipped.map((s) => `${display(root, file)}: ${s}`));
  }
  return out;
}

/** The gateway's WasmPlugin files (its `plugins` globs, relative to the repository root). */
export function gatewayPluginFiles(root: string, gateway: GatewayDescription): string[] {
  const files = gateway.plugins.flatMap((g) => expandGlob(root, g));
  return [...new Set(files)];
}

/** Where a WasmPlugin's module is built locally: the file:// target on `wasmDir`, else build/<module>.wasm. */
export function localWasmFile(
  root: string,
  plugin: WasmPlugin,
  gateway?: GatewayDescription,
): string | undefined {
  const url = plugin.spec.url;
  if (urlScheme(url) === "file" && gateway) {
    const p = url.replace(/^file:\/\//i, "");
    const local = gateway.targets.local?.wasmDir ?? "build";
    if (p.startsWith(gateway.wasmMountPath + "/")) {
      return path.resolve(root, local, p.slice(gateway.wasmMountPath.length + 1));
    }
    return path.resolve(root, p); // outside the mount: Envoy reads the path as is
  }
  const mod = moduleName(root, plugin);
  return mod ? path.join(root, "build", `${mod}.wasm`) : undefined;
}
