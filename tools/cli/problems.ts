// Problems a person can act on: where (file, line, document, resource, field) and what was expected.

import { formatPath, PathSegment } from "./json-schema";

export interface Problem {
  severity: "error" | "warning";
  /** File as the user named it (relative to the repository root when possible). */
  file?: string;
  /** 1-based line of the offending node, when the input was YAML. */
  line?: number;
  /** 1-based index of the YAML document inside the file. */
  document?: number;
  /** `WasmPlugin <namespace>/<name>` or similar. */
  resource?: string;
  path?: PathSegment[];
  message: string;
}

/**
 * `filters/x/wasmplugin.yaml:14: document 1 (WasmPlugin wasmgate/x): spec.phase: expected one of ...`
 * Warnings are prefixed with `warning: `.
 */
export function formatProblem(p: Problem): string {
  let where = "";
  if (p.file) where = p.line ? `${p.file}:${p.line}` : p.file;
  const doc = p.document !== undefined ? `document ${p.document}` : "";
  const ctx = [doc, p.resource].filter(Boolean);
  const context = ctx.length === 2 ? `${ctx[0]} (${ctx[1]})` : ctx.join("");
  const field = p.path && p.path.length > 0 ? formatPath(p.path) : "";
  const parts = [where, context, field].filter(Boolean);
  const prefix = p.severity === "warning" ? "warning: " : "";
  return parts.length > 0 ? `${parts.join(": ")}: ${prefix}${p.message}` : `${prefix}${p.message}`;
}

export function errors(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity === "error");
}
