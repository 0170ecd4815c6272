// The routing plugin in the host emulator: the compiled build/routing.wasm, driven as Envoy drives it.
import { Host, HttpStream } from "../../tools/emulator";
import { filterWasm } from "../../test/support/wasm";
import { bucket, variantOf } from "./reference";

const WASM = filterWasm("routing");
type Json = Record<string, unknown>;
type Headers = Array<[string, string]>;

/** A host running `config` with `variantHeader: x-route-variant` unless the config sets its own. */
async function start(config: Json, opts: { sourceAddress?: string; workers?: number } = {}): Promise<Host> {
  const host = await Host.start({
    wasm: WASM,
    rootId: "routing",
    pluginConfig: { variantHeader: "x-route-variant", ...config },
    trace: false,
    logLevel: "info",
    ...opts,
  });
  expect(host.logs("critical")).toEqual([]);
  expect(host.started).toBe(true);
  return host;
}

const header = (list: Headers | null, name: string): string | undefined =>
  list?.find(([k]) => k === name)?.[1];
const all = (list: Headers | null, name: string): string[] =>
  (list ?? []).filter(([k]) => k === name).map(([, v]) => v);
const variant = (s: HttpStream): string | undefined => header(s.downstream.headers, "x-route-variant");

/** One rule `hit` with a single condition. */
const oneRule = (cond: Json): Json => ({
  rules: [{ when: [cond], variant: "hit", setHeaders: { "x-route-to": "v2" } }],
});

interface Req {
  method?: string;
  path?: string;
  headers?: Headers;
}

describe("operators over every source", () => {
  const h = (name: string, op: string, value?: string, extra: Json = {}): Json => ({
    source: "header",
    name,
    op,
    ...(value === undefined ? {} : { value }),
    ...extra,
  });
  const src = (source: string, name: string | undefined, op: string, value?: string, extra: Json = {}) => ({
    source,
    ...(name === undefined ? {} : { name }),
    op,
    ...(value === undefined ? {} : { value }),
    ...extra,
  });
  test.each<{ name: string; cond: Json; req: Req; hit: boolean }>([
    // header
    {
      name: "header exact hit",
      cond: h("x-beta", "exact", "on"),
      req: { headers: [["x-beta", "on"]] },
      hit: true,
    },
    {
      name: "header exact is case-sensitive",
      cond: h("x-beta", "exact", "on"),
      req: { headers: [["x-beta", "ON"]] },
      hit: false,
    },
    {
      name: "header exact ignoreCase",
      cond: h("x-beta", "exact", "On", { ignoreCase: true }),
      req: { headers: [["x-beta", "oN"]] },
      hit: true,
    },
    {
      name: "header exact empty value",
      cond: h("x-beta", "exact", ""),
      req: { headers: [["x-beta", ""]] },
      hit: true,
    },
    {
      name: "header name is case-insensitive",
      cond: h("X-Beta", "exact", "on"),
      req: { headers: [["x-beta", "on"]] },
      hit: true,
    },
    {
      name: "header prefix hit",
      cond: h("user-agent", "prefix", "Mozilla/"),
      req: { headers: [["user-agent", "Mozilla/5.0"]] },
      hit: true,
    },
    {
      name: "header prefix miss",
      cond: h("user-agent", "prefix", "Mozilla/"),
      req: { headers: [["user-agent", "curl/8"]] },
      hit: false,
    },
    {
      name: "header prefix ignoreCase",
      cond: h("user-agent", "prefix", "MOZILLA", { ignoreCase: true }),
      req: { headers: [["user-agent", "mozilla/5.0"]] },
      hit: true,
    },
    {
      name: "header suffix hit",
      cond: h("x-email", "suffix", "@example.com"),
      req: { headers: [["x-email", "a@example.com"]] },
      hit: true,
    },
    {
      name: "header suffix miss",
      cond: h("x-email", "suffix", "@example.com"),
      req: { headers: [["x-email", "a@example.org"]] },
      hit: false,
    },
    {
      name: "header suffix ignoreCase",
      cond: h("x-email", "suffix", "@EXAMPLE.com", { ignoreCase: true }),
      req: { headers: [["x-email", "A@Example.COM"]] },
      hit: true,
    },
    {
      name: "header contains hit",
      cond: h("x-tags", "contains", "beta"),
      req: { headers: [["x-tags", "alpha,beta,gamma"]] },
      hit: true,
    },
    {
      name: "header contains miss",
      cond: h("x-tags", "contains", "beta"),
      req: { headers: [["x-tags", "alpha"]] },
      hit: false,
    },
    {
      name: "header contains ignoreCase",
      cond: h("x-tags", "contains", "BETA", { ignoreCase: true }),
      req: { headers: [["x-tags", "Beta"]] },
      hit: true,
    },
    {
      name: "header regex hit",
      cond: h("x-version", "regex", "^2\\.[0-9]+$"),
      req: { headers: [["x-version", "2.14"]] },
      hit: true,
    },
    {
      name: "header regex miss",
      cond: h("x-version", "regex", "^2\\.[0-9]+$"),
      req: { headers: [["x-version", "12.1"]] },
      hit: false,
    },
    {
      name: "header regex is a search",
      cond: h("x-version", "regex", "beta"),
      req: { headers: [["x-version", "2.0-beta.1"]] },
      hit: true,
    },
    {
      name: "header regex ignoreCase",
      cond: h("x-version", "regex", "^v[0-9]$", { ignoreCase: true }),
      req: { headers: [["x-version", "V2"]] },
      hit: true,
    },
    {
      name: "header present hit",
      cond: h("x-beta", "present"),
      req: { headers: [["x-beta", ""]] },
      hit: true,
    },
    { name: "header present miss", cond: h("x-beta", "present"), req: {}, hit: false },
    { name: "header absent hit", cond: h("x-beta", "absent"), req: {}, hit: true },
    {
      name: "header absent miss",
      cond: h("x-beta", "absent"),
      req: { headers: [["x-beta", "1"]] },
      hit: false,
    },
    {
      name: "header invert exact",
      cond: h("x-env", "exact", "prod", { invert: true }),
      req: { headers: [["x-env", "staging"]] },
      hit: true,
    },
    {
      name: "header invert exact on equal value",
      cond: h("x-env", "exact", "prod", { invert: true }),
      req: { headers: [["x-env", "prod"]] },
      hit: false,
    },
    {
      name: "header invert on a missing header stays false",
      cond: h("x-env", "exact", "prod", { invert: true }),
      req: {},
      hit: false,
    },
    {
      name: "header invert present = absent",
      cond: h("x-beta", "present", undefined, { invert: true }),
      req: {},
      hit: true,
    },
    {
      name: "header invert regex",
      cond: h("x-version", "regex", "^1\\.", { invert: true }),
      req: { headers: [["x-version", "2.0"]] },
      hit: true,
    },
    // cookie
    {
      name: "cookie exact hit",
      cond: src("cookie", "canary", "exact", "always"),
      req: { headers: [["cookie", "a=1; canary=always; b=2"]] },
      hit: true,
    },
    {
      name: "cookie exact miss",
      cond: src("cookie", "canary", "exact", "always"),
      req: { headers: [["cookie", "canary=never"]] },
      hit: false,
    },
    {
      name: "cookie name is case-sensitive",
      cond: src("cookie", "canary", "exact", "always"),
      req: { headers: [["cookie", "Canary=always"]] },
      hit: false,
    },
    {
      name: "cookie prefix",
      cond: src("cookie", "session", "prefix", "beta-"),
      req: { headers: [["cookie", "session=beta-42"]] },
      hit: true,
    },
    {
      name: "cookie suffix",
      cond: src("cookie", "session", "suffix", "-42"),
      req: { headers: [["cookie", "session=beta-42"]] },
      hit: true,
    },
    {
      name: "cookie contains ignoreCase",
      cond: src("cookie", "session", "contains", "BETA", { ignoreCase: true }),
      req: { headers: [["cookie", "session=x-beta-y"]] },
      hit: true,
    },
    {
      name: "cookie regex",
      cond: src("cookie", "uid", "regex", "^[0-9]{4}$"),
      req: { headers: [["cookie", "uid=1234"]] },
      hit: true,
    },
    {
      name: "cookie present",
      cond: src("cookie", "canary", "present"),
      req: { headers: [["cookie", "canary="]] },
      hit: true,
    },
    {
      name: "cookie absent with other cookies",
      cond: src("cookie", "canary", "absent"),
      req: { headers: [["cookie", "other=1"]] },
      hit: true,
    },
    {
      name: "cookie invert",
      cond: src("cookie", "canary", "exact", "never", { invert: true }),
      req: { headers: [["cookie", "canary=always"]] },
      hit: true,
    },
    {
      name: "cookie in a second cookie line",
      cond: src("cookie", "canary", "exact", "always"),
      req: {
        headers: [
          ["cookie", "a=1"],
          ["cookie", "canary=always"],
        ],
      },
      hit: true,
    },
    // query
    {
      name: "query exact hit",
      cond: src("query", "v", "exact", "2"),
      req: { path: "/get?a=1&v=2" },
      hit: true,
    },
    {
      name: "query exact miss",
      cond: src("query", "v", "exact", "2"),
      req: { path: "/get?v=3" },
      hit: false,
    },
    {
      name: "query value is percent-decoded",
      cond: src("query", "q", "exact", "a b/c"),
      req: { path: "/s?q=a%20b%2Fc" },
      hit: true,
    },
    {
      name: "query plus is a space",
      cond: src("query", "q", "exact", "a b"),
      req: { path: "/s?q=a+b" },
      hit: true,
    },
    {
      name: "query name is percent-decoded",
      cond: src("query", "my key", "exact", "1"),
      req: { path: "/s?my%20key=1" },
      hit: true,
    },
    { name: "query prefix", cond: src("query", "v", "prefix", "2."), req: { path: "/?v=2.1" }, hit: true },
    { name: "query suffix", cond: src("query", "v", "suffix", "-rc"), req: { path: "/?v=2-rc" }, hit: true },
    {
      name: "query contains",
      cond: src("query", "v", "contains", "beta"),
      req: { path: "/?v=1-beta-2" },
      hit: true,
    },
    { name: "query regex", cond: src("query", "v", "regex", "^[0-9]+$"), req: { path: "/?v=42" }, hit: true },
    {
      name: "query present without =",
      cond: src("query", "canary", "present"),
      req: { path: "/?canary" },
      hit: true,
    },
    { name: "query absent", cond: src("query", "canary", "absent"), req: { path: "/?other=1" }, hit: true },
    {
      name: "query after a fragment is ignored",
      cond: src("query", "v", "present"),
      req: { path: "/p#x?v=1" },
      hit: false,
    },
    {
      name: "query ignoreCase",
      cond: src("query", "v", "exact", "BETA", { ignoreCase: true }),
      req: { path: "/?v=beta" },
      hit: true,
    },
    {
      name: "query invert",
      cond: src("query", "v", "exact", "1", { invert: true }),
      req: { path: "/?v=2" },
      hit: true,
    },
    // path
    {
      name: "path exact ignores the query",
      cond: src("path", undefined, "exact", "/api/users"),
      req: { path: "/api/users?x=1" },
      hit: true,
    },
    {
      name: "path exact miss",
      cond: src("path", undefined, "exact", "/api/users"),
      req: { path: "/api/users/1" },
      hit: false,
    },
    {
      name: "path prefix",
      cond: src("path", undefined, "prefix", "/api/"),
      req: { path: "/api/x" },
      hit: true,
    },
    {
      name: "path prefix miss",
      cond: src("path", undefined, "prefix", "/api/"),
      req: { path: "/apix" },
      hit: false,
    },
    {
      name: "path suffix",
      cond: src("path", undefined, "suffix", ".json"),
      req: { path: "/a/b.json?x" },
      hit: true,
    },
    {
      name: "path contains",
      cond: src("path", undefined, "contains", "/beta/"),
      req: { path: "/v1/beta/x" },
      hit: true,
    },
    {
      name: "path regex",
      cond: src("path", undefined, "regex", "^/users/[0-9]+$"),
      req: { path: "/users/17" },
      hit: true,
    },
    {
      name: "path regex miss",
      cond: src("path", undefined, "regex", "^/users/[0-9]+$"),
      req: { path: "/users/17/x" },
      hit: false,
    },
    {
      name: "path ignoreCase",
      cond: src("path", undefined, "prefix", "/API/", { ignoreCase: true }),
      req: { path: "/api/x" },
      hit: true,
    },
    {
      name: "path invert",
      cond: src("path", undefined, "prefix", "/admin", { invert: true }),
      req: { path: "/public" },
      hit: true,
    },
    // method
    {
      name: "method exact",
      cond: src("method", undefined, "exact", "POST"),
      req: { method: "POST" },
      hit: true,
    },
    {
      name: "method exact miss",
      cond: src("method", undefined, "exact", "POST"),
      req: { method: "GET" },
      hit: false,
    },
    {
      name: "method ignoreCase",
      cond: src("method", undefined, "exact", "post", { ignoreCase: true }),
      req: { method: "POST" },
      hit: true,
    },
    {
      name: "method prefix",
      cond: src("method", undefined, "prefix", "PU"),
      req: { method: "PUT" },
      hit: true,
    },
    {
      name: "method suffix",
      cond: src("method", undefined, "suffix", "ETE"),
      req: { method: "DELETE" },
      hit: true,
    },
    {
      name: "method contains",
      cond: src("method", undefined, "contains", "TC"),
      req: { method: "PATCH" },
      hit: true,
    },
    {
      name: "method regex",
      cond: src("method", undefined, "regex", "^(GET|HEAD)$"),
      req: { method: "HEAD" },
      hit: true,
    },
    {
      name: "method invert",
      cond: src("method", undefined, "regex", "^(GET|HEAD)$", { invert: true }),
      req: { method: "POST" },
      hit: true,
    },
  ])("$name", async ({ cond, req, hit }) => {
    const host = await start(oneRule(cond));
    const s = host.exchange({ method: req.method, path: req.path, headers: req.headers });
    expect(variant(s)).toBe(hit ? "hit" : "default");
    expect(header(s.upstream.headers, "x-route-to")).toBe(hit ? "v2" : undefined);
  });
});

