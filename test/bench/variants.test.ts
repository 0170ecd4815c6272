// The benchmark's Envoy config builders and variant lists (pure; discovery reads a temporary tree).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  NEVER_LIMIT,
  Variant,
  allVariants,
  benchPluginConfig,
  comparisonPairs,
  fileAccessLog,
  headerMutationFilter,
  localRateLimitFilter,
  nativeRoutingRoutes,
  nativeVariant,
  noneVariant,
  parseWasmPlugin,
  scenarioRoutes,
  selectVariants,
  variantBootstrap,
} from "../../tools/bench/variants";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const hcmOf = (config: any) => config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;

describe("benchPluginConfig", () => {
  test.each([
    {
      name: "hello is used as is",
      plugin: "hello",
      typical: { header: "x-a", value: "b" },
      config: { header: "x-a", value: "b" },
      override: undefined,
    },
    {
      name: "ratelimit: every rule's limit, burst and period are raised",
      plugin: "ratelimit",
      typical: {
        response: { rateLimitHeaders: "both" },
        rules: [
          { name: "a", key: [{ source: "ip" }], limit: 10, period: "60s" },
          { name: "b", limit: 3, burst: 5, period: "1s", shadow: true },
        ],
      },
      config: {
        response: { rateLimitHeaders: "both" },
        rules: [
          { name: "a", key: [{ source: "ip" }], limit: NEVER_LIMIT, burst: NEVER_LIMIT, period: "1s" },
          { name: "b", limit: NEVER_LIMIT, burst: NEVER_LIMIT, period: "1s", shadow: true },
        ],
      },
      override: `every rule's limit and burst set to ${NEVER_LIMIT} per 1s so no request is refused`,
    },
    {
      name: "accesslog: the HTTP collector sink is replaced by the log sink",
      plugin: "accesslog",
      typical: { sinks: { http: { cluster: "collector" } }, headers: { request: ["user-agent"] } },
      config: { sinks: { log: { enabled: true, level: "info" } }, headers: { request: ["user-agent"] } },
      override: "sinks: the HTTP collector sink is replaced by the log sink (records go to Envoy's log file)",
    },
    {
      name: "accesslog with the log sink only is used as is",
      plugin: "accesslog",
      typical: { sinks: { log: { enabled: true, level: "info" } }, sampling: { rate: 1 } },
      config: { sinks: { log: { enabled: true, level: "info" } }, sampling: { rate: 1 } },
      override: undefined,
    },
  ])("$name", ({ plugin, typical, config, override }) => {
    const before = JSON.stringify(typical);
    const r = benchPluginConfig(plugin, typical);
    expect(r).toEqual(override === undefined ? { config } : { config, override });
    expect(JSON.stringify(typical)).toBe(before); // the typical config is not modified
  });
});

describe("parseWasmPlugin", () => {
  test.each([
    {
      name: "pluginName and pluginConfig",
      yaml: "spec:\n  pluginName: hi\n  pluginConfig:\n    header: x-a\n",
      expected: { rootId: "hi", pluginConfig: { header: "x-a" } },
    },
    {
      name: "no pluginName: the folder name",
      yaml: "spec:\n  pluginConfig: { a: 1 }\n",
      expected: { rootId: "plug", pluginConfig: { a: 1 } },
    },
    {
      name: "no pluginConfig: empty",
      yaml: "spec:\n  pluginName: p\n",
      expected: { rootId: "p", pluginConfig: {} },
    },
  ])("$name", ({ yaml, expected }) => {
    expect(parseWasmPlugin(yaml, "plug")).toEqual(expected);
  });

  test.each([
    { name: "no spec", yaml: "kind: WasmPlugin\n", message: "plug: wasmplugin.yaml has no spec" },
    { name: "a list as pluginConfig", yaml: "spec:\n  pluginConfig: [1]\n", message: "must be a mapping" },
  ])("refuses $name", ({ yaml, message }) => {
    expect(() => parseWasmPlugin(yaml, "plug")).toThrow(message);
  });
});

