// The SDK in real Envoy 1.39 (V8) in front of httpbin: the probe guest performs the host calls a gateway
// filter uses (headers, bodies, properties, shared data, timers, HTTP callouts, metrics, local replies,
// foreign functions, queues, environment), and httpbin's echo or Envoy's /stats show the effect.

import { Gateway, httpbinHeaders, request, startGateway, waitUntil } from "../../tools/harness";
import { guestWasm } from "../support/wasm";

let gw: Gateway;

beforeAll(async () => {
  gw = await startGateway({
    plugins: [
      {
        name: "probe",
        rootId: "probe",
        wasmPath: guestWasm("probe"),
        configuration: { tickMs: 50 },
        envVars: { WASMGATE_ENV: "from-vm-config" },
      },
    ],
    concurrency: 2,
  });
});

afterAll(async () => {
  await gw?.stop();
});

async function probe(op: string, arg1?: string, arg2?: string, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { "x-probe": op, ...extra };
  if (arg1 !== undefined) headers["x-probe-arg1"] = arg1;
  if (arg2 !== undefined) headers["x-probe-arg2"] = arg2;
  return request({ url: `${gw.url}/anything/probe?x=1`, headers });
}

async function probeResult(op: string, arg1?: string, arg2?: string, extra: Record<string, string> = {}) {
  const r = await probe(op, arg1, arg2, extra);
  expect(r.status).toBe(200);
  return httpbinHeaders(r.body)["x-probe-result"]?.[0];
}

describe("host calls in real Envoy", () => {
  const cases: Array<{
    name: string;
    op: string;
    arg1?: string;
    arg2?: string;
    headers?: Record<string, string>;
    expected: string | RegExp;
  }> = [
    {
      name: "get a present header",
      op: "get-header",
      arg1: "x-probe-in",
      headers: { "x-probe-in": "v" },
      expected: "v",
    },
    {
      name: "an empty header is not null",
      op: "get-header",
      arg1: "x-probe-in",
      headers: { "x-probe-in": "" },
      expected: "",
    },
    { name: "a missing header is null", op: "get-header", arg1: "x-absent", expected: "<null>" },
    { name: "header map size is in bytes", op: "header-map-size", expected: "bytes>pairs=true" },
    {
      name: "response headers do not exist yet",
      op: "response-header-early",
      expected: "read=<null> write=false",
    },
    { name: "property request.path", op: "property", arg1: "request.path", expected: "/anything/probe?x=1" },
    {
      name: "property request.url_path",
      op: "property",
      arg1: "request.url_path",
      expected: "/anything/probe",
    },
    {
      name: "property source.address",
      op: "property",
      arg1: "source.address",
      expected: /^127\.0\.0\.1:\d+$/,
    },
    { name: "property source.port (int)", op: "property-int", arg1: "source.port", expected: /^\d+$/ },
    {
      name: "property request.headers (map)",
      op: "property-map",
      arg1: "request.headers",
      arg2: ":method",
      expected: "entries>0=true :method=GET",
    },
    { name: "property xds.route_name (unnamed route)", op: "property", arg1: "xds.route_name", expected: "" },
    { name: "a missing property is null", op: "property", arg1: "no.such.attribute", expected: "<null>" },
    {
      name: "set_property then read back",
      op: "set-property",
      arg1: "wasmgate_note",
      arg2: "hi",
      expected: "set=true read=hi",
    },
    {
      name: "set_property with a multi-segment path cannot be read back",
      op: "set-property",
      arg1: "wasmgate.note",
      arg2: "hi",
      expected: "set=true read=<null>",
    },
    { name: "plugin attributes", op: "attributes", expected: "plugin=probe root=probe vm=" },
    {
      name: "shared data compare-and-swap",
      op: "shared-cas",
      arg1: "e2e-cas",
      expected: "first=true second=false value=v2",
    },
    { name: "shared data missing key", op: "shared-get", arg1: "never-written", expected: "<null>" },
    {
      name: "queue resolve and enqueue",
      op: "queue",
      arg1: "from-e2e",
      expected: "resolved>0=true missing=0 enqueued=true",
    },
    { name: "foreign function clear_route_cache exists", op: "clear-route-cache", expected: "cleared" },
    { name: "unknown foreign function is null", op: "foreign", arg1: "no_such_function", expected: "<null>" },
    {
      name: "effective context: unknown id refused",
      op: "effective-context",
      expected: "bogus=false self=true",
    },
    { name: "proxy_done from a stream", op: "done", expected: "done=false" },
    { name: "environment from vm_config", op: "env", arg1: "WASMGATE_ENV", expected: "from-vm-config" },
    { name: "random_get, 100000 bytes", op: "random", expected: "bytes=100000 distinct=true" },
    { name: "clocks", op: "time", expected: "wall>2020=true monotonic-ordered=true" },
    {
      name: "HTTP callout to httpbin",
      op: "http-call",
      arg1: "httpbin",
      arg2: "/status/201",
      expected: "status=201 token-match=true body-bytes=0",
    },
    {
      name: "HTTP callout to an unknown cluster",
      op: "http-call",
      arg1: "nope",
      expected: "refused status=2",
    },
    {
      name: "HTTP callout without :authority",
      op: "http-call-missing-authority",
      arg1: "httpbin",
      expected: "token=0 status=2",
    },
    {
      name: "buffer status outside the body callbacks",
      op: "buffer-status",
      expected: /^request-body=-?\d+ config=-1$/,
    },
  ];
  test.each(cases)("$name", async ({ op, arg1, arg2, headers, expected }) => {
    const r = await probeResult(op, arg1, arg2, headers);
    if (expected instanceof RegExp) expect(r).toMatch(expected);
    else expect(r).toBe(expected);
  });
});

