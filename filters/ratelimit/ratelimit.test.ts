// The rate limiter in the host emulator: the real build/ratelimit.wasm, the fake clock (`host.advance`),
// and one shared-data table for all worker VMs, as in Envoy.
import { Host, HostOptions, HttpStream, RequestSpec, Status } from "../../tools/emulator";
import { filterWasm } from "../../test/support/wasm";

type Json = Record<string, unknown>;

const WASM = filterWasm("ratelimit");
/** Deterministic salt (WASI random_get), so slot numbers are stable from run to run. */
const fixedRandom = (n: number): Uint8Array => new Uint8Array(n).fill(7);

const rule = (over: Json = {}): Json => ({ name: "r", limit: 3, period: "60s", ...over });
const byClient = [{ source: "header", name: "x-client" }];

async function start(config: unknown, opts: Partial<HostOptions> = {}): Promise<Host> {
  const host = await Host.start({
    wasm: WASM,
    rootId: "ratelimit",
    pluginName: "ratelimit",
    pluginConfig: config,
    trace: false,
    random: fixedRandom,
    ...opts,
  });
  expect(host.logs("critical")).toEqual([]);
  expect(host.started).toBe(true);
  return host;
}

function send(host: Host, req: RequestSpec = {}): HttpStream {
  return host.exchange({ path: "/get", ...req }, { status: 200, body: "upstream" });
}

function statuses(host: Host, n: number, req: RequestSpec = {}): number[] {
  return Array.from({ length: n }, () => send(host, req).status ?? 0);
}

/** The rate-limit headers the client got, in order. */
function rlHeaders(s: HttpStream): Array<[string, string]> {
  const names = /^(x-ratelimit-|ratelimit|retry-after$)/;
  return (s.downstream.headers ?? []).filter(([k]) => names.test(k));
}