describe("native filters", () => {
  test("header_mutation sets request headers with the given append actions", () => {
    expect(
      headerMutationFilter([
        { key: "x-a", value: "1" },
        { key: "x-b", value: "%UNIQUE_ID%", action: "ADD_IF_ABSENT" },
      ]),
    ).toEqual({
      name: "envoy.filters.http.header_mutation",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
        mutations: {
          request_mutations: [
            { append: { header: { key: "x-a", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" } },
            { append: { header: { key: "x-b", value: "%UNIQUE_ID%" }, append_action: "ADD_IF_ABSENT" } },
          ],
        },
      },
    });
  });

  test("local_ratelimit: one bucket, enabled and enforced for every request", () => {
    const pct = (k: string) => ({
      runtime_key: k,
      default_value: { numerator: 100, denominator: "HUNDRED" },
    });
    expect(localRateLimitFilter(1000)).toEqual({
      name: "envoy.filters.http.local_ratelimit",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix: "bench_local_ratelimit",
        token_bucket: { max_tokens: 1000, tokens_per_fill: 1000, fill_interval: "1s" },
        filter_enabled: pct("bench_local_ratelimit.enabled"),
        filter_enforced: pct("bench_local_ratelimit.enforced"),
      },
    });
  });

  test("file access log writes JSON lines to the given path", () => {
    const log = fileAccessLog("/tmp/x.log") as {
      typed_config: { path: string; log_format: { json_format: object } };
    };
    expect(log.typed_config.path).toBe("/tmp/x.log");
    expect(Object.keys(log.typed_config.log_format.json_format)).toEqual([
      "time",
      "method",
      "path",
      "protocol",
      "authority",
      "status",
      "flags",
      "bytes_received",
      "bytes_sent",
      "duration_ms",
      "upstream_host",
      "client",
      "user_agent",
      "route",
    ]);
  });

  test.each([
    { name: "hello", family: "hello", filters: 1, routes: false, accessLog: false },
    { name: "b3", family: "b3", filters: 1, routes: false, accessLog: false },
    { name: "routing uses routes only", family: "routing", filters: 0, routes: true, accessLog: false },
    { name: "ratelimit", family: "ratelimit", filters: 1, routes: false, accessLog: false },
    {
      name: "accesslog uses the HCM access log only",
      family: "accesslog",
      filters: 0,
      routes: false,
      accessLog: true,
    },
  ])("native $name", ({ family, filters, routes, accessLog }) => {
    const v = nativeVariant(family, {})!;
    const ctx = { scenario: "direct" as const, tmpDir: "/tmp/t" };
    expect([v.id, v.kind, v.family]).toEqual([`${family}-native`, "native", family]);
    expect(v.filters(ctx)).toHaveLength(filters);
    expect(v.routes !== undefined).toBe(routes);
    expect(v.accessLog !== undefined).toBe(accessLog);
  });

  test("a plugin without a native equivalent has none", () => {
    expect(nativeVariant("geoip", {})).toBeUndefined();
  });

  test("native hello takes the header and value of the typical config", () => {
    const v = nativeVariant("hello", { header: "x-h", value: "v" })!;
    expect(v.filters({ scenario: "direct", tmpDir: "/t" })).toEqual([
      headerMutationFilter([{ key: "x-h", value: "v" }]),
    ]);
  });
});

describe("routes", () => {
  test("direct scenario: every route answers directly", () => {
    for (const r of scenarioRoutes("direct")) expect(r).toHaveProperty("direct_response.status", 200);
    for (const r of nativeRoutingRoutes("direct")) expect(r).toHaveProperty("direct_response.status", 200);
  });

  test.each([
    { name: "cluster_header route first", i: 0, expected: { cluster_header: "x-wasmgate-cluster" } },
    { name: "x-route-to: v2 to httpbin_v2", i: 1, expected: { cluster: "httpbin_v2" } },
    { name: "default to httpbin", i: 2, expected: { cluster: "httpbin" } },
  ])("httpbin scenario: $name", ({ i, expected }) => {
    expect(scenarioRoutes("httpbin")[i]).toHaveProperty("route", expected);
  });

  test("native routing: header, cookie, query, /internal/ rules, then a 10/90 split", () => {
    const routes = nativeRoutingRoutes("httpbin") as Array<{
      match: Record<string, unknown>;
      route: Record<string, unknown>;
    }>;
    expect(routes.map((r) => Object.keys(r.match).sort().join("+"))).toEqual([
      "headers+prefix",
      "headers+prefix",
      "headers+prefix",
      "headers+prefix",
      "prefix+query_parameters",
      "headers+prefix",
      "prefix",
    ]);
    expect(routes[5]!.route).toEqual({ cluster: "httpbin_v2", prefix_rewrite: "/anything/internal/" });
    expect(routes[6]!.route).toEqual({
      weighted_clusters: {
        clusters: [
          { name: "httpbin_v2", weight: 1000 },
          { name: "httpbin", weight: 9000 },
        ],
      },
    });
  });

  test("native routing's cookie regex is anchored on cookie boundaries", () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const regex = (nativeRoutingRoutes("direct")[3] as any).match.headers[0].string_match.safe_regex
      .regex as string;
    const re = new RegExp(`^${regex}$`);
    expect(["canary=always", "a=1; canary=always", "canary=always; b=2"].map((c) => re.test(c))).toEqual([
      true,
      true,
      true,
    ]);
    expect(["xcanary=always", "canary=alwaysx", "canary=never"].map((c) => re.test(c))).toEqual([
      false,
      false,
      false,
    ]);
  });
});

