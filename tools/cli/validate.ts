// `wasmgate validate`, the pure part: a WasmPlugin document against the CRD's OpenAPI v3 schema, the
// CRD's CEL rules (implemented by hand, one function per rule, keyed by the CRD's own message), and the
// plugin's config.schema.json. The authoritative plugin-config check (the built .wasm's on_configure in
// the emulator) lives in plugin-check.ts, because it loads files.

import {
  formatPath,
  isObject,
  PathSegment,
  Schema,
  SchemaIssue,
  suggest,
  UnsupportedSchemaError,
  validateAgainstSchema,
} from "./json-schema";
import type { Problem } from "./problems";
import {
  isWasmPluginDocument,
  PluginSource,
  resourceName,
  urlScheme,
  WASMPLUGIN_API_VERSION,
  WASMPLUGIN_KIND,
  WasmPlugin,
} from "./wasmplugin";
import type { YamlDocument } from "./yaml-docs";

/** The OpenAPI v3 schema of WasmPlugin v1alpha1 out of the CRD document. */
export function crdSchema(crd: unknown, version = "v1alpha1"): Schema {
  const versions = isObject(crd) && isObject(crd.spec) ? crd.spec.versions : undefined;
  const v = Array.isArray(versions) ? versions.find((x) => isObject(x) && x.name === version) : undefined;
  const schema = isObject(v) && isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
  if (!isObject(schema)) throw new Error(`the CRD has no openAPIV3Schema for version ${version}`);
  return schema;
}

export interface CelRule {
  /** The CRD's `message`, verbatim: the test checks that every rule of the CRD has exactly one of these. */
  message: string;
  /** The CRD's CEL expression, verbatim (documentation; evaluated by `check`). */
  rule: string;
  /** Issues (paths relative to the document root) for one WasmPlugin `spec`. */
  check(spec: Record<string, unknown>): SchemaIssue[];
}

/**
 * Go's `url.ParseRequestURI` as the Kubernetes CEL `isURL()` uses it, reduced to what decides validity
 * for a WasmPlugin URL: control characters, the scheme, and (for `scheme://authority`) the host and port.
 */
