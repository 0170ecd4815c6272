/**
 * E2E harness self-test: go-httpbin behind stock Envoy (no Wasm yet), config validation,
 * startup failures, and process cleanup. Never skipped: if Envoy or go-httpbin is missing
 * the tests fail with the `bash tools/setup.sh` hint.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  bootstrap,
  EnvoyInstance,
  EnvoyStartError,
  findEnvoyBinary,
  findHttpbinBinary,
  freePort,
  HttpbinInstance,
  httpbinHeaders,
  isRunning,
  liveProcesses,
  logsDir,
  ProcessExitedError,
  request,
  routerFilter,
  spawnManaged,
  startEnvoy,
  startHttpbin,
  validateEnvoyConfig,
  waitForPort,
  waitUntil,
  WaitTimeoutError,
  wasmHttpFilter,
} from "../../tools/harness";

jest.setTimeout(60_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Deep copy of a bootstrap so a test can break it. */
function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe("prerequisites (run `bash tools/setup.sh` if these fail)", () => {
  test.each([
    ["envoy", findEnvoyBinary],
    ["go-httpbin", findHttpbinBinary],
  ])("%s binary is provisioned", (_name, find) => {
    const bin = find();
    expect(fs.statSync(bin).isFile()).toBe(true);
  });
});

describe("pure helpers", () => {
  test.each<[string, unknown, Record<string, string[]>]>([
    [
      "go-httpbin lists with canonical names",
      { headers: { "X-Foo": ["v1", "v2"], Host: ["example"] } },
      { "x-foo": ["v1", "v2"], host: ["example"] },
    ],
    [
      "Flask httpbin comma-joined strings",
      { headers: { "X-Foo": "v1,v2", Host: "example" } },
      { "x-foo": ["v1", "v2"], host: ["example"] },
    ],
    ["JSON text body", JSON.stringify({ headers: { "X-Probe": ["1"] } }), { "x-probe": ["1"] }],
  ])("httpbinHeaders: %s", (_name, body, expected) => {
    expect(httpbinHeaders(body as string | object)).toEqual(expected);
  });

  test("bootstrap appends exactly one router filter, last", () => {
    const custom = { name: "x", typed_config: {} };
    for (const filters of [[custom], [custom, routerFilter()]]) {
      const cfg = bootstrap({
        adminPort: 1,
        listenerPort: 2,
        clusters: [{ name: "c", port: 3 }],
        httpFilters: filters,
      }) as Json;
      const hcm = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
      expect(hcm.stat_prefix).toBe("ingress_http");
      expect(hcm.http_filters.map((f: Json) => f.name)).toEqual(["x", "envoy.filters.http.router"]);
      expect(hcm.route_config.virtual_hosts[0].routes).toEqual([
        { match: { prefix: "/" }, route: { cluster: "c" } },
      ]);
    }
  });

  test("wasmHttpFilter builds an explicit, absolute-path V8 plugin", () => {
    const f = wasmHttpFilter({
      name: "probe",
      rootId: "probe_root",
      wasmPath: "build/probe.wasm",
      configuration: { a: 1 },
    }) as Json;
    expect(f.typed_config["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
    const c = f.typed_config.config;
    expect(c.failure_policy).toBe("FAIL_CLOSED");
    expect(c.root_id).toBe("probe_root");
    expect(c.vm_config.runtime).toBe("envoy.wasm.runtime.v8");
    expect(path.isAbsolute(c.vm_config.code.local.filename)).toBe(true);
    expect(c.configuration).toEqual({
      "@type": "type.googleapis.com/google.protobuf.StringValue",
      value: '{"a":1}',
    });
  });
});

describe("managed processes", () => {
  test("log file is .run/logs/<name>-<pid>.log and timeouts carry the log tail", async () => {
    const p = await spawnManaged({
      name: "sleeper",
      command: "/bin/sh",
      args: ["-c", "echo hello-from-child; exec sleep 30"],
    });
    try {
      expect(p.logPath).toBe(path.join(logsDir, `sleeper-${p.pid}.log`));
      const err = await p.waitUntil(() => false, 300, "something that never happens").catch((e: Error) => e);
      expect(err).toBeInstanceOf(WaitTimeoutError);
      expect((err as Error).message).toMatch(
        /timed out after 300 ms waiting for something that never happens/,
      );
      expect((err as Error).message).toContain("hello-from-child");
    } finally {
      await p.stop();
    }
    expect(isRunning(p.pid)).toBe(false);
  });

  test("waitUntil fails fast when the child exits", async () => {
    const p = await spawnManaged({
      name: "quitter",
      command: "/bin/sh",
      args: ["-c", "echo bye >&2; exit 3"],
    });
    const started = Date.now();
    const err = await p.waitUntil(() => false, 20_000, "a miracle").catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect((err as ProcessExitedError).status.code).toBe(3);
    expect((err as Error).message).toContain("bye");
  });

  test("stop() escalates to SIGKILL for the whole group when SIGTERM is ignored", async () => {
    const p = await spawnManaged({
      name: "stubborn",
      command: "/bin/sh",
      args: ["-c", "trap '' TERM; sleep 30 & echo $! > /dev/stdout; wait"],
    });
    await p.waitUntil(() => /^\d+$/m.test(p.logs()), 5000, "the grandchild pid");
    const grandchild = Number(p.logs().trim().split("\n")[0]);
    await p.stop(300);
    expect(p.exitStatus?.signal).toBe("SIGKILL");
    expect(isRunning(p.pid)).toBe(false);
    // The grandchild was in the same process group, so it got SIGKILL too (delivery is asynchronous).
    await waitUntil(() => !isRunning(grandchild), 2000, `grandchild ${grandchild} to be gone`);
  });
});

describe("Envoy in front of go-httpbin", () => {
  let httpbin: HttpbinInstance;
  let envoy: EnvoyInstance;
  let listenerPort: number;
  const pids: number[] = [];

  beforeAll(async () => {
    httpbin = await startHttpbin();
    pids.push(httpbin.pid);
    listenerPort = await freePort();
    envoy = await startEnvoy({
      name: "harness",
      config: bootstrap({
        adminPort: 0, // discovered through --admin-address-path
        listenerPort,
        clusters: [{ name: "httpbin", port: httpbin.port }],
        httpFilters: [],
        accessLog: true,
      }),
    });
    pids.push(envoy.pid);
  });

  afterAll(async () => {
    await Promise.all([envoy?.stop(), httpbin?.stop()]);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(liveProcesses().filter((p) => pids.includes(p.pid))).toEqual([]);
  });

  test("admin is up and the listener accepts connections", async () => {
    expect(envoy.adminUrl).toBe(`http://127.0.0.1:${envoy.adminPort}`);
    const ready = await request({ url: `${envoy.adminUrl}/ready` });
    expect([ready.status, ready.body.trim()]).toEqual([200, "LIVE"]);
    await waitForPort(listenerPort);
  });

  const cases: {
    name: string;
    method?: string;
    path: string;
    headers?: Record<string, string | string[]>;
    body?: string;
    status: number;
    check?: (body: string) => void;
  }[] = [
    {
      name: "GET /headers reaches httpbin with x-wasmgate-probe",
      path: "/headers",
      headers: { "x-wasmgate-probe": "1" },
      status: 200,
      check: (body) => {
        const h = httpbinHeaders(body);
        expect(h["x-wasmgate-probe"]).toEqual(["1"]);
        expect(h["x-envoy-expected-rq-timeout-ms"]).toBeDefined(); // proves it went through Envoy
      },
    },
    {
      name: "repeated request headers arrive as a list",
      path: "/headers",
      headers: { "x-multi": ["a", "b"] },
      status: 200,
      check: (body) => expect(httpbinHeaders(body)["x-multi"]).toEqual(["a", "b"]),
    },
    {
      name: "POST body is proxied",
      method: "POST",
      path: "/anything/echo",
      headers: { "content-type": "text/plain" },
      body: "ping through envoy",
      status: 200,
      check: (body) => expect(JSON.parse(body).data).toBe("ping through envoy"),
    },
    { name: "upstream status codes pass through", path: "/status/418", status: 418 },
  ];

  test.each(cases)("$name", async ({ method, path: p, headers, body, status, check }) => {
    const res = await request({ url: `http://127.0.0.1:${listenerPort}${p}`, method, headers, body });
    expect(res.status).toBe(status);
    expect(res.headers["x-envoy-upstream-service-time"]).toBeDefined();
    check?.(res.body);
  });

  test("stats() and stat() read admin counters", async () => {
    const stats = await envoy.stats();
    expect(stats.get("cluster.httpbin.upstream_rq_total")).toBeGreaterThanOrEqual(cases.length);
    expect(stats.get("http.ingress_http.downstream_rq_completed")).toBeGreaterThanOrEqual(cases.length);
    expect(await envoy.stat("cluster.httpbin.upstream_rq_total")).toBe(
      stats.get("cluster.httpbin.upstream_rq_total"),
    );
    expect(await envoy.stat("no.such.stat")).toBeUndefined();
    for (const v of stats.values()) expect(Number.isFinite(v)).toBe(true);
  });

  test("configDump() returns the bootstrap", async () => {
    const dump = (await envoy.configDump()) as { configs: { "@type": string }[] };
    expect(dump.configs.map((c) => c["@type"])).toContain(
      "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
    );
  });

  test("access log lines land in the Envoy log file", async () => {
    await envoy.process.waitUntil(
      () => envoy.logs().includes('"GET /status/418 HTTP/1.1" 418'),
      5000,
      "access log",
    );
  });

  test("several Envoys run side by side", async () => {
    const others = await Promise.all(
      ["side-a", "side-b"].map(async (name) =>
        startEnvoy({
          name,
          config: bootstrap({
            adminPort: await freePort(),
            listenerPort: 0,
            clusters: [{ name: "httpbin", port: httpbin.port }],
            httpFilters: [],
          }),
        }),
      ),
    );
    try {
      for (const e of others) {
        const [listener] = await e.listeners();
        expect(listener!.host).toBe("127.0.0.1");
        const res = await request({ url: `http://127.0.0.1:${listener!.port}/get` });
        expect(res.status).toBe(200);
      }
      expect(new Set(others.map((e) => e.adminPort)).size).toBe(2);
    } finally {
      await Promise.all(others.map((e) => e.stop()));
    }
    for (const e of others) expect(isRunning(e.pid)).toBe(false);
  });
});

describe("config validation and startup errors", () => {
  const good = bootstrap({
    adminPort: 0,
    listenerPort: 0,
    clusters: [{ name: "httpbin", port: 9 }],
    httpFilters: [],
  }) as Json;

  const withUnknownClusterField = clone(good);
  withUnknownClusterField.static_resources.clusters[0].bogus_field = 1;

  const withUnknownRouteCluster = clone(good);
  withUnknownRouteCluster.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster =
    "nope";

  test.each<[string, Json, boolean, RegExp | null]>([
    ["generated bootstrap", good, true, null],
    ["cluster with an unknown field", withUnknownClusterField, false, /no\s+such\s+field:\s+'bogus_field'/],
    ["route to an undefined cluster", withUnknownRouteCluster, false, /unknown\s+cluster\s+'nope'/],
  ])("validateEnvoyConfig: %s", async (_name, config, ok, error) => {
    const res = await validateEnvoyConfig(config);
    if (ok) {
      expect(res).toMatchObject({ ok: true, exitCode: 0 });
    } else {
      expect(res.ok).toBe(false);
      expect(res.output).toMatch(error!);
      expect(res.errorLines.join("\n")).toMatch(error!);
    }
  });

  test("startEnvoy rejects with Envoy's own error line and leaves nothing running", async () => {
    const err = await startEnvoy({ name: "broken", config: withUnknownClusterField }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EnvoyStartError);
    const e = err as EnvoyStartError;
    expect(e.message).toMatch(/\[critical\]\[main\].*error/);
    expect(e.message).toMatch(/no\s+such\s+field:\s+'bogus_field'/);
    expect(e.message).not.toMatch(/^\s+at /m); // Envoy's text, not a JS stack
    expect(e.exitCode).not.toBe(0);
    expect(isRunning(e.pid)).toBe(false);
  });
});
