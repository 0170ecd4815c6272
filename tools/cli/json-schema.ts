// A small validator for the JSON Schema / OpenAPI v3 subset that the WasmPlugin CRD and the plugins'
// config.schema.json files use. Pure: values in, issues out. Every issue names the field path, what was
// expected and what was found, like the plugins' own ConfigReader (`rules[2].limit: expected ...`).
//
// Two dialects:
//   - "json-schema" (2020-12 subset, for filters/<name>/config.schema.json): an object accepts fields that
//     are not in `properties` unless `additionalProperties: false` says otherwise.
//   - "kubernetes" (structural OpenAPI v3, for the CRD): fields not in `properties` are unknown and rejected,
//     as `kubectl apply` does with server-side strict field validation, unless the schema says
//     `x-kubernetes-preserve-unknown-fields: true`. `nullable`, `format: int32` and list-map keys apply.
// CEL rules (`x-kubernetes-validations`) are not evaluated here: validate.ts implements each by hand.

export type PathSegment = string | number;

export interface SchemaIssue {
  path: PathSegment[];
  message: string;
}

export type Dialect = "json-schema" | "kubernetes";

/** A JSON Schema object (loosely typed: it comes from JSON or YAML files). */
export type Schema = { [keyword: string]: unknown };

/** The schema itself uses something this validator does not implement; fix the schema, not the value. */
export class UnsupportedSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedSchemaError";
  }
}

const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

const IMPLEMENTED = new Set([
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "minProperties",
  "maxProperties",
  "items",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "format",
  "$ref",
  "$defs",
  "definitions",
  "anyOf",
  "oneOf",
  "allOf",
  "nullable",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-validations",
  "x-kubernetes-int-or-string",
]);

/** Keywords this validator understands (besides annotations such as `description`). */
export const SUPPORTED_KEYWORDS: readonly string[] = [...IMPLEMENTED].sort();

/**
 * Lists every keyword of `schema` (recursively) that this validator does not implement, as
 * `<json pointer>: <keyword>`. A schema with such keywords would be checked only partly, so callers
 * refuse it rather than pretend.
 */
export function unsupportedKeywords(schema: unknown, pointer = "#"): string[] {
  if (!isObject(schema)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!IMPLEMENTED.has(k) && !ANNOTATIONS.has(k)) out.push(`${pointer}: ${k}`);
    if (k === "properties" || k === "$defs" || k === "definitions") {
      if (isObject(v))
        for (const [name, sub] of Object.entries(v))
          out.push(...unsupportedKeywords(sub, `${pointer}/${k}/${name}`));
    } else if (k === "items" || k === "additionalProperties") {
      out.push(...unsupportedKeywords(v, `${pointer}/${k}`));
    } else if ((k === "anyOf" || k === "oneOf" || k === "allOf") && Array.isArray(v)) {
      v.forEach((sub, i) => out.push(...unsupportedKeywords(sub, `${pointer}/${k}/${i}`)));
    }
  }
  return out;
}

