// The routing plugin in stock Envoy 1.39 in front of two go-httpbin instances: cluster `httpbin` (v1) and
// `httpbin_v2` (v2). Which instance answered is proven twice: by the upstream address Envoy reports
// (`%UPSTREAM_REMOTE_ADDRESS%` in a response header, compared with each httpbin's port) and by the
// request's unique path appearing in that httpbin's own access log only. Bounded: about 480 requests,
// three Envoys, well under 60 s.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Gateway, Json, httpbinHeaders, request, startGateway } from "../../tools/harness";
import { variantOf } from "./reference";

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, "../..");

/** Envoy routes: cluster_header first, then `x-route-to: v2` or `:authority v2.internal` → v2, else v1. */
const ROUTES = [
  {
    name: "by-cluster-header",
    match: { prefix: "/", headers: [{ name: "x-wasmgate-cluster", present_match: true }] },
    route: { cluster_header: "x-wasmgate-cluster" },
  },
  {
    name: "v2-by-header",
    match: { prefix: "/", headers: [{ name: "x-route-to", string_match: { exact: "v2" } }] },
    route: { cluster: "httpbin_v2" },
  },
  {
    name: "v2-by-authority",
    match: { prefix: "/", headers: [{ name: ":authority", string_match: { exact: "v2.internal" } }] },
    route: { cluster: "httpbin_v2" },
  },
  { name: "default", match: { prefix: "/" }, route: { cluster: "httpbin" } },
];