describe("header mutations in real Envoy", () => {
  const cases: Array<{
    name: string;
    op: string;
    arg1: string;
    arg2?: string;
    headers: Record<string, string>;
    expected: string[] | undefined;
  }> = [
    {
      name: "add appends",
      op: "add-header",
      arg1: "x-m",
      arg2: "2",
      headers: { "x-m": "1" },
      expected: ["1", "2"],
    },
    {
      name: "replace sets one value",
      op: "replace-header",
      arg1: "x-m",
      arg2: "9",
      headers: { "x-m": "1" },
      expected: ["9"],
    },
    {
      name: "remove drops it",
      op: "remove-header",
      arg1: "x-m",
      headers: { "x-m": "1" },
      expected: undefined,
    },
  ];
  test.each(cases)("$name", async ({ op, arg1, arg2, headers, expected }) => {
    const r = await probe(op, arg1, arg2, headers);
    expect(httpbinHeaders(r.body)[arg1]).toEqual(expected);
  });

  test("set-headers replaces the whole map", async () => {
    const r = await probe("set-headers", undefined, undefined, { "x-probe-drop-me": "1", "x-keep": "k" });
    const h = httpbinHeaders(r.body);
    expect([h["x-probe-drop-me"], h["x-keep"], h["x-probe-set"]]).toEqual([undefined, ["k"], ["yes"]]);
  });
});

describe("bodies in real Envoy", () => {
  const cases = [
    { name: "replace", op: "body-upper", expected: "HELLO BODY" },
    { name: "append", op: "body-append", expected: "hello body+appended" },
    { name: "prepend", op: "body-prepend", expected: "prepended+hello body" },
  ];
  test.each(cases)("request body: $name", async ({ op, expected }) => {
    const r = await request({
      url: `${gw.url}/anything`,
      method: "POST",
      headers: { "x-probe": op, "content-type": "text/plain" },
      body: "hello body",
    });
    expect(r.status).toBe(200);
    expect(r.json<{ data: string }>().data).toBe(expected);
  });

  test("response body append", async () => {
    const r = await request({ url: `${gw.url}/robots.txt`, headers: { "x-probe": "resp-body-append" } });
    expect(r.body).toBe("User-agent: *\nDisallow: /deny\n[probe]");
  });
});

describe("closing a stream in real Envoy", () => {
  test("closeRequest resets the stream: the client gets no response", async () => {
    const outcome = await probe("close").then(
      (r) => `status ${r.status}`,
      (e: Error) => `error ${e.message}`,
    );
    expect(outcome).toMatch(/^error .*(socket hang up|ECONNRESET)/);
    expect(gw.envoy.logs()).toMatch(/probe close => closing/);
  });
});

describe("local replies, metrics, timers and queues in real Envoy", () => {
  test("a local reply: status, body, added header, and the plugin sees it on the response path", async () => {
    const r = await probe("local-response", "403");
    expect(r.status).toBe(403);
    expect(r.body).toBe("probe says no\n");
    expect([
      r.headers["x-probe-local"],
      r.headers["x-probe-saw-local-reply"],
      r.headers["content-type"],
    ]).toEqual(["1", "403", "text/plain"]);
  });

  test("metrics appear in /stats with the wasmcustom. prefix", async () => {
    const before = (await gw.envoy.stat("wasmcustom.probe_counter")) ?? 0;
    expect(await probeResult("metrics")).toMatch(/^counter=\d+ gauge=41$/);
    expect(await gw.envoy.stat("wasmcustom.probe_counter")).toBe(before + 2);
    expect(await gw.envoy.stat("wasmcustom.probe_gauge")).toBe(41);
  });

  test("ticks run on every worker and are counted in shared data", async () => {
    const ticks = await waitUntil(
      async () => {
        const n = Number(await probeResult("ticks"));
        return n >= 6 ? n : undefined;
      },
      10_000,
      "ticks to accumulate",
    );
    expect(ticks).toBeGreaterThanOrEqual(6);
  });

  test("an enqueued item reaches on_queue_ready", async () => {
    await probe("queue", "queued-in-envoy");
    const last = await waitUntil(
      async () => ((await probeResult("queue-last")) === "queued-in-envoy" ? "ok" : undefined),
      10_000,
      "the queue item to be consumed",
    );
    expect(last).toBe("ok");
    expect(gw.envoy.logs()).toMatch(/probe queue got queued-in-envoy/);
  });
});