/** `spec.vmConfig.env[1].value`; keys that are not identifiers are quoted: `matchLabels["a.b/c"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short, readable rendering of a value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? v.slice(0, 77) + "..." : v);
  if (Array.isArray(v)) return v.length === 0 ? "an empty list" : "a list";
  if (isObject(v)) return "an object";
  return String(v);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "a boolean",
  object: "an object",
  array: "a list",
  null: "null",
};

function hasType(v: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "boolean":
      return typeof v === "boolean";
    case "object":
      return isObject(v);
    case "array":
      return Array.isArray(v);
    case "null":
      return v === null;
    default:
      throw new UnsupportedSchemaError(`unknown type "${type}"`);
  }
}

/** Levenshtein distance, for "did you mean" hints on unknown fields. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest allowed name to a misspelt one, if it is close enough to be a likely typo. */
export function suggest(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = a.toLowerCase() === name.toLowerCase() ? 0 : distance(name, a);
    if (d < bestD) [best, bestD] = [a, d];
  }
  const limit = name.length <= 3 ? 0 : Math.max(1, Math.floor(name.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

const INT32 = { min: -2147483648, max: 2147483647 };
const INT64 = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };

class Validator {
  readonly issues: SchemaIssue[] = [];
  constructor(
    readonly root: Schema,
    readonly dialect: Dialect,
  ) {}

  private add(path: PathSegment[], message: string): void {
    this.issues.push({ path, message });
  }

  private resolve(ref: string): Schema {
    if (!ref.startsWith("#/"))
      throw new UnsupportedSchemaError(`only local $ref ("#/...") is supported, got ${ref}`);
    let node: unknown = this.root;
    for (const raw of ref.slice(2).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      node = isObject(node) ? node[key] : undefined;
    }
    if (!isObject(node)) throw new UnsupportedSchemaError(`$ref ${ref} does not point to a schema`);
    return node;
  }

  /** Validates `value` at `path`; returns false if anything was wrong (issues recorded). */
  check(schema: Schema, value: unknown, path: PathSegment[]): boolean {
    const before = this.issues.length;
    if (typeof schema.$ref === "string") this.check(this.resolve(schema.$ref), value, path);

    if (value === null && this.dialect === "kubernetes" && schema.nullable === true) return true;

    const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.length > 0 && !types.some((t) => hasType(value, String(t)))) {
      const want = types.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(" or ");
      const quote =
        types.includes("string") &&
        (typeof value === "number" || typeof value === "boolean" || value === null)
          ? " (put it in quotes: YAML reads unquoted numbers, true/false and null as non-strings)"
          : "";
      this.add(path, `expected ${want}, got ${describe(value)}${quote}`);
      return false;
    }

    if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, value))) {
      const list = schema.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join(", ");
      this.add(path, `expected one of ${list}, got ${describe(value)}`);
    }
    if ("const" in schema && !deepEqual(schema.const, value)) {
      this.add(path, `expected ${JSON.stringify(schema.const)}, got ${describe(value)}`);
    }

    if (typeof value === "string") this.checkString(schema, value, path);
    if (typeof value === "number") this.checkNumber(schema, value, path);
    if (Array.isArray(value)) this.checkArray(schema, value, path);
    if (isObject(value)) this.checkObject(schema, value, path);

    if (Array.isArray(schema.allOf)) for (const s of schema.allOf) this.check(s as Schema, value, path);
    if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf))
      this.checkAlternatives(schema, value, path);
    return this.issues.length === before;
  }

  private checkAlternatives(schema: Schema, value: unknown, path: PathSegment[]): void {
    const one = Array.isArray(schema.oneOf);
    const alts = (one ? schema.oneOf : schema.anyOf) as Schema[];
    const results = alts.map((alt) => {
      const v = new Validator(this.root, this.dialect);
      v.check(alt, value, path);
      return v.issues;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0) {
      // Report the alternative that got furthest, usually the one the author meant: the value has its
      // type, then it has the fewest issues.
      const wrongType = (r: SchemaIssue[]) =>
        r.some(
          (i) =>
            i.path.length === path.length &&
            i.message.startsWith("expected a") &&
            i.message.includes(", got "),
        );
      const score = (r: SchemaIssue[]) => (wrongType(r) ? 1000 : 0) + r.length;
      const best = results.reduce((a, b) => (score(b) < score(a) ? b : a));
      if (alts.length > 1)
        this.add(path, `matches none of the ${alts.length} allowed forms; closest form says:`);
      this.issues.push(...best);
    } else if (one && passing > 1) {
      this.add(path, `matches ${passing} of the allowed forms, expected exactly one`);
    }
  }

  private checkString(schema: Schema, value: string, path: PathSegment[]): void {
    const length = [...value].length;
    if (typeof schema.minLength === "number" && length < schema.minLength) {
      this.add(
        path,
        schema.minLength === 1
          ? `expected a non-empty string, got ""`
          : `expected at least ${schema.minLength} characters, got ${length}`,
      );
    }
    if (typeof schema.maxLength === "number" && length > schema.maxLength) {
      this.add(path, `expected at most ${schema.maxLength} characters, got ${length}`);
    }
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) {
      this.add(path, `expected a string matching ${schema.pattern}, got ${describe(value)}`);
    }
  }

  private checkNumber(schema: Schema, value: number, path: PathSegment[]): void {
    const range = schema.format === "int32" ? INT32 : schema.format === "int64" ? INT64 : undefined;
    if (range && (value < range.min || value > range.max)) {
      this.add(path, `expected a ${schema.format} (${range.min} to ${range.max}), got ${value}`);
    }
    const lo = schema.minimum;
    const hi = schema.maximum;
    if (typeof lo === "number" && typeof hi === "number" && (value < lo || value > hi)) {
      this.add(path, `expected ${lo} to ${hi}, got ${value}`);
      return;
    }
    if (typeof lo === "number" && value < lo) this.add(path, `expected a value >= ${lo}, got ${value}`);
    if (typeof hi === "number" && value > hi) this.add(path, `expected a value <= ${hi}, got ${value}`);
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) {
      this.add(path, `expected a value > ${schema.exclusiveMinimum}, got ${value}`);
    }
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) {
      this.add(path, `expected a value < ${schema.exclusiveMaximum}, got ${value}`);
    }
  }

  private checkArray(schema: Schema, value: unknown[], path: PathSegment[]): void {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      this.add(path, `expected at least ${schema.minItems} item(s), got ${value.length}`);
    }
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
      this.add(path, `expected at most ${schema.maxItems} items, got ${value.length}`);
    }
    if (isObject(schema.items))
      value.forEach((item, i) => this.check(schema.items as Schema, item, [...path, i]));
    if (schema.uniqueItems === true) {
      value.forEach((item, i) => {
        const j = value.findIndex((other) => deepEqual(other, item));
        if (j < i) this.add([...path, i], `duplicate of item [${j}]`);
      });
    }
    // Kubernetes list-map: the key fields identify an item, so two items with the same keys are refused
    // (the API server says "Duplicate value").
    if (schema["x-kubernetes-list-type"] === "map" && Array.isArray(schema["x-kubernetes-list-map-keys"])) {
      const keys = schema["x-kubernetes-list-map-keys"] as string[];
      const seen = new Map<string, number>();
      value.forEach((item, i) => {
        if (!isObject(item) || keys.some((k) => item[k] === undefined)) return;
        const id = JSON.stringify(keys.map((k) => item[k]));
        const first = seen.get(id);
        if (first !== undefined) {
          const what = keys.map((k) => `${k} ${describe(item[k])}`).join(", ");
          this.add([...path, i], `duplicate ${what} (already at [${first}])`);
        } else seen.set(id, i);
      });
    }
  }

  private checkObject(schema: Schema, value: Record<string, unknown>, path: PathSegment[]): void {
    const props = isObject(schema.properties) ? (schema.properties as Record<string, Schema>) : {};
    if (Array.isArray(schema.required)) {
      for (const name of schema.required as string[]) {
        if (value[name] === undefined) this.add([...path, name], "required field is missing");
      }
    }
    const count = Object.keys(value).length;
    if (typeof schema.maxProperties === "number" && count > schema.maxProperties) {
      this.add(path, `expected at most ${schema.maxProperties} entries, got ${count}`);
    }
    if (typeof schema.minProperties === "number" && count < schema.minProperties) {
      this.add(path, `expected at least ${schema.minProperties} entries, got ${count}`);
    }
    const additional = schema.additionalProperties;
    const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
    const closed =
      additional === false ||
      (this.dialect === "kubernetes" &&
        additional === undefined &&
        !preserve &&
        schema.properties !== undefined);
    const names = Object.keys(props);
    for (const [name, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const sub = props[name];
      if (sub) {
        this.check(sub, v, [...path, name]);
      } else if (isObject(additional)) {
        this.check(additional, v, [...path, name]);
      } else if (closed) {
        const hint = suggest(name, names);
        this.add(
          [...path, name],
          hint ? `unknown field (did you mean "${hint}"?)` : `unknown field (allowed: ${names.join(", ")})`,
        );
      }
    }
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Validates `value` against `schema`; returns every issue found (empty when valid). `basePath` is
 * prepended to the issue paths (e.g. ["spec", "pluginConfig"]). Throws UnsupportedSchemaError when the
 * schema uses a keyword this validator does not implement.
 */
export function validateAgainstSchema(
  schema: Schema,
  value: unknown,
  opts: { dialect?: Dialect; basePath?: PathSegment[] } = {},
): SchemaIssue[] {
  const unsupported = unsupportedKeywords(schema);
  if (unsupported.length > 0) {
    throw new UnsupportedSchemaError(
      `the schema uses keywords this validator does not implement: ${unsupported.join("; ")}` +
        ` (supported: ${SUPPORTED_KEYWORDS.join(", ")})`,
    );
  }
  const v = new Validator(schema, opts.dialect ?? "json-schema");
  v.check(schema, value, [...(opts.basePath ?? [])]);
  return v.issues;
}