function upstreamHeader(s: HttpStream, name: string): string | undefined {
  return s.upstream.headers?.find(([k]) => k === name)?.[1];
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * Runs `between` right after the next read of a slot whose key contains `match`, before the reading
 * worker gets the answer: whatever `between` writes lands between that worker's read and its CAS write,
 * which is what another worker thread does in Envoy.
 */
function betweenReadAndWrite(host: Host, match: string, between: () => void): void {
  const store = host.sharedData;
  const read = store.get.bind(store);
  let armed = true;
  store.get = (vmId: string, key: string) => {
    const entry = read(vmId, key);
    if (armed && key.includes(match)) {
      armed = false;
      between();
    }
    return entry;
  };
}

/** Makes every read of a slot whose key contains `match` be followed by a foreign write to it. */
function foreignWriterAfterEveryRead(host: Host, match: string): void {
  const store = host.sharedData;
  const read = store.get.bind(store);
  store.get = (vmId: string, key: string) => {
    const entry = read(vmId, key);
    if (entry && key.includes(match)) store.set(vmId, key, entry.value, 0);
    return entry;
  };
}

/** Results of `proxy_set_shared_data` calls made by worker `vm` since call index `from`. */
function setResults(host: Host, vm: number, from: number): Array<number | void> {
  return host.calls
    .slice(from)
    .filter((c) => c.vm === vm && c.name === "proxy_set_shared_data")
    .map((c) => c.result);
}

describe("token bucket (GCRA), lazily refilled from the fake monotonic clock", () => {
  // A script: "200"/"429" = send one request and expect that status; "+N" = advance the clock N ms.
  test.each<{ name: string; rule: Json; script: string }>([
    {
      name: "a burst of `limit` requests, then refused",
      rule: rule({ limit: 3, period: "60s" }),
      script: "200 200 200 429 429",
    },
    {
      name: "one request comes back every period / limit (20 s), not a millisecond earlier",
      rule: rule({ limit: 3, period: "60s" }),
      script: "200 200 200 429 +19999 429 +1 200 429 +20000 200 429",
    },
    {
      name: "a whole period refills the whole bucket",
      rule: rule({ limit: 3, period: "60s" }),
      script: "200 200 200 429 +60000 200 200 200 429",
    },
    {
      name: "a long idle time never fills beyond the burst",
      rule: rule({ limit: 2, period: "10s" }),
      script: "+3600000 200 200 429",
    },
    {
      name: "burst above the limit: 5 at once, then the 2-per-10s rate",
      rule: rule({ limit: 2, period: "10s", burst: 5 }),
      script: "200 200 200 200 200 429 +5000 200 429 +5000 200 429",
    },
    {
      name: "burst 1 smooths the limit to one request per interval",
      rule: rule({ limit: 10, period: "10s", burst: 1 }),
      script: "200 429 +999 429 +1 200 429",
    },
    {
      name: "refused requests do not consume: steady refusals do not delay the refill",
      rule: rule({ limit: 1, period: "1s" }),
      script: "200 429 +500 429 429 429 +500 200",
    },
    {
      name: "period in days",
      rule: rule({ limit: 2, period: "1d" }),
      script: "200 200 429 +43199999 429 +1 200",
    },
  ])("$name", async ({ rule: r, script }) => {
    const host = await start({ rules: [r] });
    const got: string[] = [];
    for (const step of script.split(" ")) {
      if (step.startsWith("+")) {
        host.advance(Number(step.slice(1)));
        got.push(step);
      } else got.push(String(send(host).status));
    }
    expect(got.join(" ")).toBe(script);
    expect(host.failed()).toBe(false);
  });
});

describe("response headers", () => {
  const limited = (format: string | undefined, extra: Json = {}) => ({
    response: { ...(format ? { rateLimitHeaders: format } : {}), ...extra },
    rules: [rule({ name: "per-client", limit: 3, period: "60s", key: byClient })],
  });

  test.each<{ name: string; config: Json; advanceMs: number; refused: Array<[string, string]> }>([
    {
      name: "default: X-RateLimit-* (Envoy DRAFT_VERSION_03) and Retry-After",
      config: limited(undefined),
      advanceMs: 0,
      refused: [
        ["x-ratelimit-limit", "3"],
        ["x-ratelimit-remaining", "0"],
        ["x-ratelimit-reset", "60"],
        ["retry-after", "20"],
      ],
    },
    {
      name: "IETF RateLimit / RateLimit-Policy",
      config: limited("ietf"),
      advanceMs: 0,
      refused: [
        ["ratelimit-policy", '"per-client";q=3;w=60'],
        ["ratelimit", '"per-client";r=0;t=60'],
        ["retry-after", "20"],
      ],
    },
    {
      name: "both families; times are rounded up to whole seconds",
      config: limited("both"),
      advanceMs: 1500,
      refused: [
        ["x-ratelimit-limit", "3"],
        ["x-ratelimit-remaining", "0"],
        ["x-ratelimit-reset", "59"],
        ["ratelimit-policy", '"per-client";q=3;w=60'],
        ["ratelimit", '"per-client";r=0;t=59'],
        ["retry-after", "19"],
      ],
    },
    {
      name: "none, and no Retry-After",
      config: limited("none", { retryAfter: false }),
      advanceMs: 0,
      refused: [],
    },
  ])("$name", async ({ config, advanceMs, refused }) => {
    const host = await start(config);
    const req = { headers: { "x-client": "a" } };
    expect(statuses(host, 3, req)).toEqual([200, 200, 200]);
    host.advance(advanceMs);
    const s = send(host, req);
    expect([s.status, text(s.downstream.body), s.upstream.headers]).toEqual([
      429,
      "rate limit exceeded\n",
      null,
    ]);
    expect(s.localResponse?.details).toBe("ratelimit_limited");
    expect(rlHeaders(s)).toEqual(refused);
  });

  test("custom status and body", async () => {
    const host = await start({ response: { status: 503, body: "slow down" }, rules: [rule({ limit: 1 })] });
    send(host);
    const s = send(host);
    expect([s.status, text(s.downstream.body)]).toEqual([503, "slow down"]);
  });

  test.each<{ name: string; format: string; onAllowed: boolean; expected: Array<Array<[string, string]>> }>([
    {
      name: "onAllowed: each allowed response carries the remaining quota",
      format: "both",
      onAllowed: true,
      expected: [
        [
          ["x-ratelimit-limit", "3"],
          ["x-ratelimit-remaining", "2"],
          ["x-ratelimit-reset", "20"],
          ["ratelimit-policy", '"per-client";q=3;w=60'],
          ["ratelimit", '"per-client";r=2;t=20'],
        ],
        [
          ["x-ratelimit-limit", "3"],
          ["x-ratelimit-remaining", "1"],
          ["x-ratelimit-reset", "40"],
          ["ratelimit-policy", '"per-client";q=3;w=60'],
          ["ratelimit", '"per-client";r=1;t=40'],
        ],
      ],
    },
    {
      name: "default: allowed responses are left alone",
      format: "both",
      onAllowed: false,
      expected: [[], []],
    },
  ])("$name", async ({ format, onAllowed, expected }) => {
    const host = await start({
      response: { rateLimitHeaders: format, onAllowed },
      rules: [rule({ name: "per-client", limit: 3, key: byClient })],
    });
    const got = [1, 2].map(() => {
      const s = send(host, { headers: { "x-client": "a" } });
      expect([s.status, text(s.downstream.body)]).toEqual([200, "upstream"]);
      return rlHeaders(s);
    });
    expect(got).toEqual(expected);
  });

  test("onAllowed with several rules reports the one with the least left", async () => {
    const host = await start({
      response: { onAllowed: true },
      rules: [rule({ name: "wide", limit: 100 }), rule({ name: "narrow", limit: 2, period: "10s" })],
    });
    expect(rlHeaders(send(host))).toEqual([
      ["x-ratelimit-limit", "2"],
      ["x-ratelimit-remaining", "1"],
      ["x-ratelimit-reset", "5"],
    ]);
  });
});

describe("key sources", () => {
  // With a limit of 1: `a` is allowed, `sameAsA` is the same key (refused), `other` is a different key.
  test.each<{ name: string; key: Json[]; a: RequestSpec; sameAsA: RequestSpec; other: RequestSpec }>([
    {
      name: "ip: source.address without the port",
      key: [{ source: "ip" }],
      a: { properties: { "source.address": "10.0.0.1:1111" } },
      sameAsA: { properties: { "source.address": "10.0.0.1:2222" } },
      other: { properties: { "source.address": "10.0.0.2:1111" } },
    },
    {
      name: "ip: IPv6 source.address",
      key: [{ source: "ip" }],
      a: { properties: { "source.address": "[2001:db8::1]:443" } },
      sameAsA: { properties: { "source.address": "[2001:db8::1]:80" } },
      other: { properties: { "source.address": "[2001:db8::2]:443" } },
    },
    {
      name: "ip: X-Forwarded-For with 1 trusted hop (rightmost entry; the peer is ignored)",
      key: [{ source: "ip", xffTrustedHops: 1 }],
      a: { headers: { "x-forwarded-for": "1.1.1.1" }, properties: { "source.address": "10.0.0.1:1" } },
      sameAsA: {
        headers: { "x-forwarded-for": "9.9.9.9, 1.1.1.1" },
        properties: { "source.address": "10.0.0.2:1" },
      },
      other: { headers: { "x-forwarded-for": "1.1.1.1, 2.2.2.2" } },
    },
    {
      name: "ip: X-Forwarded-For with 2 trusted hops, across repeated headers",
      key: [{ source: "ip", xffTrustedHops: 2 }],
      a: { headers: { "x-forwarded-for": "1.1.1.1, 10.0.0.9" } },
      sameAsA: {
        headers: [
          ["x-forwarded-for", "6.6.6.6, 1.1.1.1:5555"],
          ["x-forwarded-for", "10.0.0.8"],
        ],
      },
      other: { headers: { "x-forwarded-for": "1.1.1.1, 2.2.2.2, 10.0.0.9" } },
    },
    {
      name: "header",
      key: [{ source: "header", name: "X-Api-Key" }],
      a: { headers: { "x-api-key": "k1" }, path: "/a" },
      sameAsA: { headers: { "x-api-key": "k1" }, path: "/b" },
      other: { headers: { "x-api-key": "k2" }, path: "/a" },
    },
    {
      name: "query parameter (percent-decoded)",
      key: [{ source: "query", name: "user" }],
      a: { path: "/a?user=alice" },
      sameAsA: { path: "/b?x=1&user=al%69ce" },
      other: { path: "/a?user=bob" },
    },
    {
      name: "cookie",
      key: [{ source: "cookie", name: "session" }],
      a: { headers: { cookie: "theme=dark; session=abc" } },
      sameAsA: { headers: { cookie: "session=abc" } },
      other: { headers: { cookie: "session=abd" } },
    },
    {
      name: "path (query string ignored)",
      key: [{ source: "path" }],
      a: { path: "/a?x=1" },
      sameAsA: { path: "/a?x=2" },
      other: { path: "/b" },
    },
    {
      name: "method",
      key: [{ source: "method" }],
      a: { method: "GET" },
      sameAsA: { method: "GET", path: "/other" },
      other: { method: "POST" },
    },
    {
      name: "host (port and case ignored)",
      key: [{ source: "host" }],
      a: { authority: "api.example.com" },
      sameAsA: { authority: "API.example.com:8080" },
      other: { authority: "www.example.com" },
    },
    {
      name: "route name",
      key: [{ source: "route" }],
      a: { properties: { "xds.route_name": "r1" } },
      sameAsA: { properties: { "xds.route_name": "r1" }, path: "/x" },
      other: { properties: { "xds.route_name": "r2" } },
    },
    {
      name: "combination: ip and header",
      key: [{ source: "ip" }, { source: "header", name: "x-api-key" }],
      a: { headers: { "x-api-key": "k1" }, properties: { "source.address": "10.0.0.1:1" } },
      sameAsA: { headers: { "x-api-key": "k1" }, properties: { "source.address": "10.0.0.1:2" } },
      other: { headers: { "x-api-key": "k1" }, properties: { "source.address": "10.0.0.2:1" } },
    },
    {
      name: "combination: parts cannot run into each other (`a|bc` differs from `ab|c`)",
      key: [
        { source: "header", name: "x-1" },
        { source: "header", name: "x-2" },
      ],
      a: { headers: { "x-1": "a", "x-2": "bc" } },
      sameAsA: { headers: { "x-1": "a", "x-2": "bc" } },
      other: { headers: { "x-1": "ab", "x-2": "c" } },
    },
  ])("$name", async ({ key, a, sameAsA, other }) => {
    const host = await start({ rules: [rule({ limit: 1, key })] });
    expect([send(host, a).status, send(host, sameAsA).status, send(host, other).status]).toEqual([
      200, 429, 200,
    ]);
    expect([host.metric("ratelimit.r.allowed"), host.metric("ratelimit.r.limited")]).toEqual([2n, 1n]);
  });
});

describe("requests without a key", () => {
  const noKey: RequestSpec = {};
  const keyed: RequestSpec = { headers: { "x-client": "a" } };

  test.each<{
    name: string;
    onMissingKey?: string;
    shadow?: boolean;
    expected: number[];
    upstreamShadow?: string;
  }>([
    { name: "skip (default): the rule does not apply", expected: [200, 200, 200, 200, 429] },
    {
      name: "shared: all key-less requests share one bucket",
      onMissingKey: "shared",
      expected: [200, 429, 429, 200, 429],
    },
    {
      name: "reject: 400 without charging anything",
      onMissingKey: "reject",
      expected: [400, 400, 400, 200, 429],
    },
    {
      name: "reject in shadow mode: passes, tagged upstream",
      onMissingKey: "reject",
      shadow: true,
      expected: [200, 200, 200, 200, 200],
      upstreamShadow: "r",
    },
  ])("$name", async ({ onMissingKey, shadow, expected, upstreamShadow }) => {
    const host = await start({
      rules: [
        rule({
          limit: 1,
          key: byClient,
          ...(onMissingKey ? { onMissingKey } : {}),
          ...(shadow ? { shadow } : {}),
        }),
      ],
    });
    const streams = [noKey, noKey, noKey, keyed, keyed].map((r) => send(host, r));
    expect(streams.map((s) => s.status)).toEqual(expected);
    expect(host.metric("ratelimit.r.missing_key")).toBe(3n);
    if (expected[0] === 400) {
      expect([text(streams[0].downstream.body), streams[0].localResponse?.details]).toEqual([
        "rate limit key missing\n",
        "ratelimit_key_missing",
      ]);
    }
    expect(upstreamHeader(streams[0], "x-ratelimit-shadow")).toBe(upstreamShadow);
  });

  test("response.missingKeyStatus", async () => {
    const host = await start({
      response: { missingKeyStatus: 401 },
      rules: [rule({ key: byClient, onMissingKey: "reject" })],
    });
    expect(send(host).status).toBe(401);
  });

  test.each<{ name: string; req: RequestSpec }>([
    { name: "empty header value", req: { headers: { "x-forwarded-for": "" } } },
    { name: "fewer XFF entries than trusted hops", req: { headers: { "x-forwarded-for": "1.1.1.1" } } },
    {
      name: "XFF entry that is not an address",
      req: { headers: { "x-forwarded-for": "unknown, 10.0.0.1" } },
    },
    { name: "no XFF at all", req: {} },
  ])("ip from XFF is missing on $name", async ({ req }) => {
    const host = await start({
      rules: [rule({ limit: 1, key: [{ source: "ip", xffTrustedHops: 2 }], onMissingKey: "reject" })],
    });
    expect(send(host, req).status).toBe(400);
  });
});

describe("several rules", () => {
  test("the most restrictive rule decides, and its headers are sent", async () => {
    const host = await start({
      rules: [
        rule({ name: "per-client", limit: 5, key: byClient }),
        rule({ name: "global", limit: 2, period: "10s" }),
      ],
    });
    const req = { headers: { "x-client": "a" } };
    expect(statuses(host, 2, req)).toEqual([200, 200]);
    const s = send(host, req);
    expect(s.status).toBe(429);
    expect(rlHeaders(s)).toEqual([
      ["x-ratelimit-limit", "2"],
      ["x-ratelimit-remaining", "0"],
      ["x-ratelimit-reset", "10"],
      ["retry-after", "5"],
    ]);
    expect(host.metrics()).toEqual({
      "ratelimit.per-client.allowed": 2n,
      "ratelimit.global.allowed": 2n,
      "ratelimit.global.limited": 1n,
    });
  });

  test("a refused request charges no bucket: other rules keep their quota", async () => {
    const host = await start({
      rules: [rule({ name: "per-client", limit: 1, key: byClient }), rule({ name: "global", limit: 3 })],
    });
    const client = (c: string) => ({ headers: { "x-client": c } });
    // x uses its only request, then is refused three times: "global" is charged once, not four times.
    expect(["x", "x", "x", "x", "y", "z", "w"].map((c) => send(host, client(c)).status)).toEqual([
      200, 429, 429, 429, 200, 200, 429,
    ]);
    expect(host.metric("ratelimit.per-client.limited")).toBe(3n);
    expect(host.metric("ratelimit.global.limited")).toBe(1n);
  });

  test.each<{ name: string; match: Json; req: RequestSpec; applies: boolean }>([
    { name: "path prefix matches", match: { pathPrefix: "/api/" }, req: { path: "/api/x" }, applies: true },
    {
      name: "path prefix does not match",
      match: { pathPrefix: "/api/" },
      req: { path: "/web" },
      applies: false,
    },
    { name: "method matches", match: { methods: ["post"] }, req: { method: "POST" }, applies: true },
    { name: "method does not match", match: { methods: ["POST"] }, req: { method: "GET" }, applies: false },
    {
      name: "host wildcard matches",
      match: { hosts: ["*.example.com"] },
      req: { authority: "a.example.com:80" },
      applies: true,
    },
    {
      name: "host does not match",
      match: { hosts: ["api.example.com"] },
      req: { authority: "x.org" },
      applies: false,
    },
    {
      name: "route matches",
      match: { routes: ["r1"] },
      req: { properties: { "xds.route_name": "r1" } },
      applies: true,
    },
    {
      name: "route does not match",
      match: { routes: ["r1"] },
      req: { properties: { "xds.route_name": "r2" } },
      applies: false,
    },
  ])("match: $name", async ({ match, req, applies }) => {
    const host = await start({ rules: [rule({ limit: 1, match })] });
    expect(statuses(host, 2, req)).toEqual(applies ? [200, 429] : [200, 200]);
  });

  test("a bucket that fills between decision and write refuses the request and refunds the others", async () => {
    const host = await start(
      { rules: [rule({ name: "global", limit: 5 }), rule({ name: "per-client", limit: 1, key: byClient })] },
      { workers: 2 },
    );
    let other: HttpStream | undefined;
    // Worker 0 reads "per-client"; before it writes, worker 1 serves the same client.
    betweenReadAndWrite(
      host,
      "/per-client/",
      () => (other = send(host, { worker: 1, headers: { "x-client": "a" } })),
    );
    const mine = send(host, { worker: 0, headers: { "x-client": "a" } });
    expect([other?.status, mine.status]).toEqual([200, 429]);
    // "global" was charged by worker 1 only (worker 0's charge was given back): 4 of 5 remain.
    const rest = ["b", "c", "d", "e", "f"].map((c) => send(host, { headers: { "x-client": c } }).status);
    expect(rest).toEqual([200, 200, 200, 200, 429]);
    expect(host.metrics()).toEqual({
      "ratelimit.global.allowed": 5n,
      "ratelimit.global.limited": 1n,
      "ratelimit.global.cas_conflicts": 1n,
      "ratelimit.per-client.allowed": 5n,
      "ratelimit.per-client.limited": 1n,
      "ratelimit.per-client.cas_conflicts": 1n,
    });
  });
});

describe("shadow mode", () => {
  test.each<{ name: string; config: Json; expected: number[]; tags: Array<string | undefined> }>([
    {
      name: "global shadow: never refuses, tags the upstream request, counts",
      config: { shadow: true, response: { onAllowed: true }, rules: [rule({ limit: 2 })] },
      expected: [200, 200, 200, 200],
      tags: [undefined, undefined, "r", "r"],
    },
    {
      name: "a shadow rule next to an enforcing one",
      config: {
        rules: [rule({ name: "enforced", limit: 3 }), rule({ name: "candidate", limit: 1, shadow: true })],
      },
      expected: [200, 200, 200, 429],
      tags: [undefined, "candidate", "candidate", undefined],
    },
    {
      name: "custom shadow header; a client-sent one is replaced",
      config: { shadow: true, shadowHeader: "X-Would-Limit", rules: [rule({ limit: 1 })] },
      expected: [200, 200],
      tags: [undefined, "r"],
    },
  ])("$name", async ({ config, expected, tags }) => {
    const host = await start(config);
    const shadowHeader = ((config.shadowHeader as string | undefined) ?? "x-ratelimit-shadow").toLowerCase();
    const streams = expected.map(() => send(host, { headers: { [shadowHeader]: "spoofed" } }));
    expect(streams.map((s) => s.status)).toEqual(expected);
    expect(streams.map((s) => upstreamHeader(s, shadowHeader))).toEqual(tags);
    // Shadow rules never put rate-limit headers on responses.
    expect(streams.filter((s) => s.status === 200).flatMap(rlHeaders)).toEqual([]);
  });

  test("shadow counters", async () => {
    const host = await start({ shadow: true, rules: [rule({ limit: 2 })] });
    statuses(host, 5);
    expect(host.metrics()).toEqual({ "ratelimit.r.allowed": 2n, "ratelimit.r.shadow_limited": 3n });
  });
});

describe("reconfiguration keeps bucket levels", () => {
  const before = { rules: [rule({ name: "per-client", limit: 3, key: byClient })] };
  const req = { headers: { "x-client": "a" } };

  test.each<{ name: string; after: Json; used: number; expected: number[] }>([
    {
      name: "unchanged rule: still empty (Higress resets to full, a bypass)",
      after: before,
      used: 3,
      expected: [429],
    },
    {
      name: "only the match block and response changed: kept",
      after: {
        response: { status: 503 },
        rules: [rule({ name: "per-client", limit: 3, key: byClient, match: { pathPrefix: "/" } })],
      },
      used: 2,
      expected: [200, 503],
    },
    {
      name: "limit raised 3 → 6: the 3 used requests stay used",
      after: { rules: [rule({ name: "per-client", limit: 6, key: byClient })] },
      used: 3,
      expected: [200, 200, 200, 429],
    },
    {
      name: "limit lowered 6 → 2 with 1 used: the bucket never holds more than the new burst",
      after: { rules: [rule({ name: "per-client", limit: 2, key: byClient })] },
      used: 1,
      expected: [200, 429],
    },
    {
      // Same value "a" under the new header: same hash, same slot, same owner; only the key tag differs.
      name: "key definition changed: fresh buckets",
      after: { rules: [rule({ name: "per-client", limit: 3, key: [{ source: "header", name: "x-user" }] })] },
      used: 3,
      expected: [200, 200, 200, 429],
    },
    {
      name: "rule renamed: a different rule, fresh buckets",
      after: { rules: [rule({ name: "per-client-v2", limit: 3, key: byClient })] },
      used: 3,
      expected: [200, 200, 200, 429],
    },
  ])("$name", async ({ after, used, expected }) => {
    const host = await start(before);
    expect(statuses(host, used, req)).toEqual(Array(used).fill(200));
    expect(host.reconfigure(after)).toBe(true);
    expect(statuses(host, expected.length, { headers: { "x-client": "a", "x-user": "a" } })).toEqual(
      expected,
    );
  });

  test("a refused reconfiguration keeps the old rules and their buckets", async () => {
    const host = await start(before);
    statuses(host, 2, req);
    expect(host.reconfigure({ rules: [rule({ name: "per-client", limit: 0 })] })).toBe(false);
    expect(host.logs("critical")).toEqual([
      "ratelimit: invalid configuration: rules[0].limit: expected an integer between 1 and 1000000000, got 0",
    ]);
    expect(statuses(host, 2, req)).toEqual([200, 429]);
  });
});

describe("the slot table bounds memory", () => {
  test("100,000 distinct keys: shared data and guest memory stay flat", async () => {
    const slots = 1024;
    const host = await start({ rules: [rule({ name: "per-client", limit: 100, key: byClient, slots })] });
    // 1,000 requests per second spread over 1,024 slots: shared slots refill faster than they fill.
    const run = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const s = send(host, { headers: { "x-client": `client-${i}` } });
        if (s.status !== 200) throw new Error(`client-${i} got ${s.status}`);
        host.advance(1);
      }
    };
    run(0, 10_000);
    const memoryAt10k = host.memoryBytes();
    const keysAt10k = host.sharedData.keys("").length;
    run(10_000, 100_000);
    // One key per slot plus the salt; every key and value size is known.
    const prefix = "ratelimit/ratelimit/per-client/";
    let expectedBytes = "ratelimit/ratelimit/salt".length + 8;
    for (let i = 0; i < slots; i++) expectedBytes += prefix.length + String(i).length + 32;
    expect({
      keysAt10k,
      keys: host.sharedData.keys("").length,
      bytes: host.sharedData.bytes(""),
      memory: host.memoryBytes(),
    }).toEqual({ keysAt10k: slots + 1, keys: slots + 1, bytes: expectedBytes, memory: memoryAt10k });
    expect(host.metric("ratelimit.per-client.allowed")).toBe(100_000n);
  }, 60_000);

  test("a collision with an active key shares its bucket; a full bucket is taken over exactly", async () => {
    // One slot: every key lands in it.
    const host = await start({
      rules: [rule({ name: "c", limit: 2, period: "10s", key: byClient, slots: 1 })],
    });
    const a = { headers: { "x-client": "a" } };
    const b = { headers: { "x-client": "b" } };
    expect(send(host, a).status).toBe(200); // a owns the slot, 1 of 2 used
    expect(send(host, b).status).toBe(200); // a is active: b shares a's bucket (2 of 2)
    expect(send(host, a).status).toBe(429); // so a is limited earlier, never later
    expect(host.metric("ratelimit.c.collisions")).toBe(1n);
    host.advance(10_000); // the bucket is full again: whoever comes next owns a fresh bucket
    expect(statuses(host, 3, b)).toEqual([200, 200, 429]);
    expect(host.metric("ratelimit.c.collisions")).toBe(1n);
  });
});