describe("rules", () => {
  const config: Json = {
    rules: [
      {
        when: [
          { source: "header", name: "x-beta", op: "exact", value: "1" },
          { source: "path", op: "prefix", value: "/api/" },
        ],
        variant: "beta-api",
        setHeaders: { "x-route-to": "beta-api" },
      },
      {
        when: [{ source: "header", name: "x-beta", op: "exact", value: "1" }],
        variant: "beta",
        setHeaders: { "x-route-to": "beta" },
      },
      {
        when: [{ source: "cookie", name: "canary", op: "present" }],
        variant: "canary",
        setHeaders: { "x-route-to": "canary" },
      },
      { variant: "catch-all", setHeaders: { "x-route-to": "stable" } },
    ],
  };
  test.each<{ name: string; req: Req; expected: string; routeTo: string }>([
    {
      name: "both conditions hold: the first rule",
      req: { path: "/api/x", headers: [["x-beta", "1"]] },
      expected: "beta-api",
      routeTo: "beta-api",
    },
    {
      name: "one condition fails: the next rule",
      req: { path: "/web", headers: [["x-beta", "1"]] },
      expected: "beta",
      routeTo: "beta",
    },
    {
      name: "first match wins over later matches",
      req: {
        path: "/api/x",
        headers: [
          ["x-beta", "1"],
          ["cookie", "canary=1"],
        ],
      },
      expected: "beta-api",
      routeTo: "beta-api",
    },
    { name: "third rule", req: { headers: [["cookie", "canary=1"]] }, expected: "canary", routeTo: "canary" },
    {
      name: "a rule without conditions matches everything",
      req: {},
      expected: "catch-all",
      routeTo: "stable",
    },
  ])("$name", async ({ req, expected, routeTo }) => {
    const host = await start(config);
    const s = host.exchange({ path: req.path, headers: req.headers });
    expect(variant(s)).toBe(expected);
    expect(all(s.upstream.headers, "x-route-to")).toEqual([routeTo]);
  });

  test("no rule matches: the default variant, request untouched, route cache untouched", async () => {
    const host = await start({
      defaultVariant: "stable",
      rules: [
        {
          when: [{ source: "header", name: "x-beta", op: "present" }],
          variant: "beta",
          setHeaders: { "x-route-to": "beta" },
        },
      ],
    });
    const s = host.exchange({ path: "/x", headers: [["x-other", "1"]] });
    expect(variant(s)).toBe("stable");
    expect(s.upstream.headers).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":authority", "example.com"],
      [":path", "/x"],
      ["x-other", "1"],
    ]);
    expect(s.routeCacheClears).toBe(0);
    expect(host.metric("routing.variant.stable")).toBe(1n);
  });
});

