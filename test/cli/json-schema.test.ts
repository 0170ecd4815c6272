// The JSON Schema / OpenAPI subset validator used for the CRD and the plugins' config.schema.json.

import {
  formatPath,
  Schema,
  suggest,
  UnsupportedSchemaError,
  validateAgainstSchema,
} from "../../tools/cli/json-schema";

const check = (schema: Schema, value: unknown, dialect: "json-schema" | "kubernetes" = "json-schema") =>
  validateAgainstSchema(schema, value, { dialect }).map(
    (i) => `${formatPath(i.path) || "(root)"}: ${i.message}`,
  );

describe("keywords", () => {
  test.each([
    { name: "type ok", schema: { type: "string" }, value: "x", issues: [] },
    {
      name: "type mismatch",
      schema: { type: "integer" },
      value: 1.5,
      issues: ["(root): expected an integer, got 1.5"],
    },
    {
      name: "type list",
      schema: { type: ["string", "null"] },
      value: 3,
      issues: [
        "(root): expected a string or null, got 3 (put it in quotes: YAML reads unquoted numbers, true/false and null as non-strings)",
      ],
    },
    {
      name: "enum",
      schema: { enum: ["a", "b"] },
      value: "c",
      issues: ['(root): expected one of a, b, got "c"'],
    },
    { name: "const", schema: { const: "v1" }, value: "v2", issues: ['(root): expected "v1", got "v2"'] },
    {
      name: "minLength 1",
      schema: { type: "string", minLength: 1 },
      value: "",
      issues: ['(root): expected a non-empty string, got ""'],
    },
    {
      name: "minLength n",
      schema: { type: "string", minLength: 3 },
      value: "ab",
      issues: ["(root): expected at least 3 characters, got 2"],
    },
    {
      name: "maxLength counts characters",
      schema: { type: "string", maxLength: 2 },
      value: "é€",
      issues: [],
    },
    {
      name: "pattern",
      schema: { type: "string", pattern: "^[a-z]+$" },
      value: "A",
      issues: ['(root): expected a string matching ^[a-z]+$, got "A"'],
    },
    {
      name: "minimum and maximum",
      schema: { type: "integer", minimum: 1, maximum: 9 },
      value: 10,
      issues: ["(root): expected 1 to 9, got 10"],
    },
    {
      name: "minimum",
      schema: { type: "number", minimum: 0 },
      value: -1,
      issues: ["(root): expected a value >= 0, got -1"],
    },
    {
      name: "exclusiveMaximum",
      schema: { type: "number", exclusiveMaximum: 1 },
      value: 1,
      issues: ["(root): expected a value < 1, got 1"],
    },
    {
      name: "int32 format",
      schema: { type: "integer", format: "int32" },
      value: 2 ** 31,
      issues: ["(root): expected a int32 (-2147483648 to 2147483647), got 2147483648"],
    },
    {
      name: "minItems",
      schema: { type: "array", minItems: 1 },
      value: [],
      issues: ["(root): expected at least 1 item(s), got 0"],
    },
    {
      name: "items",
      schema: { type: "array", items: { type: "integer" } },
      value: [1, "2"],
      issues: ['[1]: expected an integer, got "2"'],
    },
    {
      name: "uniqueItems",
      schema: { type: "array", uniqueItems: true },
      value: [1, 2, 1],
      issues: ["[2]: duplicate of item [0]"],
    },
    {
      name: "required",
      schema: { type: "object", required: ["a", "b"], properties: { a: {}, b: {} } },
      value: { a: 1 },
      issues: ["b: required field is missing"],
    },
    {
      name: "additionalProperties false, with a suggestion",
      schema: { type: "object", additionalProperties: false, properties: { limit: {}, period: {} } },
      value: { limt: 1 },
      issues: ['limt: unknown field (did you mean "limit"?)'],
    },
    {
      name: "additionalProperties false, no close name",
      schema: { type: "object", additionalProperties: false, properties: { limit: {}, period: {} } },
      value: { colour: 1 },
      issues: ["colour: unknown field (allowed: limit, period)"],
    },
    {
      name: "additionalProperties schema",
      schema: { type: "object", additionalProperties: { type: "string" } },
      value: { "a.b/c": 1 },
      issues: [
        '["a.b/c"]: expected a string, got 1 (put it in quotes: YAML reads unquoted numbers, true/false and null as non-strings)',
      ],
    },
    {
      name: "json-schema objects are open by default",
      schema: { type: "object", properties: { a: {} } },
      value: { b: 1 },
      issues: [],
    },
    {
      name: "$ref to $defs",
      schema: {
        $defs: { port: { type: "integer", maximum: 65535 } },
        type: "object",
        properties: { p: { $ref: "#/$defs/port" } },
      },
      value: { p: 70000 },
      issues: ["p: expected a value <= 65535, got 70000"],
    },
    {
      name: "anyOf: the closest form explains",
      schema: {
        anyOf: [
          { type: "string" },
          { type: "object", required: ["name"], properties: { name: { type: "string" } } },
        ],
      },
      value: { nam: "x" },
      issues: [
        "(root): matches none of the 2 allowed forms; closest form says:",
        "name: required field is missing",
      ],
    },
    {
      name: "anyOf: one form matches",
      schema: { anyOf: [{ type: "string" }, { type: "integer" }] },
      value: 3,
      issues: [],
    },
    {
      name: "oneOf: more than one matches",
      schema: { oneOf: [{ type: "number" }, { type: "integer" }] },
      value: 3,
      issues: ["(root): matches 2 of the allowed forms, expected exactly one"],
    },
  ])("$name", ({ schema, value, issues }) => {
    expect(check(schema as Schema, value)).toEqual(issues);
  });
});

describe("kubernetes dialect", () => {
  const schema: Schema = {
    type: "object",
    properties: {
      n: { type: "integer", nullable: true },
      open: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      list: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: { type: "object", properties: { name: { type: "string" }, v: { type: "string" } } },
      },
    },
  };
  test.each([
    {
      name: "unknown fields are refused (strict field validation)",
      value: { x: 1 },
      issues: ["x: unknown field (allowed: n, open, list)"],
    },
    { name: "nullable", value: { n: null }, issues: [] },
    { name: "preserve-unknown-fields", value: { open: { anything: [1] } }, issues: [] },
    {
      name: "list-map keys are unique",
      value: { list: [{ name: "a" }, { name: "a", v: "x" }] },
      issues: ['list[1]: duplicate name "a" (already at [0])'],
    },
  ])("$name", ({ value, issues }) => {
    expect(check(schema, value, "kubernetes")).toEqual(issues);
  });
});

test("a schema keyword the validator does not implement is refused, not ignored", () => {
  expect(() => validateAgainstSchema({ type: "object", properties: { a: { if: {} } } }, {})).toThrow(
    UnsupportedSchemaError,
  );
  expect(() => validateAgainstSchema({ patternProperties: {} }, {})).toThrow(/#: patternProperties/);
});

test.each([
  { name: "limt", allowed: ["limit", "period"], hint: "limit" },
  { name: "PluginConfig", allowed: ["pluginConfig"], hint: "pluginConfig" },
  { name: "xyz", allowed: ["limit"], hint: undefined },
])("suggest($name)", ({ name, allowed, hint }) => {
  expect(suggest(name, allowed)).toBe(hint);
});