describe("two worker VMs sharing one vm_id", () => {
  test("interleaved requests from both workers: exactly `limit` allowed in total", async () => {
    const host = await start({ rules: [rule({ limit: 4, key: byClient })] }, { workers: 2, vmId: "shared" });
    const got = Array.from({ length: 12 }, (_, i) => [
      i % 2,
      send(host, { worker: i % 2, headers: { "x-client": "a" } }).status,
    ]);
    expect(got.filter(([, s]) => s === 200)).toEqual([
      [0, 200],
      [1, 200],
      [0, 200],
      [1, 200],
    ]);
    expect(host.sharedData.keys("shared").length).toBe(2); // salt + one slot, in the vm_id's table
  });

  test.each<{ name: string; limit: number; before: number }>([
    {
      name: "slot not created yet: creation is a CAS too (cas = u32.MAX), not a blind write",
      limit: 1,
      before: 0,
    },
    { name: "existing slot: the stale stamp is refused and the re-read decides", limit: 2, before: 1 },
  ])("another worker's request between read and write: $name", async ({ limit, before }) => {
    const host = await start({ rules: [rule({ limit, key: byClient })] }, { workers: 2, trace: true });
    const req = { headers: { "x-client": "a" } };
    for (let i = 0; i < before; i++) expect(send(host, { ...req, worker: 0 }).status).toBe(200);
    let other: HttpStream | undefined;
    betweenReadAndWrite(host, "/r/", () => (other = send(host, { ...req, worker: 1 })));
    const from = host.calls.length;
    const mine = send(host, { ...req, worker: 0 });
    // Worker 1 took the last request; worker 0's write was refused once, its re-read said "full".
    expect([other?.status, mine.status]).toEqual([200, 429]);
    expect(setResults(host, 0, from)).toEqual([Status.CasMismatch]);
    expect(host.metric("ratelimit.r.allowed")).toBe(BigInt(limit));
    expect(host.metric("ratelimit.r.cas_conflicts")).toBe(1n);
  });

  test.each<{ name: string; onExhausted: string; status: number; metric: string }>([
    {
      name: "allowed and counted (default)",
      onExhausted: "allow",
      status: 200,
      metric: "ratelimit.r.contention_allowed",
    },
    {
      name: "refused when configured",
      onExhausted: "deny",
      status: 429,
      metric: "ratelimit.r.contention_denied",
    },
  ])("CAS retries exhausted: $name", async ({ onExhausted, status, metric }) => {
    const host = await start(
      { contention: { maxRetries: 3, onExhausted }, rules: [rule({ limit: 5, key: byClient })] },
      { workers: 2, trace: true },
    );
    const req = { headers: { "x-client": "a" } };
    expect(send(host, req).status).toBe(200); // creates the slot
    foreignWriterAfterEveryRead(host, "/r/");
    const from = host.calls.length;
    const s = send(host, { ...req, worker: 0 });
    expect(s.status).toBe(status);
    expect(setResults(host, 0, from)).toEqual(Array(4).fill(Status.CasMismatch)); // 1 try + 3 retries
    expect([host.metric(metric), host.metric("ratelimit.r.cas_conflicts")]).toEqual([1n, 4n]);
    if (status === 429) expect(rlHeaders(s)).toEqual([["retry-after", "1"]]);
    expect(host.logs("warn")).toEqual(["ratelimit: rule r: gave up after 4 CAS conflicts"]);
  });
});