describe("multi-value semantics", () => {
  const cond = (source: string, name: string, op: string, value: string, extra: Json = {}): Json => ({
    source,
    name,
    op,
    value,
    ...extra,
  });
  const twoLines: Headers = [
    ["x-group", "a"],
    ["x-group", "b"],
  ];
  test.each<{ name: string; top?: string; cond: Json; headers: Headers; path?: string; hit: boolean }>([
    {
      name: "header first: only the first line counts",
      cond: cond("header", "x-group", "exact", "b", { multiValue: "first" }),
      headers: twoLines,
      hit: false,
    },
    {
      name: "header first: first line matches",
      cond: cond("header", "x-group", "exact", "a", { multiValue: "first" }),
      headers: twoLines,
      hit: true,
    },
    {
      name: "header any: a later line matches",
      cond: cond("header", "x-group", "exact", "b", { multiValue: "any" }),
      headers: twoLines,
      hit: true,
    },
    {
      name: "header any: no line matches",
      cond: cond("header", "x-group", "exact", "c", { multiValue: "any" }),
      headers: twoLines,
      hit: false,
    },
    {
      name: "header all: one line differs",
      cond: cond("header", "x-group", "exact", "b", { multiValue: "all" }),
      headers: twoLines,
      hit: false,
    },
    {
      name: "header all: every line matches",
      cond: cond("header", "x-group", "regex", "^[ab]$", { multiValue: "all" }),
      headers: twoLines,
      hit: true,
    },
    {
      name: "header all with invert: not every line matches",
      cond: cond("header", "x-group", "exact", "a", { multiValue: "all", invert: true }),
      headers: twoLines,
      hit: true,
    },
    {
      name: "header any with invert: no line matches",
      cond: cond("header", "x-group", "exact", "a", { multiValue: "any", invert: true }),
      headers: twoLines,
      hit: false,
    },
    {
      name: "one line with commas is one value",
      cond: cond("header", "x-group", "exact", "b", { multiValue: "any" }),
      headers: [["x-group", "a, b"]],
      hit: false,
    },
    {
      name: "splitCommas makes list items values",
      cond: cond("header", "x-group", "exact", "b", { multiValue: "any", splitCommas: true }),
      headers: [["x-group", "a, b"]],
      hit: true,
    },
    {
      name: "splitCommas with all over two lines",
      cond: cond("header", "x-group", "regex", "^[abc]$", { multiValue: "all", splitCommas: true }),
      headers: [
        ["x-group", "a,b"],
        ["x-group", " c "],
      ],
      hit: true,
    },
    {
      name: "splitCommas all fails on one item",
      cond: cond("header", "x-group", "regex", "^[ab]$", { multiValue: "all", splitCommas: true }),
      headers: [["x-group", "a,b,z"]],
      hit: false,
    },
    {
      name: "top-level multiValue is the default",
      top: "any",
      cond: cond("header", "x-group", "exact", "b"),
      headers: twoLines,
      hit: true,
    },
    {
      name: "condition overrides the top-level default",
      top: "any",
      cond: cond("header", "x-group", "exact", "b", { multiValue: "first" }),
      headers: twoLines,
      hit: false,
    },
    {
      name: "without any setting it is first",
      cond: cond("header", "x-group", "exact", "b"),
      headers: twoLines,
      hit: false,
    },
    {
      name: "cookie repeated: first",
      cond: cond("cookie", "g", "exact", "2", { multiValue: "first" }),
      headers: [["cookie", "g=1; g=2"]],
      hit: false,
    },
    {
      name: "cookie repeated: any",
      cond: cond("cookie", "g", "exact", "2", { multiValue: "any" }),
      headers: [
        ["cookie", "g=1"],
        ["cookie", "g=2"],
      ],
      hit: true,
    },
    {
      name: "cookie repeated: all",
      cond: cond("cookie", "g", "prefix", "1", { multiValue: "all" }),
      headers: [["cookie", "g=1; g=10"]],
      hit: true,
    },
    {
      name: "query repeated: first",
      cond: cond("query", "g", "exact", "2", { multiValue: "first" }),
      headers: [],
      path: "/?g=1&g=2",
      hit: false,
    },
    {
      name: "query repeated: any",
      cond: cond("query", "g", "exact", "2", { multiValue: "any" }),
      headers: [],
      path: "/?g=1&g=2",
      hit: true,
    },
    {
      name: "query repeated: all",
      cond: cond("query", "g", "exact", "2", { multiValue: "all" }),
      headers: [],
      path: "/?g=2&g=2",
      hit: true,
    },
  ])("$name", async ({ top, cond: c, headers, path, hit }) => {
    const host = await start({ ...(top ? { multiValue: top } : {}), ...oneRule(c) });
    const s = host.exchange({ path, headers });
    expect(variant(s)).toBe(hit ? "hit" : "default");
  });
});

describe("actions and re-routing", () => {
  test.each<{ name: string; rule: Json; config?: Json; path?: string; expected: Headers }>([
    {
      name: "setHeaders replaces (one value each)",
      rule: { variant: "v2", setHeaders: { "X-Route-To": "v2", "x-tier": "gold" } },
      expected: [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "example.com"],
        [":path", "/p"],
        ["x-route-to", "v2"],
        ["x-tier", "gold"],
      ],
    },
    {
      name: "authority rewrite",
      rule: { variant: "v2", authority: "v2.internal" },
      // Envoy's replace removes the header and adds it again: a pseudo-header moves to the end of the
      // pseudo-headers (measured in Envoy 1.39 by the emulator parity test).
      expected: [
        [":method", "GET"],
        [":scheme", "http"],
        [":path", "/p"],
        [":authority", "v2.internal"],
      ],
    },
    {
      name: "path prefix rewrite keeps the rest and the query",
      rule: { variant: "v2", pathPrefix: { from: "/api/", to: "/v2/api/" } },
      path: "/api/users?id=1",
      expected: [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "example.com"],
        [":path", "/v2/api/users?id=1"],
      ],
    },
    {
      name: "path prefix that does not apply leaves the path",
      rule: { variant: "v2", pathPrefix: { from: "/api/", to: "/v2/" } },
      path: "/web/x",
      expected: [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "example.com"],
        [":path", "/web/x"],
      ],
    },
    {
      name: "cluster goes into the default cluster header",
      rule: { variant: "v2", cluster: "httpbin_v2" },
      expected: [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "example.com"],
        [":path", "/p"],
        ["x-wasmgate-cluster", "httpbin_v2"],
      ],
    },
    {
      name: "cluster into a configured cluster header",
      config: { clusterHeader: "X-Target-Cluster" },
      rule: { variant: "v2", cluster: "httpbin_v2" },
      expected: [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "example.com"],
        [":path", "/p"],
        ["x-target-cluster", "httpbin_v2"],
      ],
    },
  ])("$name", async ({ rule, config, path, expected }) => {
    const host = await start({ ...config, rules: [rule] });
    const s = host.exchange({ path: path ?? "/p" });
    expect(s.upstream.headers).toEqual(expected);
    expect(variant(s)).toBe("v2");
  });

  // Envoy 1.39 re-selects the route on every request-header change of an ABI 0.2.1 module and again on
  // clear_route_cache (measured in routing.e2e.test.ts; see RATIONALE.md). The emulator records both.
  test.each<{ name: string; reroute?: boolean; rule: Json; reasons: string[] }>([
    {
      name: "reroute default (true): header change, then clear_route_cache",
      rule: { variant: "v2", setHeaders: { "x-route-to": "v2" } },
      reasons: ["request headers changed", "foreign_function"],
    },
    {
      name: "reroute false: only Envoy's automatic clear",
      reroute: false,
      rule: { variant: "v2", setHeaders: { "x-route-to": "v2" } },
      reasons: ["request headers changed"],
    },
    {
      name: "reroute true with two changes: one explicit clear",
      reroute: true,
      rule: { variant: "v2", setHeaders: { "x-route-to": "v2" }, authority: "v2.internal" },
      reasons: ["request headers changed", "request headers changed", "foreign_function"],
    },
    {
      name: "a variant without actions changes nothing",
      reroute: true,
      rule: { variant: "control" },
      reasons: [],
    },
  ])("$name", async ({ reroute, rule, reasons }) => {
    const host = await start({ ...(reroute === undefined ? {} : { reroute }), rules: [rule] });
    const s = host.exchange({});
    expect(s.routeCacheClearReasons).toEqual(reasons);
  });
});