describe("variantBootstrap", () => {
  const wasm: Variant = {
    id: "p",
    kind: "plugin",
    filters: () => [{ name: "p" }],
  };

  test("filters, then the router with dynamic_stats off; no request id generation", () => {
    const hcm = hcmOf(variantBootstrap(wasm, { scenario: "direct", tmpDir: "/t" }));
    expect(hcm.http_filters).toEqual([
      { name: "p" },
      {
        name: "envoy.filters.http.router",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
          dynamic_stats: false,
        },
      },
    ]);
    expect(hcm.generate_request_id).toBe(false);
    expect(hcm.access_log).toBeUndefined();
  });

  test("httpbin scenario: clusters httpbin and httpbin_v2 on the upstream port", () => {
    type Cluster = {
      name: string;
      load_assignment: {
        endpoints: Array<{
          lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }>;
        }>;
      };
    };
    const cfg = variantBootstrap(noneVariant(), {
      scenario: "httpbin",
      upstreamPort: 4321,
      tmpDir: "/t",
    }) as {
      static_resources: { clusters: Cluster[] };
    };
    expect(
      cfg.static_resources.clusters.map(
        (c) =>
          `${c.name}:${c.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value}`,
      ),
    ).toEqual(["httpbin:4321", "httpbin_v2:4321"]);
  });

  test("httpbin scenario without a port is an error", () => {
    expect(() => variantBootstrap(noneVariant(), { scenario: "httpbin", tmpDir: "/t" })).toThrow(
      "upstreamPort",
    );
  });

  test("the native access log goes into the HCM, its file in the scratch directory", () => {
    const v = nativeVariant("accesslog", {})!;
    const hcm = hcmOf(variantBootstrap(v, { scenario: "direct", tmpDir: "/scratch" }));
    expect(hcm.access_log).toEqual([fileAccessLog("/scratch/native-access-direct.log")]);
  });

  test("native routing replaces the route table", () => {
    const v = nativeVariant("routing", {})!;
    const hcm = hcmOf(variantBootstrap(v, { scenario: "direct", tmpDir: "/t" }));
    expect(hcm.route_config.virtual_hosts[0].routes).toEqual(nativeRoutingRoutes("direct"));
  });
});