describe("bad configuration is refused, naming the field", () => {
  const r = (over: Json) => ({ rules: [rule(over)] });
  test.each<{ name: string; config: unknown; errors: string[] }>([
    {
      name: "invalid JSON",
      config: '{"rules": [',
      errors: ["configuration: invalid JSON: unexpected end of input at line 1, column 12"],
    },
    { name: "not an object", config: "[1]", errors: ["configuration: expected a JSON object, got an array"] },
    { name: "empty configuration", config: "", errors: ["rules: expected at least 1 item(s), got none"] },
    {
      name: "rules not an array",
      config: { rules: {} },
      errors: ["rules: expected an array of objects, got an object"],
    },
    { name: "rule not an object", config: { rules: [5] }, errors: ["rules[0]: expected an object, got 5"] },
    {
      name: "rule without name",
      config: { rules: [{ limit: 1, period: "1s" }] },
      errors: ["rules[0].name: required field is missing"],
    },
    {
      name: "rule name with a space",
      config: r({ name: "per ip" }),
      errors: ['rules[0].name: expected 1-64 characters of A-Z a-z 0-9 _ -, got "per ip"'],
    },
    {
      name: "duplicate rule name",
      config: { rules: [rule(), rule()] },
      errors: ['rules[1].name: duplicate rule name "r" (also rules[0])'],
    },
    {
      name: "limit not a number",
      config: r({ limit: "ten" }),
      errors: ['rules[0].limit: expected an integer between 1 and 1000000000, got "ten"'],
    },
    {
      name: "limit 0",
      config: r({ limit: 0 }),
      errors: ["rules[0].limit: expected an integer between 1 and 1000000000, got 0"],
    },
    {
      name: "limit fractional",
      config: r({ limit: 1.5 }),
      errors: ["rules[0].limit: expected an integer between 1 and 1000000000, got 1.5"],
    },
    {
      name: "period missing",
      config: { rules: [{ name: "r", limit: 1 }] },
      errors: ["rules[0].period: required field is missing"],
    },
    {
      name: "period not whole seconds",
      config: r({ period: "1500ms" }),
      errors: ["rules[0].period: expected a whole number of seconds, got 1500ms"],
    },
    {
      name: "period not a duration",
      config: r({ period: "fortnight" }),
      errors: [
        'rules[0].period: expected a duration like "500ms", "1s", "1m" between 1s and 365d, got "fortnight"',
      ],
    },
    {
      name: "burst 0",
      config: r({ burst: 0 }),
      errors: ["rules[0].burst: expected an integer between 1 and 1000000000, got 0"],
    },
    {
      name: "burst too deep for the clock",
      config: r({ limit: 1, period: "365d", burst: 1000000000 }),
      errors: ["rules[0].burst: burst × period / limit must stay under 126 years, got 1000000000"],
    },
    {
      name: "unknown key source",
      config: r({ key: [{ source: "ip_address" }] }),
      errors: [
        'rules[0].key[0].source: expected one of "ip", "header", "query", "cookie", "path", "method", "host", "route", got "ip_address"',
      ],
    },
    {
      name: "key source missing",
      config: r({ key: [{ name: "x" }] }),
      errors: ["rules[0].key[0].source: required field is missing"],
    },
    {
      name: "header source without name",
      config: r({ key: [{ source: "header" }] }),
      errors: ["rules[0].key[0].name: required field is missing"],
    },
    {
      name: "header name with a space",
      config: r({ key: [{ source: "header", name: "x api" }] }),
      errors: ['rules[0].key[0].name: expected an HTTP header name, got "x api"'],
    },
    {
      name: "name on a source without one",
      config: r({ key: [{ source: "path", name: "x" }] }),
      errors: ['rules[0].key[0].name: only valid with source "header", "query" or "cookie"'],
    },
    {
      name: "xffTrustedHops on a header",
      config: r({ key: [{ source: "header", name: "x", xffTrustedHops: 1 }] }),
      errors: ['rules[0].key[0].xffTrustedHops: only valid with source "ip"'],
    },
    {
      name: "xffTrustedHops out of range",
      config: r({ key: [{ source: "ip", xffTrustedHops: 17 }] }),
      errors: ["rules[0].key[0].xffTrustedHops: expected an integer between 0 and 16, got 17"],
    },
    {
      name: "key not an array",
      config: r({ key: { source: "ip" } }),
      errors: ["rules[0].key: expected an array of objects, got an object"],
    },
    {
      name: "slots 0",
      config: r({ key: [{ source: "ip" }], slots: 0 }),
      errors: ["rules[0].slots: expected an integer between 1 and 1048576, got 0"],
    },
    {
      name: "global slots too many",
      config: { slots: 2000000, rules: [rule()] },
      errors: ["slots: expected an integer between 1 and 1048576, got 2000000"],
    },
    {
      name: "slots without a key",
      config: r({ slots: 10 }),
      errors: ['rules[0].slots: only valid with a "key"'],
    },
    {
      name: "unknown onMissingKey",
      config: r({ key: [{ source: "ip" }], onMissingKey: "drop" }),
      errors: ['rules[0].onMissingKey: expected one of "skip", "shared", "reject", got "drop"'],
    },
    {
      name: "response.status not an error",
      config: { response: { status: 200 }, rules: [rule()] },
      errors: ["response.status: expected an integer between 400 and 599, got 200"],
    },
    {
      name: "unknown header format",
      config: { response: { rateLimitHeaders: "x-ratelimit" }, rules: [rule()] },
      errors: [
        'response.rateLimitHeaders: expected one of "draft03", "ietf", "both", "none", got "x-ratelimit"',
      ],
    },
    {
      name: "contention out of range",
      config: { contention: { maxRetries: -1, onExhausted: "panic" }, rules: [rule()] },
      errors: [
        "contention.maxRetries: expected an integer between 0 and 100, got -1",
        'contention.onExhausted: expected one of "allow", "deny", got "panic"',
      ],
    },
    {
      name: "unknown top-level field",
      config: { limits: [], rules: [rule()] },
      errors: ["limits: unknown field"],
    },
    { name: "misspelt rule field", config: r({ limt: 5 }), errors: ["rules[0].limt: unknown field"] },
    {
      name: "bad statPrefix",
      config: { statPrefix: "rate limit", rules: [rule()] },
      errors: ['statPrefix: expected names of A-Z a-z 0-9 _ - joined by ".", got "rate limit"'],
    },
    {
      name: "bad shadowHeader",
      config: { shadowHeader: "x shadow", rules: [rule()] },
      errors: ['shadowHeader: expected an HTTP header name, got "x shadow"'],
    },
    {
      name: "match block error",
      config: r({ match: { pathPrefix: "api" } }),
      errors: ['rules[0].match.pathPrefix: expected a path starting with "/", got "api"'],
    },
    {
      name: "every error of a rule at once",
      config: { rules: [{ name: "a b", limit: -1, period: "1x", key: [{ source: "cookie" }] }] },
      errors: [
        'rules[0].name: expected 1-64 characters of A-Z a-z 0-9 _ -, got "a b"',
        "rules[0].key[0].name: required field is missing",
        "rules[0].limit: expected an integer between 1 and 1000000000, got -1",
        'rules[0].period: expected a duration like "500ms", "1s", "1m" between 1s and 365d, got "1x"',
      ],
    },
  ])("$name", async ({ config, errors }) => {
    const host = await Host.start({ wasm: WASM, rootId: "ratelimit", pluginConfig: config, trace: false });
    expect(host.started).toBe(false);
    expect(host.logs("critical")).toEqual(errors.map((e) => `ratelimit: invalid configuration: ${e}`));
  });
});