/** Every response names the upstream instance and cluster Envoy used. */
function reportUpstream(config: Json): void {
  const hcm = (config as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config; // eslint-disable-line @typescript-eslint/no-explicit-any
  hcm.route_config.virtual_hosts[0].response_headers_to_add = [
    { header: { key: "x-upstream-host", value: "%UPSTREAM_REMOTE_ADDRESS%" } },
    { header: { key: "x-upstream-cluster", value: "%UPSTREAM_CLUSTER%" } },
  ];
}

const SPLIT_SALT = "e2e-canary";
const SPLIT_WEIGHTS: Array<[string, number]> = [
  ["canary", 1000],
  ["stable", 9000],
];

const RULES = [
  {
    when: [{ source: "header", name: "x-beta", op: "exact", value: "1" }],
    variant: "beta-header",
    setHeaders: { "x-route-to": "v2" },
  },
  {
    when: [{ source: "cookie", name: "canary", op: "exact", value: "always" }],
    variant: "beta-cookie",
    setHeaders: { "x-route-to": "v2" },
  },
  {
    when: [{ source: "query", name: "version", op: "regex", value: "^2(\\.[0-9]+)?$" }],
    variant: "beta-query",
    setHeaders: { "x-route-to": "v2" },
  },
  {
    when: [{ source: "path", op: "prefix", value: "/cluster/" }],
    variant: "by-cluster",
    cluster: "httpbin_v2",
    pathPrefix: { from: "/cluster/", to: "/anything/cluster/" },
  },
  {
    when: [{ source: "header", name: "x-tenant", op: "exact", value: "acme" }],
    variant: "by-authority",
    authority: "v2.internal",
  },
  {
    split: {
      key: { source: "header", name: "x-user-id" },
      salt: SPLIT_SALT,
      variants: [
        { variant: "canary", weight: 1000, setHeaders: { "x-route-to": "v2" } },
        { variant: "stable", weight: 9000 },
      ],
    },
  },
];

async function gateway(configuration: Json): Promise<Gateway> {
  return startGateway({
    upstreams: 2,
    plugins: [{ name: "routing", rootId: "routing", configuration }],
    routes: ROUTES,
    mutate: reportUpstream,
  });
}

/** "v1" or "v2" from the upstream address Envoy reported, or "none". */
function instance(gw: Gateway, upstreamHost: unknown): string {
  if (upstreamHost === `127.0.0.1:${gw.httpbins[0].port}`) return "v1";
  if (upstreamHost === `127.0.0.1:${gw.httpbins[1].port}`) return "v2";
  return "none";
}

let tagCounter = 0;
const tag = (name: string) => `t${++tagCounter}-${name.replace(/[^a-z0-9]+/gi, "-")}`;

async function send(gw: Gateway, p: string, headers: Record<string, string> = {}) {
  const res = await request({ url: `${gw.url}${p}`, headers });
  return { res, served: instance(gw, res.headers["x-upstream-host"]) };
}

describe("routing in Envoy 1.39 (untrusted client)", () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway({ variantHeader: "x-route-variant", trustedCidrs: ["10.0.0.0/8"], rules: RULES });
  });
  afterAll(async () => gw?.stop());

  test.each<{
    name: string;
    path: (t: string) => string;
    headers?: Record<string, string>;
    served: string;
    variant: string;
  }>([
    { name: "no match goes to v1", path: (t) => `/anything/${t}`, served: "v1", variant: "default" },
    {
      name: "matching header goes to v2",
      path: (t) => `/anything/${t}`,
      headers: { "x-beta": "1" },
      served: "v2",
      variant: "beta-header",
    },
    {
      name: "other header value stays on v1",
      path: (t) => `/anything/${t}`,
      headers: { "x-beta": "0" },
      served: "v1",
      variant: "default",
    },
    {
      name: "matching cookie goes to v2",
      path: (t) => `/anything/${t}`,
      headers: { cookie: "a=1; canary=always" },
      served: "v2",
      variant: "beta-cookie",
    },
    {
      name: "other cookie value stays on v1",
      path: (t) => `/anything/${t}`,
      headers: { cookie: "canary=never" },
      served: "v1",
      variant: "default",
    },
    {
      name: "matching query goes to v2",
      path: (t) => `/anything/${t}?version=2.1`,
      served: "v2",
      variant: "beta-query",
    },
    {
      name: "other query value stays on v1",
      path: (t) => `/anything/${t}?version=1.9`,
      served: "v1",
      variant: "default",
    },
    {
      name: "cluster action uses Envoy's cluster_header",
      path: (t) => `/cluster/${t}`,
      served: "v2",
      variant: "by-cluster",
    },
    {
      name: "authority rewrite picks the v2 route",
      path: (t) => `/anything/${t}`,
      headers: { "x-tenant": "acme" },
      served: "v2",
      variant: "by-authority",
    },
  ])("$name", async ({ name, path: p, headers, served, variant }) => {
    const t = tag(name);
    const { res, served: got } = await send(gw, p(t), headers);
    expect(res.status).toBe(200);
    expect(got).toBe(served);
    expect(res.headers["x-route-variant"]).toBe(variant);
    expect(res.headers["x-upstream-cluster"]).toBe(served === "v2" ? "httpbin_v2" : "httpbin");
    // The instance's own access log has the request; the other one's does not.
    const [v1, v2] = gw.httpbins;
    await new Promise((r) => setTimeout(r, 100));
    expect([v1.logs().includes(t), v2.logs().includes(t)]).toEqual([served === "v1", served === "v2"]);
  });

  test("the cluster action rewrote the path prefix on the way", async () => {
    const t = tag("rewrite");
    const { res } = await send(gw, `/cluster/${t}?x=1`);
    expect((res.json() as { url: string }).url).toMatch(new RegExp(`/anything/cluster/${t}\\?x=1$`));
  });

  test.each<{ name: string; headers: Record<string, string> }>([
    { name: "spoofed x-route-to", headers: { "x-route-to": "v2" } },
    { name: "spoofed cluster header", headers: { "x-wasmgate-cluster": "httpbin_v2" } },
  ])("$name from an untrusted client is ignored", async ({ name, headers }) => {
    const before = (await gw.envoy.stat("wasmcustom.routing.stripped")) ?? 0;
    const { res, served } = await send(gw, `/anything/${tag(name)}`, headers);
    expect(served).toBe("v1");
    const seen = httpbinHeaders(res.body);
    expect(seen["x-route-to"]).toBeUndefined();
    expect(seen["x-wasmgate-cluster"]).toBeUndefined();
    expect(await gw.envoy.stat("wasmcustom.routing.stripped")).toBe(before + 1);
  });

  test("10% / 90% split on x-user-id: within tolerance, as predicted, and sticky per user", async () => {
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const servedBy = new Map<string, string>();
    for (const u of users) {
      const { res, served } = await send(gw, "/get", { "x-user-id": u });
      expect(res.status).toBe(200);
      servedBy.set(u, served);
    }
    const onV2 = users.filter((u) => servedBy.get(u) === "v2").length;
    // 10% of 400 is 40; binomial σ = sqrt(400 × 0.1 × 0.9) = 6, tolerance 3σ = 18.
    expect(Math.abs(onV2 - 40)).toBeLessThanOrEqual(18);
    // Each user lands where the documented hash says (the same function the emulator tests check).
    for (const u of users) {
      expect([u, servedBy.get(u)]).toEqual([
        u,
        variantOf(SPLIT_SALT, u, SPLIT_WEIGHTS) === "canary" ? "v2" : "v1",
      ]);
    }
    // Sticky: 20 users (canaries first), three more requests each.
    const sample = [
      ...users.filter((u) => servedBy.get(u) === "v2").slice(0, 10),
      ...users.filter((u) => servedBy.get(u) === "v1").slice(0, 10),
    ];
    for (const u of sample) {
      for (let i = 0; i < 3; i++)
        expect([u, (await send(gw, "/get", { "x-user-id": u })).served]).toEqual([u, servedBy.get(u)]);
    }
    // Per-variant counters in Envoy's /stats (Envoy 1.39 prefixes custom metrics with `wasmcustom.`).
    const canaryRequests = onV2 + sample.filter((u) => servedBy.get(u) === "v2").length * 3;
    expect(await gw.envoy.stat("wasmcustom.routing.variant.canary")).toBe(canaryRequests);
    expect(await gw.envoy.stat("wasmcustom.routing.variant.stable")).toBe(
      users.length + sample.length * 3 - canaryRequests,
    );
  });
});