describe("variant discovery", () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-variants-"));
    const touch = (p: string, text = "") => {
      fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), text);
    };
    touch("build/test/empty.wasm", "x");
    touch("build/hello.wasm", "x");
    touch(
      "filters/hello/wasmplugin.yaml",
      "spec:\n  pluginName: hello\n  pluginConfig: { header: x-h, value: v }\n",
    );
    touch("build/ratelimit.wasm", "x"); // no wasmplugin.yaml: the fallback config
    touch("filters/ratelimit/index.ts");
    touch("filters/geoip/wasmplugin.yaml", "spec: {}\n"); // not built: skipped
    touch("build/other.wasm", "x"); // built, no yaml, no fallback: skipped
    touch("filters/other/index.ts");
    touch("bench/go-hello.wasm", "x");
    touch("bench/go-ratelimit.wasm", "x");
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test("report order: none, empty, then each plugin with its native and Go variants", () => {
    const lines: string[] = [];
    const vs = allVariants({ root, benchBuildDir: path.join(root, "bench") }, (l) => lines.push(l));
    expect(vs.map((v) => `${v.id}:${v.kind}`)).toEqual([
      "none:baseline",
      "empty:sdk",
      "hello:plugin",
      "hello-native:native",
      "hello-go:peer",
      "ratelimit:plugin",
      "ratelimit-native:native",
      "ratelimit-go:peer",
    ]);
    expect(lines).toEqual([
      "[bench] skip geoip: build/geoip.wasm does not exist",
      "[bench] skip other: no filters/other/wasmplugin.yaml and no fallback configuration",
    ]);
  });

  test("plugin notes say where the configuration came from and what was overridden", () => {
    const vs = allVariants({ root, benchBuildDir: path.join(root, "bench") });
    expect(vs.find((v) => v.id === "hello")!.note).toBe("config from wasmplugin.yaml");
    expect(vs.find((v) => v.id === "ratelimit")!.note).toBe(
      "config from the benchmark's fallback (no wasmplugin.yaml yet); " +
        `every rule's limit and burst set to ${NEVER_LIMIT} per 1s so no request is refused`,
    );
  });

  test("the Go hello peer gets the hello plugin's header and value", () => {
    const vs = allVariants({ root, benchBuildDir: path.join(root, "bench") });
    const f = vs.find((v) => v.id === "hello-go")!.filters({ scenario: "direct", tmpDir: "/t" })[0] as {
      typed_config: { config: { configuration: { value: string } } };
    };
    expect(JSON.parse(f.typed_config.config.configuration.value)).toEqual({ header: "x-h", value: "v" });
  });

  test("selectVariants keeps none and the named variants", () => {
    const vs = allVariants({ root, benchBuildDir: path.join(root, "bench") });
    expect(selectVariants(vs, ["hello", "hello-go"]).map((v) => v.id)).toEqual(["none", "hello", "hello-go"]);
    expect(selectVariants(vs, undefined)).toHaveLength(vs.length);
    expect(() => selectVariants(vs, ["helo"])).toThrow("unknown variant(s) helo");
  });

  test("comparison pairs", () => {
    const vs = allVariants({ root, benchBuildDir: path.join(root, "bench") });
    expect(comparisonPairs(vs).map((p) => `${p.a}/${p.b}`)).toEqual([
      "empty/none",
      "hello/none",
      "hello-native/none",
      "hello-go/none",
      "ratelimit/none",
      "ratelimit-native/none",
      "ratelimit-go/none",
      "hello/hello-native",
      "hello/hello-go",
      "hello-go/hello-native",
      "ratelimit/ratelimit-native",
      "ratelimit/ratelimit-go",
      "ratelimit-go/ratelimit-native",
    ]);
  });
});