describe("hostile input never traps", () => {
  test.each<{ name: string; req: RequestSpec }>([
    { name: "huge header value", req: { headers: { "x-client": "x".repeat(100_000) } } },
    { name: "non-ASCII header value", req: { headers: { "x-client": "käse-🧀" } } },
    { name: "broken percent escapes in the query", req: { path: "/get?user=%zz%&user=%E2%82" } },
    { name: "XFF of commas", req: { headers: { "x-forwarded-for": ",,,,," } } },
    { name: "XFF with brackets only", req: { headers: { "x-forwarded-for": "[, ]:, [::1" } } },
    { name: "cookie without values", req: { headers: { cookie: ";;=;session" } } },
    { name: "path without slash", req: { path: "*" } },
  ])("$name", async ({ req }) => {
    const host = await start({
      rules: [
        rule({ name: "h", key: byClient }),
        rule({ name: "q", key: [{ source: "query", name: "user" }] }),
        rule({ name: "x", key: [{ source: "ip", xffTrustedHops: 1 }], onMissingKey: "shared" }),
        rule({ name: "c", key: [{ source: "cookie", name: "session" }] }),
        rule({ name: "p", key: [{ source: "path" }, { source: "host" }, { source: "method" }] }),
      ],
    });
    expect(statuses(host, 2, req)).toEqual([200, 200]);
    expect(host.failed()).toBe(false);
  });
});

describe("metrics", () => {
  test("per-rule counters under statPrefix", async () => {
    const host = await start({
      statPrefix: "edge.rl",
      rules: [rule({ name: "per-client", limit: 1, key: byClient })],
    });
    statuses(host, 3, { headers: { "x-client": "a" } });
    statuses(host, 1);
    expect(host.metrics()).toEqual({
      "edge.rl.per-client.allowed": 1n,
      "edge.rl.per-client.limited": 2n,
      "edge.rl.per-client.missing_key": 1n,
    });
  });
});