describe("weighted splits", () => {
  const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const splitRule = (
    salt: string,
    weights: Array<[string, number]>,
    key: Json = { source: "header", name: "x-user-id" },
  ): Json => ({
    split: {
      key,
      salt,
      variants: weights.map(([v, weight]) => ({ variant: v, weight, setHeaders: { "x-route-to": v } })),
    },
  });

  /** The variant of every key, through the Wasm module. */
  async function assign(salt: string, weights: Array<[string, number]>): Promise<string[]> {
    const host = await start({ rules: [splitRule(salt, weights)] });
    return KEYS.map((k) => variant(host.exchange({ headers: [["x-user-id", k]] }))!);
  }

  // Tolerance: ±150 keys of 10,000 (1.5 percentage points) per variant. For a 10% variant the binomial
  // standard deviation is sqrt(10000 × 0.1 × 0.9) = 30 keys, so this is 5σ; the keys are fixed, so the
  // result is deterministic, and the bound states how uniform the hash must be.
  const TOLERANCE = 150;

  test.each<{ name: string; weights: Array<[string, number]> }>([
    {
      name: "10% / 90%",
      weights: [
        ["v2", 1000],
        ["v1", 9000],
      ],
    },
    {
      name: "25% / 25% / 50%",
      weights: [
        ["a", 2500],
        ["b", 2500],
        ["c", 5000],
      ],
    },
    {
      name: "0.5% / 99.5% (basis points)",
      weights: [
        ["tiny", 50],
        ["rest", 9950],
      ],
    },
  ])(
    "distribution $name over 10,000 keys is within ±1.5 points and equals the reference hash",
    async ({ weights }) => {
      const got = await assign("exp-1", weights);
      for (const [v, w] of weights) {
        const n = got.filter((x) => x === v).length;
        expect(Math.abs(n - w)).toBeLessThanOrEqual(TOLERANCE);
      }
      expect(got).toEqual(KEYS.map((k) => variantOf("exp-1", k, weights)));
    },
  );

  test("deterministic: same key, same variant across workers and restarts", async () => {
    const weights: Array<[string, number]> = [
      ["v2", 5000],
      ["v1", 5000],
    ];
    const a = await start({ rules: [splitRule("exp-1", weights)] }, { workers: 2 });
    const b = await start({ rules: [splitRule("exp-1", weights)] });
    for (const k of KEYS.slice(0, 200)) {
      const first = variant(a.exchange({ headers: [["x-user-id", k]], worker: 0 }));
      expect(variant(a.exchange({ headers: [["x-user-id", k]], worker: 1 }))).toBe(first);
      expect(variant(b.exchange({ headers: [["x-user-id", k]] }))).toBe(first);
    }
  });

  test("salted experiments are independent; the same salt is fully correlated", async () => {
    const weights: Array<[string, number]> = [
      ["on", 5000],
      ["off", 5000],
    ];
    const [x, y, same] = await Promise.all([
      assign("checkout-2025", weights),
      assign("search-ranking", weights),
      assign("checkout-2025", weights),
    ]);
    const cell = (p: string, q: string, other: string[]) =>
      KEYS.filter((_, i) => x[i] === p && other[i] === q).length;
    // Independent: each of the four cells holds a quarter of the keys (σ = sqrt(10000 × 0.25 × 0.75) ≈ 43).
    for (const p of ["on", "off"])
      for (const q of ["on", "off"]) expect(Math.abs(cell(p, q, y) - 2500)).toBeLessThanOrEqual(TOLERANCE);
    // Same salt: the test above would fail, as every key lands on the diagonal.
    expect(cell("on", "off", same) + cell("off", "on", same)).toBe(0);
  });

  test("weight 0 is never chosen, weight 10000 always", async () => {
    const got = await assign("s", [
      ["never", 0],
      ["always", 10000],
    ]);
    expect(new Set(got)).toEqual(new Set(["always"]));
  });

  // 100 variants of 1% each, so a key derived wrongly lands on the expected variant only by a 1% chance.
  const HUNDRED: Array<[string, number]> = Array.from({ length: 100 }, (_, i) => [`p${i}`, 100]);
  test.each<{ name: string; key: Json; req: { headers?: Headers; source?: string }; hashed: string }>([
    {
      name: "header key",
      key: { source: "header", name: "x-user-id" },
      req: { headers: [["x-user-id", "alice"]] },
      hashed: "alice",
    },
    {
      name: "header key: first of two lines",
      key: { source: "header", name: "x-user-id" },
      req: {
        headers: [
          ["x-user-id", "alice"],
          ["x-user-id", "mallory"],
        ],
      },
      hashed: "alice",
    },
    {
      name: "cookie key",
      key: { source: "cookie", name: "uid" },
      req: { headers: [["cookie", "x=1; uid=bob"]] },
      hashed: "bob",
    },
    {
      name: "clientIp key: IPv4, port ignored",
      key: { source: "clientIp" },
      req: { source: "10.1.2.3:5555" },
      hashed: "10.1.2.3",
    },
    {
      name: "clientIp key: IPv4-mapped IPv6 hashes as IPv4",
      key: { source: "clientIp" },
      req: { source: "[::ffff:10.1.2.3]:5555" },
      hashed: "10.1.2.3",
    },
    {
      name: "clientIp key: IPv6 in canonical form",
      key: { source: "clientIp" },
      req: { source: "[2001:DB8:0:0::7]:443" },
      hashed: "2001:db8::7",
    },
  ])("$name", async ({ key, req, hashed }) => {
    const host = await start({ rules: [splitRule("k", HUNDRED, key)] });
    const s = host.exchange({
      headers: req.headers,
      properties: req.source ? { "source.address": req.source } : {},
    });
    expect(variant(s)).toBe(variantOf("k", hashed, HUNDRED));
  });

  test.each<{ name: string; split: Json; expected: string }>([
    { name: "missing key without fallback: the rule is skipped", split: {}, expected: "next" },
    { name: "missing key with fallback: the fallback variant", split: { fallback: "b" }, expected: "b" },
  ])("$name", async ({ split, expected }) => {
    const rule = splitRule("k", [
      ["a", 5000],
      ["b", 5000],
    ]);
    const host = await start({
      rules: [{ split: { ...(rule.split as Json), ...split } }, { variant: "next" }],
    });
    expect(variant(host.exchange({ headers: [["x-user-id", ""]] }))).toBe(expected);
    expect(variant(host.exchange({}))).toBe(expected);
  });

  test("cookie pinning: a new visitor gets an id cookie and keeps its variant", async () => {
    const weights: Array<[string, number]> = [
      ["v2", 1000],
      ["v1", 9000],
    ];
    const host = await start({
      rules: [
        {
          split: {
            key: { source: "cookie", name: "wg_uid" },
            salt: "pin",
            variants: weights.map(([v, weight]) => ({ variant: v, weight })),
            assignCookie: { maxAge: "1h", path: "/shop", secure: true, httpOnly: false, sameSite: "Strict" },
          },
        },
      ],
    });
    for (let i = 0; i < 20; i++) {
      const first = host.exchange({});
      const cookies = all(first.downstream.headers, "set-cookie");
      expect(cookies).toHaveLength(1);
      const m = /^wg_uid=([0-9a-f]{32}); Path=\/shop; Max-Age=3600; Secure; SameSite=Strict$/.exec(
        cookies[0],
      );
      expect(m).not.toBeNull();
      const id = m![1];
      expect(variant(first)).toBe(variantOf("pin", id, weights));
      const again = host.exchange({ headers: [["cookie", `wg_uid=${id}`]] });
      expect(variant(again)).toBe(variant(first));
      expect(all(again.downstream.headers, "set-cookie")).toEqual([]);
    }
    expect(host.metric("routing.cookie_assigned")).toBe(20n);
  });

  test("cookie defaults: 30 days, Path=/, HttpOnly, SameSite=Lax", async () => {
    const host = await start({
      rules: [
        {
          split: {
            key: { source: "cookie", name: "uid" },
            salt: "s",
            variants: [{ variant: "only", weight: 10000 }],
            assignCookie: {},
          },
        },
      ],
    });
    const [line] = all(host.exchange({}).downstream.headers, "set-cookie");
    expect(line).toMatch(/^uid=[0-9a-f]{32}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/);
  });
});