export function isUrl(s: string): boolean {
  if ([...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return false; // control character
  let scheme = "";
  let rest = s;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ":") {
      if (i === 0) return false; // "missing protocol scheme"
      scheme = s.slice(0, i);
      rest = s.slice(i + 1);
    }
    break;
  }
  if (!rest.startsWith("/")) return scheme !== ""; // opaque ("mailto:x") is a URL; a relative path is not
  if (scheme !== "" && rest.startsWith("//")) {
    const end = rest.indexOf("/", 2);
    let authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    const q = authority.indexOf("?");
    if (q >= 0) authority = authority.slice(0, q);
    const host = authority.slice(authority.lastIndexOf("@") + 1);
    if (!host.startsWith("[")) {
      const colon = host.lastIndexOf(":");
      if (colon >= 0 && !/^[0-9]*$/.test(host.slice(colon + 1))) return false; // invalid port
      if (/[ "<>\\^`{|}]/.test(host)) return false; // invalid character in host name
    }
  }
  return !/%(?![0-9A-Fa-f]{2})/.test(rest); // invalid URL escape
}

const URL_SCHEMES = ["", "http", "https", "oci", "file"];

/** The CEL rules of the WasmPlugin CRD, implemented by hand. */
export const CEL_RULES: readonly CelRule[] = [
  {
    message: "only one of targetRefs or selector can be set",
    rule: "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0)\n  + (has(self.targetRefs) ? 1 : 0) <= 1",
    check(spec) {
      const set = ["selector", "targetRef", "targetRefs"].filter((k) => spec[k] !== undefined);
      return set.length <= 1
        ? []
        : [
            {
              path: ["spec"],
              message: `only one of targetRefs or selector can be set (found ${set.join(" and ")})`,
            },
          ];
    },
  },
  {
    message: "url must have schema one of [http, https, file, oci]",
    rule:
      'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : (isURL("http://" + self) &&\n' +
      'url("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])',
    check(spec) {
      const url = spec.url;
      if (typeof url !== "string" || url === "") return []; // type/minLength report it
      const ok = isUrl(url) ? URL_SCHEMES.includes(urlScheme(url)) : isUrl("http://" + url);
      if (ok) return [];
      const scheme = isUrl(url) ? ` (scheme "${urlScheme(url)}")` : " (not a URL)";
      return [
        {
          path: ["spec", "url"],
          message: `url must have schema one of [http, https, file, oci], got ${JSON.stringify(url)}${scheme}`,
        },
      ];
    },
  },
  {
    message: "wildcard not allowed in label key match",
    rule: 'self.all(key, !key.contains("*"))',
    check: (spec) =>
      labelKeys(spec)
        .filter((k) => k.includes("*"))
        .map((k) => ({
          path: ["spec", "selector", "matchLabels", k],
          message: "wildcard not allowed in label key match",
        })),
  },
  {
    message: "key must not be empty",
    rule: "self.all(key, key.size() != 0)",
    check: (spec) =>
      labelKeys(spec)
        .filter((k) => k === "")
        .map(() => ({ path: ["spec", "selector", "matchLabels"], message: "key must not be empty" })),
  },
  {
    message: "wildcard not allowed in label value match",
    rule: '!self.contains("*")',
    check(spec) {
      const labels = matchLabels(spec);
      return Object.entries(labels)
        .filter(([, v]) => typeof v === "string" && v.includes("*"))
        .map(([k]) => ({
          path: ["spec", "selector", "matchLabels", k],
          message: "wildcard not allowed in label value match",
        }));
    },
  },
  {
    message: "cross namespace referencing is not currently supported",
    rule: "self.size() == 0",
    check(spec) {
      const refs: [PathSegment[], unknown][] = [];
      if (spec.targetRef !== undefined) refs.push([["spec", "targetRef"], spec.targetRef]);
      if (Array.isArray(spec.targetRefs))
        spec.targetRefs.forEach((r, i) => refs.push([["spec", "targetRefs", i], r]));
      return refs
        .filter(([, r]) => isObject(r) && typeof r.namespace === "string" && r.namespace.length > 0)
        .map(([path, r]) => ({
          path: [...path, "namespace"],
          message: `cross namespace referencing is not currently supported, got ${JSON.stringify((r as { namespace: string }).namespace)}`,
        }));
    },
  },
  {
    message: "value may only be set when valueFrom is INLINE",
    rule: '(has(self.valueFrom) ? self.valueFrom : "") != "HOST"\n  || !has(self.value)',
    check(spec) {
      const env = isObject(spec.vmConfig) ? spec.vmConfig.env : undefined;
      if (!Array.isArray(env)) return [];
      return env.flatMap((e, i) =>
        isObject(e) && e.valueFrom === "HOST" && e.value !== undefined
          ? [
              {
                path: ["spec", "vmConfig", "env", i, "value"],
                message:
                  "value may only be set when valueFrom is INLINE (HOST copies the variable from the proxy's environment)",
              },
            ]
          : [],
      );
    },
  },
];

function matchLabels(spec: Record<string, unknown>): Record<string, unknown> {
  const sel = spec.selector;
  return isObject(sel) && isObject(sel.matchLabels) ? sel.matchLabels : {};
}

function labelKeys(spec: Record<string, unknown>): string[] {
  return Object.keys(matchLabels(spec));
}

const OBJECT_META_FIELDS = [
  "name",
  "namespace",
  "labels",
  "annotations",
  "generateName",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "finalizers",
  "ownerReferences",
  "managedFields",
  "selfLink",
];

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkMetadata(meta: unknown): SchemaIssue[] {
  if (!isObject(meta))
    return [{ path: ["metadata"], message: "required field is missing (metadata.name names the plugin)" }];
  const out: SchemaIssue[] = [];
  for (const k of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.includes(k)) {
      const hint = suggest(k, OBJECT_META_FIELDS);
      out.push({
        path: ["metadata", k],
        message: hint ? `unknown field (did you mean "${hint}"?)` : "unknown field",
      });
    }
  }
  const name = meta.name;
  if (name === undefined) out.push({ path: ["metadata", "name"], message: "required field is missing" });
  else if (typeof name !== "string" || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    out.push({
      path: ["metadata", "name"],
      message: `expected a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253), got ${JSON.stringify(name)}`,
    });
  }
  const ns = meta.namespace;
  if (ns !== undefined && (typeof ns !== "string" || ns.length > 63 || !DNS1123_LABEL.test(ns))) {
    out.push({
      path: ["metadata", "namespace"],
      message: `expected a DNS-1123 label (lower-case letters, digits and '-', at most 63), got ${JSON.stringify(ns)}`,
    });
  }
  for (const m of ["labels", "annotations"]) {
    const map = meta[m];
    if (map === undefined) continue;
    if (!isObject(map)) out.push({ path: ["metadata", m], message: "expected a map of strings" });
    else
      for (const [k, v] of Object.entries(map))
        if (typeof v !== "string")
          out.push({ path: ["metadata", m, k], message: `expected a string, got ${JSON.stringify(v)}` });
  }
  return out;
}

/** Friendlier wording for a few CRD constraints whose raw form (a regex) says little. */
function polish(issue: SchemaIssue): SchemaIssue {
  const p = formatPath(issue.path);
  if (p === "spec.sha256" && issue.message.startsWith("expected a string matching")) {
    const got = issue.message.slice(issue.message.indexOf(", got ") + 2);
    return { ...issue, message: `expected 64 lower-case hex characters (a SHA-256 digest) or "", ${got}` };
  }
  return issue;
}

function configCheckable(value: Record<string, unknown>): boolean {
  const meta = value.metadata;
  const spec = value.spec;
  return (
    isObject(meta) &&
    typeof meta.name === "string" &&
    isObject(spec) &&
    typeof spec.url === "string" &&
    (spec.pluginName === undefined || typeof spec.pluginName === "string") &&
    (spec.pluginConfig === undefined || isObject(spec.pluginConfig))
  );
}

/** Where a plugin's own config schema comes from (or why there is none). */
export type ConfigSchemaLookup = (
  plugin: WasmPlugin,
) => { file: string; schema: Schema } | { file: string; error: string } | undefined;

export interface ValidateContext {
  /** openAPIV3Schema of the WasmPlugin CRD (see crdSchema). */
  crd: Schema;
  configSchema?: ConfigSchemaLookup;
}

export interface ValidatedDocument {
  source?: PluginSource;
  problems: Problem[];
}

/**
 * Validates one YAML document that claims to be a WasmPlugin. Returns the typed plugin (in `source`)
 * only when there are no errors. Paths in problems are relative to the document root (`spec.url`).
 */
export function validateDocument(doc: YamlDocument, ctx: ValidateContext): ValidatedDocument {
  const value = doc.value;
  const resource = resourceName(isObject(value) ? (value as { metadata?: { name?: unknown } }) : {});
  const problem = (i: SchemaIssue, severity: "error" | "warning" = "error"): Problem => ({
    severity,
    file: doc.file,
    line: doc.lineOf(i.path),
    document: doc.document,
    resource,
    path: i.path,
    message: i.message,
  });
  if (!isObject(value)) {
    return {
      problems: [
        problem({ path: [], message: `expected a WasmPlugin object, got ${JSON.stringify(value)}` }),
      ],
    };
  }
  const issues: SchemaIssue[] = [];
  const warnings: SchemaIssue[] = [];
  if (value.apiVersion !== WASMPLUGIN_API_VERSION) {
    issues.push({
      path: ["apiVersion"],
      message: `expected ${WASMPLUGIN_API_VERSION}, got ${JSON.stringify(value.apiVersion)}`,
    });
  }
  if (value.kind !== WASMPLUGIN_KIND) {
    issues.push({
      path: ["kind"],
      message: `expected ${WASMPLUGIN_KIND}, got ${JSON.stringify(value.kind)}`,
    });
  }
  for (const k of Object.keys(value)) {
    if (!["apiVersion", "kind", "metadata", "spec", "status"].includes(k)) {
      const hint = suggest(k, ["apiVersion", "kind", "metadata", "spec"]);
      issues.push({
        path: [k],
        message: hint
          ? `unknown field (did you mean "${hint}"?)`
          : "unknown field (allowed: apiVersion, kind, metadata, spec)",
      });
    }
  }
  issues.push(...checkMetadata(value.metadata));

  const specSchema = isObject(ctx.crd.properties) ? (ctx.crd.properties.spec as Schema) : undefined;
  if (!specSchema) throw new Error("the CRD schema has no spec");
  const spec = value.spec;
  if (spec === undefined) {
    issues.push({ path: ["spec"], message: "required field is missing (spec.url at least)" });
  } else {
    const schemaIssues = validateAgainstSchema(specSchema, spec, {
      dialect: "kubernetes",
      basePath: ["spec"],
    });
    issues.push(...schemaIssues.map(polish));
    if (isObject(spec)) {
      for (const rule of CEL_RULES) issues.push(...rule.check(spec));
      if (spec.targetRef !== undefined)
        warnings.push({ path: ["spec", "targetRef"], message: "deprecated: use targetRefs" });
      if (spec.verificationKey !== undefined) {
        warnings.push({
          path: ["spec", "verificationKey"],
          message: "reserved by Istio and not implemented (ignored)",
        });
      }
    }
  }

  // The plugin's own schema: checked even when other fields are wrong, as long as the fields that name
  // the plugin (metadata.name, spec.url, spec.pluginName) and pluginConfig have the right types.
  if (ctx.configSchema && configCheckable(value)) {
    const plugin = value as unknown as WasmPlugin;
    const found = ctx.configSchema(plugin);
    if (found && "error" in found) {
      issues.push({
        path: ["spec", "pluginConfig"],
        message: `cannot check against ${found.file}: ${found.error}`,
      });
    } else if (found) {
      try {
        const config = plugin.spec.pluginConfig ?? {};
        for (const i of validateAgainstSchema(found.schema, config, { basePath: ["spec", "pluginConfig"] })) {
          issues.push({ path: i.path, message: `${i.message} (${found.file})` });
        }
      } catch (e) {
        if (!(e instanceof UnsupportedSchemaError)) throw e;
        issues.push({
          path: ["spec", "pluginConfig"],
          message: `cannot check against ${found.file}: ${e.message}`,
        });
      }
    }
  }

  const problems = [...issues.map((i) => problem(i)), ...warnings.map((w) => problem(w, "warning"))];
  if (issues.length > 0) return { problems };
  return {
    problems,
    source: {
      plugin: value as unknown as WasmPlugin,
      file: doc.file,
      document: doc.document,
      lineOf: doc.lineOf,
    },
  };
}

export interface ValidatedFile {
  plugins: PluginSource[];
  problems: Problem[];
  /** Documents of other kinds (e.g. a Deployment next to the WasmPlugins), as "document N (Kind name)". */
  skipped: string[];
}

/** Validates every WasmPlugin document of a parsed file; documents of other kinds are skipped. */
export function validateDocuments(docs: YamlDocument[], ctx: ValidateContext): ValidatedFile {
  const out: ValidatedFile = { plugins: [], problems: [], skipped: [] };
  for (const doc of docs) {
    const v = doc.value;
    const looksLikePlugin =
      isWasmPluginDocument(v) || (isObject(v) && (v.kind === undefined || /wasm/i.test(String(v.kind))));
    if (!looksLikePlugin) {
      const meta = isObject(v) && isObject(v.metadata) ? v.metadata : {};
      out.skipped.push(
        `document ${doc.document} (${isObject(v) ? String(v.kind) : typeof v} ${String(meta.name ?? "")})`.replace(
          / \)$/,
          ")",
        ),
      );
      continue;
    }
    const r = validateDocument(doc, ctx);
    out.problems.push(...r.problems);
    if (r.source) out.plugins.push(r.source);
  }
  return out;
}