describe("routing in Envoy 1.39 (trusted client, reroute: false)", () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway({
      variantHeader: "x-route-variant",
      trustedCidrs: ["127.0.0.1/32"],
      reroute: false,
      rules: [
        {
          when: [{ source: "header", name: "x-beta", op: "exact", value: "1" }],
          variant: "beta",
          setHeaders: { "x-route-to": "v2" },
        },
      ],
    });
  });
  afterAll(async () => gw?.stop());

  test("a trusted client's routing header is honoured", async () => {
    const { res, served } = await send(gw, `/anything/${tag("trusted")}`, { "x-route-to": "v2" });
    expect(served).toBe("v2");
    expect(httpbinHeaders(res.body)["x-route-to"]).toEqual(["v2"]);
    expect(await gw.envoy.stat("wasmcustom.routing.trusted_passthrough")).toBe(1);
  });

  // The measured fact behind `reroute` (RATIONALE.md): Envoy 1.39 still clears the route cache itself
  // when an ABI 0.2.1 module changes request headers, so the header the plugin set is routed on even
  // though the plugin never called clear_route_cache.
  test("reroute: false still re-routes on Envoy 1.39 (automatic clearing for ABI 0.2.1)", async () => {
    const { served } = await send(gw, `/anything/${tag("noreroute")}`, { "x-beta": "1" });
    expect(served).toBe("v2");
    expect((await send(gw, `/anything/${tag("control")}`)).served).toBe("v1");
  });
});

describe("the route cache in Envoy 1.39 for an ABI 0.2.1 module (probe)", () => {
  let gw: Gateway;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "route-cache-probe-"));
    const wasmPath = path.join(dir, "probe.wasm");
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        process.execPath,
        [
          path.join(ROOT, "node_modules/assemblyscript/bin/asc.js"),
          "filters/routing/src/route-cache-probe.ts",
          "--config",
          "asconfig.json",
          "--target",
          "release",
          "-o",
          wasmPath,
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`probe build failed:\n${out}`))));
    });
    gw = await startGateway({
      upstreams: 2,
      plugins: [{ name: "route-cache-probe", rootId: "route-cache-probe", wasmPath }],
      routes: ROUTES,
      mutate: reportUpstream,
    });
  });
  afterAll(async () => {
    await gw?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each<{ mode: string; served: string; clear: string }>([
    { mode: "none", served: "v1", clear: "not-called" },
    { mode: "add", served: "v2", clear: "not-called" },
    { mode: "add+clear", served: "v2", clear: "ok" },
    { mode: "clear-only", served: "v1", clear: "ok" },
  ])("mode $mode: served by $served", async ({ mode, served, clear }) => {
    const { res, served: got } = await send(gw, `/anything/${tag(mode)}`, { "x-probe-mode": mode });
    // The route was resolved ("default") before the module changed anything...
    expect(res.headers["x-probe-route-before"]).toBe("default");
    expect(res.headers["x-probe-clear"]).toBe(clear);
    // ...and a header change alone was enough to move the request to v2.
    expect(got).toBe(served);
  });
});