describe("anti-spoofing", () => {
  const config = (trustedCidrs: string[]): Json => ({
    trustedCidrs,
    stripHeaders: ["X-Canary"],
    rules: [
      {
        when: [{ source: "header", name: "x-beta", op: "exact", value: "1" }],
        variant: "v2",
        setHeaders: { "x-route-to": "v2" },
      },
      { when: [{ source: "header", name: "x-route-to", op: "present" }], variant: "spoof-visible" },
    ],
  });
  const spoofed: Headers = [
    ["x-route-to", "v2"],
    ["x-wasmgate-cluster", "httpbin_v2"],
    ["x-canary", "1"],
    ["x-keep", "yes"],
  ];

  test("an untrusted client's routing headers are stripped before rules run", async () => {
    const host = await start(config(["10.0.0.0/8"]), { sourceAddress: "192.0.2.7:40000" });
    const s = host.exchange({ headers: spoofed });
    expect(s.upstream.headers).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":authority", "example.com"],
      [":path", "/"],
      ["x-keep", "yes"],
    ]);
    expect(variant(s)).toBe("default");
    expect(host.metric("routing.stripped")).toBe(1n);
    expect(s.routeCacheClearReasons).toEqual([
      "request headers changed",
      "request headers changed",
      "request headers changed",
      "foreign_function",
    ]);
  });

  test("an untrusted client's header is replaced by the rule's value", async () => {
    const host = await start(config([]));
    const s = host.exchange({
      headers: [
        ["x-route-to", "evil"],
        ["x-beta", "1"],
      ],
    });
    expect(all(s.upstream.headers, "x-route-to")).toEqual(["v2"]);
    expect(variant(s)).toBe("v2");
  });

  test("a trusted client's routing headers are kept and rules are not evaluated", async () => {
    const host = await start(config(["10.0.0.0/8"]), { sourceAddress: "10.20.30.40:40000" });
    const s = host.exchange({ headers: [...spoofed, ["x-beta", "1"]] });
    expect(all(s.upstream.headers, "x-route-to")).toEqual(["v2"]);
    expect(all(s.upstream.headers, "x-wasmgate-cluster")).toEqual(["httpbin_v2"]);
    expect(all(s.upstream.headers, "x-canary")).toEqual(["1"]);
    expect(variant(s)).toBeUndefined();
    expect(s.routeCacheClears).toBe(0);
    expect(host.metric("routing.trusted_passthrough")).toBe(1n);
  });

  test("a trusted client without routing headers is routed by the rules", async () => {
    const host = await start(config(["10.0.0.0/8"]), { sourceAddress: "10.20.30.40:40000" });
    const s = host.exchange({ headers: [["x-beta", "1"]] });
    expect(variant(s)).toBe("v2");
  });

  test.each<{ name: string; cidrs: string[]; source: string; trusted: boolean }>([
    { name: "IPv4 inside /8", cidrs: ["10.0.0.0/8"], source: "10.255.0.1:1", trusted: true },
    { name: "IPv4 outside /8", cidrs: ["10.0.0.0/8"], source: "11.0.0.1:1", trusted: false },
    { name: "IPv4 /32 exact", cidrs: ["192.0.2.7/32"], source: "192.0.2.7:1", trusted: true },
    { name: "IPv4 /32 neighbour", cidrs: ["192.0.2.7/32"], source: "192.0.2.8:1", trusted: false },
    { name: "bare IPv4 is a /32", cidrs: ["127.0.0.1"], source: "127.0.0.1:5000", trusted: true },
    { name: "IPv4 /0 trusts every IPv4", cidrs: ["0.0.0.0/0"], source: "203.0.113.9:1", trusted: true },
    { name: "IPv4 /0 does not trust IPv6", cidrs: ["0.0.0.0/0"], source: "[2001:db8::1]:1", trusted: false },
    { name: "IPv4 /20 boundary inside", cidrs: ["172.16.0.0/12"], source: "172.31.255.255:1", trusted: true },
    { name: "IPv4 /20 boundary outside", cidrs: ["172.16.0.0/12"], source: "172.32.0.0:1", trusted: false },
    { name: "IPv6 loopback", cidrs: ["::1/128"], source: "[::1]:8080", trusted: true },
    { name: "IPv6 /32 inside", cidrs: ["2001:db8::/32"], source: "[2001:db8:ffff::1]:1", trusted: true },
    { name: "IPv6 /32 outside", cidrs: ["2001:db8::/32"], source: "[2001:db9::1]:1", trusted: false },
    { name: "IPv6 /127 odd bit", cidrs: ["fd00::2/127"], source: "[fd00::3]:1", trusted: true },
    { name: "IPv6 /127 outside", cidrs: ["fd00::2/127"], source: "[fd00::4]:1", trusted: false },
    {
      name: "IPv6 with zone id in the source",
      cidrs: ["fe80::/10"],
      source: "[fe80::1%eth0]:1",
      trusted: true,
    },
    {
      name: "IPv4-mapped source matches an IPv4 block",
      cidrs: ["10.0.0.0/8"],
      source: "[::ffff:10.1.2.3]:1",
      trusted: true,
    },
    {
      name: "IPv6 block in embedded IPv4 form",
      cidrs: ["::ffff:192.0.2.0/120"],
      source: "192.0.2.99:1",
      trusted: true,
    },
    {
      name: "second of several blocks",
      cidrs: ["10.0.0.0/8", "192.168.0.0/16"],
      source: "192.168.3.4:1",
      trusted: true,
    },
    { name: "source address without a port", cidrs: ["10.0.0.0/8"], source: "10.0.0.1", trusted: true },
    {
      name: "unparsable source address is untrusted",
      cidrs: ["0.0.0.0/0", "::/0"],
      source: "garbage",
      trusted: false,
    },
    {
      name: "source with a bad octet is untrusted",
      cidrs: ["0.0.0.0/0"],
      source: "10.0.0.256:1",
      trusted: false,
    },
  ])("trust: $name", async ({ cidrs, source, trusted }) => {
    const host = await start(config(cidrs));
    const s = host.exchange({
      headers: [["x-route-to", "client"]],
      properties: { "source.address": source },
    });
    expect(all(s.upstream.headers, "x-route-to")).toEqual(trusted ? ["client"] : []);
  });
});

describe("linear-time regular expressions", () => {
  /** Regex steps counted (routing.regex_steps) for one request matching `value` against `pattern`. */
  async function stepsFor(
    pattern: string,
    values: string[],
  ): Promise<Array<{ steps: bigint; hit: boolean }>> {
    const host = await start(oneRule({ source: "header", name: "x-in", op: "regex", value: pattern }));
    return values.map((v) => {
      const before = host.metric("routing.regex_steps") ?? 0n;
      const s = host.exchange({ headers: [["x-in", v]] });
      return { steps: (host.metric("routing.regex_steps") ?? 0n) - before, hit: variant(s) === "hit" };
    });
  }

  // Catastrophic for a backtracking engine (about 2^n paths on "aaaa…!"); linear here. The proof counts
  // steps (instructions visited, the `routing.regex_steps` counter), never time: over inputs of 1200,
  // 2400, 4800 and 9600 characters the step count is exactly a·n + b, and a is at most 2 × the program
  // size (each instruction is visited at most twice per character: once to add it, once to step it).
  test.each<{ name: string; pattern: string; input: (n: number) => string; programSize: number }>([
    { name: "(a+)+$ on a…a!", pattern: "(a+)+$", input: (n) => "a".repeat(n - 1) + "!", programSize: 5 },
    { name: "(a|aa)+$ on a…a!", pattern: "(a|aa)+$", input: (n) => "a".repeat(n - 1) + "!", programSize: 8 },
    { name: "(a*)*b on a…a", pattern: "(a*)*b", input: (n) => "a".repeat(n), programSize: 7 },
    {
      name: "^(\\w+\\s?)*$ on 'ab ab …!'",
      pattern: "^(\\w+\\s?)*$",
      input: (n) => "ab ".repeat(n / 3 - 1) + "ab!",
      programSize: 9,
    },
    { name: "(.*a){12}x on a…a", pattern: "(.*a){12}x", input: (n) => "a".repeat(n), programSize: 50 },
  ])("$name", async ({ pattern, input, programSize }) => {
    const sizes = [1200, 2400, 4800, 9600];
    const runs = await stepsFor(pattern, sizes.map(input));
    expect(runs.map((r) => r.hit)).toEqual([false, false, false, false]);
    const per1200 = runs[1].steps - runs[0].steps;
    sizes.forEach((n, i) => expect(runs[i].steps - runs[0].steps).toBe(per1200 * BigInt((n - 1200) / 1200)));
    expect(Number(per1200) / 1200).toBeLessThanOrEqual(2 * programSize);
    expect(runs[3].steps).toBeLessThanOrEqual(BigInt(9601 * 2 * programSize));
  });

  test("^(a?){25}a{25}$ on a×25 matches in bounded steps", async () => {
    const [r] = await stepsFor("^(a?){25}a{25}$", ["a".repeat(25)]);
    expect(r.hit).toBe(true);
    // 26 positions × at most 2 visits of each of the 102 instructions.
    expect(r.steps).toBeLessThanOrEqual(26n * 2n * 102n);
  });

  // The engine against JavaScript's RegExp as the oracle: the subset has the same meaning in both
  // (search semantics, `.` excludes \n, ASCII case folding).
  const cases: Array<[string, string, string[]]> = [
    ["literal", "abc", ["abc", "xabcx", "ab", "ABC"]],
    ["dot", "a.c", ["abc", "a-c", "ac", "a\nc"]],
    ["anchors", "^ab$", ["ab", "abc", "cab", ""]],
    ["alternation", "^(cat|dog|bird)s?$", ["cat", "dogs", "birds", "cow", "catdog"]],
    ["non-capturing group", "^(?:ab)+$", ["ab", "abab", "aba", ""]],
    ["star", "^a*b$", ["b", "aaab", "aaa"]],
    ["plus", "^a+b$", ["b", "ab", "aaab"]],
    ["question", "^colou?r$", ["color", "colour", "colouur"]],
    ["exact count", "^[0-9]{3}$", ["123", "12", "1234"]],
    ["range count", "^x{2,4}$", ["x", "xx", "xxxx", "xxxxx"]],
    ["open count", "^x{2,}$", ["x", "xx", "xxxxxxxx"]],
    ["lazy forms", "^a+?b*?c??$", ["a", "ab", "abc", "aabbc"]],
    ["literal brace", "^a{,2}$", ["a{,2}", "aa"]],
    ["class", "^[a-c_]+$", ["abc_", "abd", "_"]],
    ["negated class", "^[^0-9]+$", ["abc", "ab1"]],
    ["class with escapes", "^[\\d.\\-]+$", ["1.2-3", "1,2"]],
    ["class with trailing -", "^[a-]+$", ["a-a", "b"]],
    ["perl classes", "^\\w+\\s\\d+$", ["abc 123", "abc  123", "a_b 1"]],
    ["negated perl classes", "^\\W\\D\\S$", ["!a!", "!1!", "a a"]],
    ["escaped punctuation", "^a\\.b\\*c\\\\d\\/$", ["a.b*c\\d/", "axb*c\\d/"]],
    ["hex escape", "^\\x41\\x7a$", ["Az", "az"]],
    ["control escapes", "^a\\tb$", ["a\tb", "a b"]],
    ["empty alternative", "^(a|)b$", ["ab", "b", "cb"]],
    ["nested repetition", "^((ab)*c)+$", ["c", "ababcc", "abcabc", "abab"]],
    ["version", "^v?(\\d+)\\.(\\d+)(\\.\\d+)?(-[a-z0-9.]+)?$", ["v1.2", "1.2.3-rc.1", "1", "1.2.3.4"]],
    ["email-ish", "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$", ["a.b@example.com", "a@b", "x@y.co"]],
    [
      "uuid",
      "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
      ["123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-42661417400"],
    ],
    ["dollar mid-pattern", "a$|^b", ["xa", "bx", "ax"]],
  ];
  test.each(cases.map(([name, pattern, inputs]) => ({ name, pattern, inputs })))(
    "matches like RegExp: $name",
    async ({ pattern, inputs }) => {
      const runs = await stepsFor(pattern, inputs);
      expect(runs.map((r) => r.hit)).toEqual(inputs.map((i) => new RegExp(pattern).test(i)));
    },
  );

  // RE2 syntax that JavaScript reads differently.
  test.each<{ name: string; pattern: string; inputs: string[]; expected: boolean[] }>([
    {
      name: "\\A and \\z anchor the whole value",
      pattern: "\\Aab\\z",
      inputs: ["ab", "abab", "xab"],
      expected: [true, false, false],
    },
    {
      name: "] first in a class is a literal",
      pattern: "^[]a]+$",
      inputs: ["]a]", "b"],
      expected: [true, false],
    },
  ])("RE2 syntax: $name", async ({ pattern, inputs, expected }) => {
    const runs = await stepsFor(pattern, inputs);
    expect(runs.map((r) => r.hit)).toEqual(expected);
  });

  test.each<{ name: string; pattern: string; inputs: string[] }>([
    { name: "literal", pattern: "^Beta$", inputs: ["beta", "BETA", "bEtA", "betas"] },
    { name: "class", pattern: "^[a-c]+$", inputs: ["ABC", "abC", "abd"] },
    { name: "negated class", pattern: "^[^x]$", inputs: ["X", "x", "y"] },
  ])("ignoreCase like RegExp /i: $name", async ({ pattern, inputs }) => {
    const host = await start(
      oneRule({ source: "header", name: "x-in", op: "regex", value: pattern, ignoreCase: true }),
    );
    const hits = inputs.map((v) => variant(host.exchange({ headers: [["x-in", v]] })) === "hit");
    expect(hits).toEqual(inputs.map((i) => new RegExp(pattern, "i").test(i)));
  });
});

describe("bad configuration is refused with every problem named", () => {
  const h = (extra: Json = {}): Json => ({
    source: "header",
    name: "x-a",
    op: "exact",
    value: "1",
    ...extra,
  });
  const fixed = (when: Json[], extra: Json = {}): Json => ({ rules: [{ when, variant: "v2", ...extra }] });
  const split = (s: Json): Json => ({
    rules: [
      {
        split: {
          key: { source: "header", name: "x-user" },
          salt: "s",
          variants: [
            { variant: "a", weight: 5000 },
            { variant: "b", weight: 5000 },
          ],
          ...s,
        },
      },
    ],
  });
  const E = "routing: invalid configuration: ";
  test.each<{ name: string; config: unknown; errors: string[] }>([
    {
      name: "invalid JSON",
      config: "{rules:",
      errors: [`${E}configuration: invalid JSON: expected a string key at line 1, column 2`],
    },
    { name: "no rules", config: {}, errors: [`${E}rules: expected at least 1 item(s), got none`] },
    {
      name: "unknown top-level field",
      config: { ...fixed([]), reRoute: true },
      errors: [`${E}reRoute: unknown field`],
    },
    {
      name: "reroute not a bool",
      config: { ...fixed([]), reroute: "yes" },
      errors: [`${E}reroute: expected true or false, got "yes"`],
    },
    {
      name: "unknown operator",
      config: fixed([h({ op: "equals" })]),
      errors: [
        `${E}rules[0].when[0].op: expected one of "exact", "prefix", "suffix", "contains", "regex", "present", "absent", got "equals"`,
      ],
    },
    {
      name: "missing operator",
      config: fixed([{ source: "header", name: "x-a", value: "1" }]),
      errors: [`${E}rules[0].when[0].op: required field is missing`],
    },
    {
      name: "unknown source",
      config: fixed([h({ source: "body" })]),
      errors: [
        `${E}rules[0].when[0].source: expected one of "header", "cookie", "query", "path", "method", got "body"`,
      ],
    },
    {
      name: "header without name",
      config: fixed([{ source: "header", op: "present" }]),
      errors: [`${E}rules[0].when[0].name: required field is missing`],
    },
    {
      name: "bad header name",
      config: fixed([h({ name: "x a" })]),
      errors: [`${E}rules[0].when[0].name: expected an HTTP header name, got "x a"`],
    },
    {
      name: "name with path",
      config: fixed([{ source: "path", name: "p", op: "prefix", value: "/" }]),
      errors: [`${E}rules[0].when[0].name: not allowed with source "path"`],
    },
    {
      name: "value with present",
      config: fixed([h({ op: "present" })]),
      errors: [`${E}rules[0].when[0].value: not allowed with op "present"`],
    },
    {
      name: "missing value",
      config: fixed([{ source: "header", name: "x-a", op: "prefix" }]),
      errors: [`${E}rules[0].when[0].value: required field is missing`],
    },
    {
      name: "empty prefix",
      config: fixed([h({ op: "prefix", value: "" })]),
      errors: [`${E}rules[0].when[0].value: expected a non-empty string for op "prefix"`],
    },
    {
      name: "present on path",
      config: fixed([{ source: "path", op: "present" }]),
      errors: [`${E}rules[0].when[0].op: op "present" needs source "header", "cookie" or "query"`],
    },
    {
      name: "multiValue on method",
      config: fixed([{ source: "method", op: "exact", value: "GET", multiValue: "any" }]),
      errors: [`${E}rules[0].when[0].multiValue: not allowed with source "method" (it has one value)`],
    },
    {
      name: "bad multiValue",
      config: fixed([h({ multiValue: "some" })]),
      errors: [`${E}rules[0].when[0].multiValue: expected one of "first", "any", "all", got "some"`],
    },
    {
      name: "splitCommas on a cookie",
      config: fixed([{ source: "cookie", name: "c", op: "present", splitCommas: true }]),
      errors: [`${E}rules[0].when[0].splitCommas: only allowed with source "header"`],
    },
    {
      name: "unknown condition field",
      config: fixed([h({ negate: true })]),
      errors: [`${E}rules[0].when[0].negate: unknown field`],
    },
    {
      name: "regex: missing )",
      config: fixed([h({ op: "regex", value: "(a|b" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: missing closing ) at offset 0`],
    },
    {
      name: "regex: unexpected )",
      config: fixed([h({ op: "regex", value: "a)" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: unexpected ) at offset 1`],
    },
    {
      name: "regex: missing ]",
      config: fixed([h({ op: "regex", value: "[a-z" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: missing closing ] at offset 0`],
    },
    {
      name: "regex: nothing to repeat",
      config: fixed([h({ op: "regex", value: "*a" })]),
      errors: [
        `${E}rules[0].when[0].value: invalid regex: missing argument to repetition operator * at offset 0`,
      ],
    },
    {
      name: "regex: double quantifier",
      config: fixed([h({ op: "regex", value: "a**" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: invalid nested repetition operator at offset 2`],
    },
    {
      name: "regex: backreference",
      config: fixed([h({ op: "regex", value: "(a)\\1" })]),
      errors: [
        `${E}rules[0].when[0].value: invalid regex: backreferences are not supported (\\1) at offset 3`,
      ],
    },
    {
      name: "regex: look-ahead",
      config: fixed([h({ op: "regex", value: "a(?=b)" })]),
      errors: [
        `${E}rules[0].when[0].value: invalid regex: unsupported group syntax (only (?:...) is allowed) at offset 1`,
      ],
    },
    {
      name: "regex: word boundary",
      config: fixed([h({ op: "regex", value: "\\bword" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: unsupported escape \\b at offset 0`],
    },
    {
      name: "regex: reversed range",
      config: fixed([h({ op: "regex", value: "[z-a]" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: invalid character class range z-a at offset 1`],
    },
    {
      name: "regex: repeat count too large",
      config: fixed([h({ op: "regex", value: "a{1001}" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: invalid repeat count {1001} at offset 1`],
    },
    {
      name: "regex: repeat min > max",
      config: fixed([h({ op: "regex", value: "a{3,2}" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: invalid repeat count {3,2} at offset 1`],
    },
    {
      name: "regex: program too large",
      config: fixed([h({ op: "regex", value: "(a{100}){100}" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: pattern too large at offset 8`],
    },
    {
      name: "regex: exactly 1000 instructions are accepted",
      config: fixed([h({ op: "regex", value: "a{1000}" })]),
      errors: [],
    },
    {
      name: "regex: 1001 instructions are refused",
      config: fixed([h({ op: "regex", value: "a{1000}b" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: pattern too large at offset 8`],
    },
    {
      name: "regex: POSIX class",
      config: fixed([h({ op: "regex", value: "[[:alpha:]]" })]),
      errors: [
        `${E}rules[0].when[0].value: invalid regex: POSIX classes like [:alpha:] are not supported at offset 1`,
      ],
    },
    {
      name: "regex: trailing backslash",
      config: fixed([h({ op: "regex", value: "a\\" })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: trailing backslash at offset 1`],
    },
    {
      name: "regex: too long",
      config: fixed([h({ op: "regex", value: "a".repeat(1025) })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: pattern longer than 1024 characters`],
    },
    {
      name: "regex: 64 nested groups (65 levels) are refused",
      config: fixed([h({ op: "regex", value: "(".repeat(64) + "a" + ")".repeat(64) })]),
      errors: [`${E}rules[0].when[0].value: invalid regex: nesting deeper than 64 at offset 64`],
    },
    {
      name: "regex: 63 nested groups (64 levels) are accepted",
      config: fixed([h({ op: "regex", value: "(".repeat(63) + "a" + ")".repeat(63) })]),
      errors: [],
    },
    {
      name: "weights do not sum to 10000",
      config: split({
        variants: [
          { variant: "a", weight: 1000 },
          { variant: "b", weight: 8000 },
        ],
      }),
      errors: [`${E}rules[0].split.variants: weights must sum to 10000 basis points (100%), got 9000`],
    },
    {
      name: "weight out of range",
      config: split({
        variants: [
          { variant: "a", weight: 10001 },
          { variant: "b", weight: -1 },
        ],
      }),
      errors: [
        `${E}rules[0].split.variants[0].weight: expected an integer between 0 and 10000, got 10001`,
        `${E}rules[0].split.variants[1].weight: expected an integer between 0 and 10000, got -1`,
      ],
    },
    {
      name: "weight as a percentage string",
      config: split({
        variants: [
          { variant: "a", weight: "10%" },
          { variant: "b", weight: 9000 },
        ],
      }),
      errors: [`${E}rules[0].split.variants[0].weight: expected an integer between 0 and 10000, got "10%"`],
    },
    {
      name: "missing weight",
      config: split({ variants: [{ variant: "a" }, { variant: "b", weight: 10000 }] }),
      errors: [`${E}rules[0].split.variants[0].weight: required field is missing`],
    },
    {
      name: "duplicate variant",
      config: split({
        variants: [
          { variant: "a", weight: 5000 },
          { variant: "a", weight: 5000 },
        ],
      }),
      errors: [`${E}rules[0].split.variants[1].variant: duplicate variant "a" in this split`],
    },
    {
      name: "no variants",
      config: split({ variants: [] }),
      errors: [`${E}rules[0].split.variants: expected at least 1 item(s), got 0`],
    },
    {
      name: "missing salt",
      config: {
        rules: [{ split: { key: { source: "clientIp" }, variants: [{ variant: "a", weight: 10000 }] } }],
      },
      errors: [`${E}rules[0].split.salt: required field is missing`],
    },
    {
      name: "unknown key source",
      config: split({ key: { source: "ip" } }),
      errors: [`${E}rules[0].split.key.source: expected one of "header", "cookie", "clientIp", got "ip"`],
    },
    {
      name: "name with clientIp key",
      config: split({ key: { source: "clientIp", name: "x" } }),
      errors: [`${E}rules[0].split.key.name: not allowed with source "clientIp"`],
    },
    {
      name: "unknown fallback",
      config: split({ fallback: "c" }),
      errors: [`${E}rules[0].split.fallback: no variant named "c" in this split`],
    },
    {
      name: "assignCookie with a header key",
      config: split({ assignCookie: {} }),
      errors: [
        `${E}rules[0].split.assignCookie: needs key.source "cookie" (the assigned id is stored in that cookie)`,
      ],
    },
    {
      name: "SameSite=None without Secure",
      config: split({ key: { source: "cookie", name: "u" }, assignCookie: { sameSite: "None" } }),
      errors: [
        `${E}rules[0].split.assignCookie.sameSite: SameSite=None requires "secure": true (browsers drop the cookie otherwise)`,
      ],
    },
    {
      name: "bad cookie maxAge",
      config: split({ key: { source: "cookie", name: "u" }, assignCookie: { maxAge: "forever" } }),
      errors: [
        `${E}rules[0].split.assignCookie.maxAge: expected a duration like "500ms", "1s", "1m" between 1s and 400d, got "forever"`,
      ],
    },
    {
      name: "split and fixed actions together",
      config: { rules: [{ variant: "x", split: {} }] },
      errors: [`${E}rules[0]: set either "split" or "variant" with actions, not both`],
    },
    {
      name: "missing variant",
      config: { rules: [{ setHeaders: { "x-a": "1" } }] },
      errors: [`${E}rules[0].variant: required field is missing`],
    },
    {
      name: "bad variant name",
      config: { rules: [{ variant: "v 2" }] },
      errors: [`${E}rules[0].variant: expected 1-64 characters of A-Z a-z 0-9 _ -, got "v 2"`],
    },
    {
      name: "pseudo-header in setHeaders",
      config: fixed([], { setHeaders: { ":path": "/x" } }),
      errors: [
        `${E}rules[0].setHeaders.:path: ":path" is a pseudo-header; use "authority" or "pathPrefix" to rewrite it`,
      ],
    },
    {
      name: "setHeaders value not a string",
      config: fixed([], { setHeaders: { "x-a": 1 } }),
      errors: [`${E}rules[0].setHeaders.x-a: expected a string, got 1`],
    },
    {
      name: "setHeaders twice (case-insensitive)",
      config: fixed([], { setHeaders: { "x-a": "1", "X-A": "2" } }),
      errors: [`${E}rules[0].setHeaders.X-A: header set twice (names are case-insensitive)`],
    },
    {
      name: "pathPrefix without /",
      config: fixed([], { pathPrefix: { from: "api", to: "/v2" } }),
      errors: [`${E}rules[0].pathPrefix.from: expected a path starting with "/", got "api"`],
    },
    {
      name: "pathPrefix missing to",
      config: fixed([], { pathPrefix: { from: "/api" } }),
      errors: [`${E}rules[0].pathPrefix.to: required field is missing`],
    },
    {
      name: "empty cluster",
      config: fixed([], { cluster: "" }),
      errors: [`${E}rules[0].cluster: expected a non-empty string, got ""`],
    },
    {
      name: "bad CIDR",
      config: { ...fixed([]), trustedCidrs: ["10.0.0.300/8"] },
      errors: [
        `${E}trustedCidrs[0]: expected an IPv4 or IPv6 CIDR like "10.0.0.0/8" or "fd00::/8", got "10.0.0.300/8"`,
      ],
    },
    {
      name: "CIDR with host bits",
      config: { ...fixed([]), trustedCidrs: ["10.1.2.3/8"] },
      errors: [`${E}trustedCidrs[0]: "10.1.2.3/8" has host bits set; did you mean "10.0.0.0/8"?`],
    },
    {
      name: "IPv6 CIDR with host bits",
      config: { ...fixed([]), trustedCidrs: ["2001:db8::1/32"] },
      errors: [`${E}trustedCidrs[0]: "2001:db8::1/32" has host bits set; did you mean "2001:db8::/32"?`],
    },
    {
      name: "prefix length too long",
      config: { ...fixed([]), trustedCidrs: ["10.0.0.0/33", "::/129"] },
      errors: [
        `${E}trustedCidrs[0]: prefix length 33 is out of range for an IPv4 address in "10.0.0.0/33"`,
        `${E}trustedCidrs[1]: prefix length 129 is out of range for an IPv6 address in "::/129"`,
      ],
    },
    {
      name: "malformed CIDRs",
      config: {
        ...fixed([]),
        trustedCidrs: [
          "010.0.0.0/8",
          "1.2.3/24",
          "1::2::3/64",
          "fe80::1%eth0/64",
          "10.0.0.0/",
          "10.0.0.0/08",
          "12345::/16",
        ],
      },
      errors: [
        "010.0.0.0/8",
        "1.2.3/24",
        "1::2::3/64",
        "fe80::1%eth0/64",
        "10.0.0.0/",
        "10.0.0.0/08",
        "12345::/16",
      ].map(
        (c, i) =>
          `${E}trustedCidrs[${i}]: expected an IPv4 or IPv6 CIDR like "10.0.0.0/8" or "fd00::/8", got "${c}"`,
      ),
    },
    {
      name: "stripHeaders with a pseudo-header",
      config: { ...fixed([]), stripHeaders: [":authority"] },
      errors: [
        `${E}stripHeaders[0]: ":authority" is a pseudo-header; use "authority" or "pathPrefix" to rewrite it`,
      ],
    },
    {
      name: "several problems at once",
      config: {
        reroute: 1,
        rules: [
          { when: [h({ op: "like" })], variant: "" },
          {
            split: {
              key: { source: "cookie", name: "u" },
              salt: "",
              variants: [{ variant: "a", weight: 1 }],
            },
          },
        ],
      },
      errors: [
        `${E}reroute: expected true or false, got 1`,
        `${E}rules[0].when[0].op: expected one of "exact", "prefix", "suffix", "contains", "regex", "present", "absent", got "like"`,
        `${E}rules[0].variant: expected 1-64 characters of A-Z a-z 0-9 _ -, got ""`,
        `${E}rules[1].split.salt: expected a non-empty string, got ""`,
        `${E}rules[1].split.variants: weights must sum to 10000 basis points (100%), got 1`,
      ],
    },
  ])("$name", async ({ config, errors }) => {
    const host = await Host.start({ wasm: WASM, rootId: "routing", pluginConfig: config, trace: false });
    expect(host.started).toBe(errors.length === 0);
    expect(host.logs("critical")).toEqual(errors);
  });

  test("a bad update is refused and the running config stays", async () => {
    const host = await start(oneRule({ source: "header", name: "x-beta", op: "present" }));
    expect(
      host.reconfigure({
        rules: [{ variant: "x", when: [{ source: "header", name: "x-a", op: "regex", value: "(" }] }],
      }),
    ).toBe(false);
    expect(variant(host.exchange({ headers: [["x-beta", "1"]] }))).toBe("hit");
  });
});

describe("robustness: malformed requests never trap", () => {
  const host = Host.start({
    wasm: WASM,
    rootId: "routing",
    trace: false,
    logLevel: "info",
    pluginConfig: {
      variantHeader: "x-route-variant",
      trustedCidrs: ["10.0.0.0/8"],
      rules: [
        {
          when: [
            { source: "cookie", name: "c", op: "regex", value: "^(a|b)*$", multiValue: "all" },
            { source: "query", name: "q", op: "present" },
          ],
          variant: "a",
        },
        {
          when: [
            {
              source: "header",
              name: "x-h",
              op: "contains",
              value: "é",
              ignoreCase: true,
              splitCommas: true,
              multiValue: "any",
            },
          ],
          variant: "b",
        },
        {
          split: {
            key: { source: "clientIp" },
            salt: "s",
            variants: [{ variant: "c", weight: 10000, pathPrefix: { from: "/", to: "/x/" } }],
          },
        },
      ],
    },
  });
  test.each<{ name: string; path?: string; headers?: Headers; source?: string; expected: string }>([
    { name: "cookie header without =", headers: [["cookie", ";;;=;c"]], path: "/?q", expected: "c" },
    {
      name: "cookie value with quotes and spaces",
      headers: [["cookie", 'c="ab"; c = ab']],
      path: "/?q",
      expected: "c",
    },
    { name: "bad percent escapes", headers: [["cookie", "c=ab"]], path: "/?q=%zz%&%%=%4", expected: "a" },
    { name: "query of only separators", path: "/?&&&=&", expected: "c" },
    { name: "non-ASCII header value", headers: [["x-h", "caf\u00e9, na\u00efve"]], expected: "b" },
    { name: "empty path", path: "", expected: "c" },
    { name: "64 KiB header value", headers: [["x-h", "x".repeat(65536)]], expected: "c" },
    { name: "source address missing the port", source: "10.0.0.1", expected: "c" },
    { name: "source address in brackets without closing", source: "[::1", expected: "default" },
  ])("$name", async ({ path, headers, source, expected }) => {
    const h = await host;
    const s = h.exchange({ path, headers, properties: source ? { "source.address": source } : {} });
    expect(h.failed()).toBe(false);
    expect(variant(s)).toBe(expected);
  });
});

describe("reporting", () => {
  test("per-variant counters and the variant response header", async () => {
    const host = await start({
      variantHeader: "X-Variant",
      rules: [
        {
          when: [{ source: "header", name: "x-beta", op: "present" }],
          variant: "beta",
          setHeaders: { "x-route-to": "v2" },
        },
        {
          split: {
            key: { source: "header", name: "x-user" },
            salt: "r",
            variants: [
              { variant: "a", weight: 5000 },
              { variant: "b", weight: 5000 },
            ],
          },
        },
      ],
    });
    const users = ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"];
    for (const u of users) host.exchange({ headers: [["x-user", u]] });
    host.exchange({ headers: [["x-beta", "1"]] });
    host.exchange({});
    const expectedA = users.filter((u) => bucket("r", u) < 5000).length;
    expect(host.metrics()).toMatchObject({
      "routing.variant.beta": 1n,
      "routing.variant.a": BigInt(expectedA),
      "routing.variant.b": BigInt(users.length - expectedA),
      "routing.variant.default": 1n,
    });
    expect(header(host.exchange({ headers: [["x-beta", "1"]] }).downstream.headers, "x-variant")).toBe(
      "beta",
    );
  });

  test("without variantHeader no response header is added", async () => {
    const host = await Host.start({
      wasm: WASM,
      rootId: "routing",
      trace: false,
      pluginConfig: { rules: [{ variant: "v2", setHeaders: { "x-route-to": "v2" } }] },
    });
    const s = host.exchange({}, { headers: { "content-type": "text/plain" } });
    expect(s.downstream.headers).toEqual([
      [":status", "200"],
      ["content-type", "text/plain"],
    ]);
  });
});
