// The SDK through the emulator: every ABI host call, exercised by the probe guest
// (test/sdk/guests/probe.ts) the way a filter would use it. The same operations run in real Envoy in
// test/e2e/sdk.e2e.test.ts.

import { Host, HostOptions, HttpStream } from "../../tools/emulator";
import { guestWasm } from "../support/wasm";

const PROBE = guestWasm("probe");

async function probeHost(extra: Partial<HostOptions> = {}): Promise<Host> {
  const host = await Host.start({ wasm: PROBE, rootId: "probe", pluginName: "wasmgate.probe", ...extra });
  expect(host.started).toBe(true);
  return host;
}

function probe(
  host: Host,
  op: string,
  arg1?: string,
  arg2?: string,
  extraHeaders: Record<string, string> = {},
): HttpStream {
  const headers: Record<string, string> = { "x-probe": op, ...extraHeaders };
  if (arg1 !== undefined) headers["x-probe-arg1"] = arg1;
  if (arg2 !== undefined) headers["x-probe-arg2"] = arg2;
  return host.exchange({ path: "/anything?x=1", headers }, { status: 200, body: "upstream body" });
}

function result(s: HttpStream): string | undefined {
  return s.upstream.headers?.find(([k]) => k === "x-probe-result")?.[1];
}

function header(list: Array<[string, string]> | null, name: string): string | undefined {
  return list?.find(([k]) => k === name)?.[1];
}

describe("SDK host calls through the probe, in the emulator", () => {
  const cases: Array<{
    name: string;
    op: string;
    arg1?: string;
    arg2?: string;
    headers?: Record<string, string>;
    expected: string;
  }> = [
    { name: "log level reads proxy_get_log_level", op: "log-level", expected: "0" },
    {
      name: "clocks: wall time and monotonic order",
      op: "time",
      expected: "wall>2020=true monotonic-ordered=true",
    },
    {
      name: "get header: present",
      op: "get-header",
      arg1: "x-probe-in",
      headers: { "x-probe-in": "v" },
      expected: "v",
    },
    {
      name: "get header: present and empty is not null",
      op: "get-header",
      arg1: "x-probe-in",
      headers: { "x-probe-in": "" },
      expected: "",
    },
    { name: "get header: absent is null", op: "get-header", arg1: "x-absent", expected: "<null>" },
    {
      name: "get header: name is case-insensitive",
      op: "get-header",
      arg1: "X-Probe-In",
      headers: { "x-probe-in": "v" },
      expected: "v",
    },
    {
      name: "get header pairs",
      op: "get-headers",
      headers: { "x-probe-in": "1" },
      expected: "count=6 numHeaders=6 x-probe-in=1;",
    },
    { name: "header map size is bytes, not pairs", op: "header-map-size", expected: "bytes>pairs=true" },
    {
      name: "response header before the response exists",
      op: "response-header-early",
      expected: "read=<null> write=false",
    },
    { name: "property: request.path", op: "property", arg1: "request.path", expected: "/anything?x=1" },
    { name: "property: request.url_path", op: "property", arg1: "request.url_path", expected: "/anything" },
    { name: "property: source.address", op: "property", arg1: "source.address", expected: "127.0.0.1:50000" },
    { name: "property: missing is null", op: "property", arg1: "no.such.attribute", expected: "<null>" },
    { name: "property: integer (source.port)", op: "property-int", arg1: "source.port", expected: "50000" },
    {
      name: "property: map (request.headers)",
      op: "property-map",
      arg1: "request.headers",
      arg2: ":method",
      expected: "entries>0=true :method=GET",
    },
    {
      name: "property: set then read back",
      op: "set-property",
      arg1: "wasmgate_note",
      arg2: "hi",
      expected: "set=true read=hi",
    },
    {
      name: "property: a multi-segment set cannot be read back (Envoy)",
      op: "set-property",
      arg1: "wasmgate.note",
      arg2: "hi",
      expected: "set=true read=<null>",
    },
    { name: "plugin attributes", op: "attributes", expected: "plugin=wasmgate.probe root=probe vm=" },
    { name: "shared data: missing key", op: "shared-get", arg1: "never-written", expected: "<null>" },
    {
      name: "shared data: compare-and-swap",
      op: "shared-cas",
      arg1: "cas-key",
      expected: "first=true second=false value=v2",
    },
    {
      name: "queue: resolve, missing queue, enqueue",
      op: "queue",
      arg1: "item-1",
      expected: "resolved>0=true missing=0 enqueued=true",
    },
    { name: "queue: dequeue from an empty queue", op: "queue-dequeue-empty", expected: "empty" },
    { name: "metrics: counter, gauge, histogram", op: "metrics", expected: "counter=2 gauge=41" },
    {
      name: "http call to a refused cluster",
      op: "http-call-missing-authority",
      arg1: "upstream",
      expected: "token=0 status=2",
    },
    { name: "foreign function: unknown", op: "foreign", arg1: "no_such_function", expected: "<null>" },
    { name: "foreign function: clear_route_cache", op: "clear-route-cache", expected: "cleared" },
    {
      name: "effective context: unknown id refused",
      op: "effective-context",
      expected: "bogus=false self=true",
    },
    { name: "proxy_done from a stream is NOT_FOUND", op: "done", expected: "done=false" },
    { name: "environment variable set", op: "env", arg1: "WASMGATE_ENV", expected: "from-vm-config" },
    { name: "environment variable unset", op: "env", arg1: "UNSET_VAR", expected: "<null>" },
    {
      name: "random: 100000 bytes (split in 64 KiB calls)",
      op: "random",
      expected: "bytes=100000 distinct=true",
    },
    {
      name: "buffer status outside their windows",
      op: "buffer-status",
      expected: "request-body=0 config=-1",
    },
    { name: "get_status outside a callout", op: "get-status-outside", expected: "code=0 message=" },
    { name: "unknown op", op: "what", expected: "unknown op what" },
  ];

  test.each(cases)("$name", async ({ op, arg1, arg2, headers, expected }) => {
    const host = await probeHost({ env: { WASMGATE_ENV: "from-vm-config" } });
    const s = probe(host, op, arg1, arg2, headers);
    expect(result(s)).toBe(expected);
    expect(host.failed()).toBe(false);
    expect(host.logs("critical").filter((l) => !l.startsWith("probe critical"))).toEqual([]);
  });
});

describe("header mutations reach the upstream", () => {
  const cases: Array<{
    name: string;
    op: string;
    arg1: string;
    arg2?: string;
    headers: Record<string, string>;
    expected: Array<[string, string]>;
  }> = [
    {
      name: "add appends a value",
      op: "add-header",
      arg1: "x-m",
      arg2: "2",
      headers: { "x-m": "1" },
      expected: [
        ["x-m", "1"],
        ["x-m", "2"],
      ],
    },
    {
      name: "replace sets one value",
      op: "replace-header",
      arg1: "x-m",
      arg2: "9",
      headers: { "x-m": "1" },
      expected: [["x-m", "9"]],
    },
    {
      name: "replace adds when absent",
      op: "replace-header",
      arg1: "x-new",
      arg2: "n",
      headers: {},
      expected: [["x-new", "n"]],
    },
    {
      name: "remove drops every value",
      op: "remove-header",
      arg1: "x-m",
      headers: { "x-m": "1" },
      expected: [],
    },
    {
      name: "names are lower-cased",
      op: "add-header",
      arg1: "X-Upper",
      arg2: "u",
      headers: {},
      expected: [["x-upper", "u"]],
    },
  ];
  test.each(cases)("$name", async ({ op, arg1, arg2, headers, expected }) => {
    const host = await probeHost();
    const s = probe(host, op, arg1, arg2, headers);
    const name = arg1.toLowerCase();
    expect(s.upstream.headers!.filter(([k]) => k === name)).toEqual(expected);
    // ABI 0.2.1 in Envoy: a request-header change makes Envoy pick the route again.
    expect(s.routeCacheClears).toBeGreaterThanOrEqual(1);
  });

  test("set-headers replaces the whole map", async () => {
    const host = await probeHost();
    const s = probe(host, "set-headers", undefined, undefined, { "x-probe-drop-me": "1", "x-keep": "k" });
    expect(header(s.upstream.headers, "x-probe-drop-me")).toBeUndefined();
    expect(header(s.upstream.headers, "x-keep")).toBe("k");
    expect(header(s.upstream.headers, "x-probe-set")).toBe("yes");
  });
});

describe("logging", () => {
  test("every level reaches the host, in order", async () => {
    const host = await probeHost();
    probe(host, "log");
    const lines = host.logEntries.filter(
      (e) => e.message.startsWith("probe ") && e.message.endsWith(" line"),
    );
    expect(lines.map((e) => `${e.level}:${e.message}`)).toEqual([
      "trace:probe trace line",
      "debug:probe debug line",
      "info:probe info line",
      "warn:probe warn line",
      "error:probe error line",
      "critical:probe critical line",
    ]);
  });

  test("lines below the host's level are not sent (the SDK checks the cached level)", async () => {
    const host = await probeHost({ logLevel: "warn" });
    const s = probe(host, "log");
    expect(result(s)).toBe("enabled-debug=false");
    expect(host.logs("info").filter((l) => l.endsWith(" line"))).toEqual([]);
    expect(host.calls.filter((c) => c.name === "proxy_log").length).toBeGreaterThan(0);
    expect(host.logs("warn")).toEqual(["probe warn line"]);
  });
});

describe("lifecycle", () => {
  test("vm configuration reaches on_vm_start, plugin configuration reaches on_configure", async () => {
    const host = await probeHost({ vmConfig: "vm-config-text", pluginConfig: { tickMs: 0 } });
    expect(host.logs("info")).toEqual([
      "probe vm_start config=vm-config-text",
      "probe configured tickMs=0 queue=1",
    ]);
  });

  test("a refused configuration stops the start and names the field", async () => {
    const host = await Host.start({
      wasm: PROBE,
      rootId: "probe",
      pluginConfig: { tickMs: "soon", extra: 1 },
    });
    expect(host.started).toBe(false);
    expect(host.logs("critical")).toEqual([
      'probe: invalid configuration: tickMs: expected an integer between 0 and 3600000, got "soon"',
      "probe: invalid configuration: extra: unknown field",
    ]);
  });

  test("an unknown root_id traps with a critical line naming it", async () => {
    const host = await Host.start({ wasm: PROBE, rootId: "nope" });
    expect(host.started).toBe(false);
    expect(host.logs("critical")[0]).toBe("wasmgate: no root context registered for root_id 'nope'");
  });

  test("HTTP stream callbacks run in Envoy's order: log, done, delete", async () => {
    const host = await probeHost();
    const s = probe(host, "noop");
    expect(s.callbacks).toEqual([
      "proxy_on_context_create",
      "proxy_on_request_headers",
      "proxy_on_response_headers",
      "proxy_on_response_body",
      "proxy_on_log",
      "proxy_on_done",
      "proxy_on_delete",
    ]);
  });

  test("in on_log headers are readable and read-only, and response attributes exist", async () => {
    const host = await probeHost();
    probe(host, "on-log");
    expect(host.logs("info")).toContain("probe on-log => code=200 path=/anything?x=1 write=false");
  });

  test("ticks fire on the fake clock and update shared data", async () => {
    const host = await probeHost({ pluginConfig: { tickMs: 100 } });
    host.advance(350);
    expect(result(probe(host, "ticks"))).toBe("3");
  });

  test("an enqueued item reaches the registrant's on_queue_ready after the callback", async () => {
    const host = await probeHost();
    probe(host, "queue", "hello-queue");
    expect(host.logs("info")).toContain("probe queue got hello-queue");
    expect(result(probe(host, "queue-last"))).toBe("hello-queue");
  });

  test("root shutdown: on_done then on_delete", async () => {
    const host = await probeHost();
    host.shutdown();
    expect(host.logs("info")).toContain("probe root done");
    expect(host.vms[0].contexts.size).toBe(0);
  });
});

describe("bodies", () => {
  const cases = [
    { name: "replace the buffered body", op: "body-upper", expected: "HELLO BODY" },
    { name: "append", op: "body-append", expected: "hello body+appended" },
    { name: "prepend", op: "body-prepend", expected: "prepended+hello body" },
  ];
  test.each(cases)("request body: $name", async ({ op, expected }) => {
    const host = await probeHost();
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "POST"],
        [":path", "/post"],
        [":authority", "example.com"],
        ["x-probe", op],
      ],
      false,
    );
    expect(s.sendRequestBody("hello ", false)).toBe("StopIterationAndBuffer");
    expect(s.sendRequestBody("body", true)).toBe("Continue");
    expect(new TextDecoder().decode(s.upstream.body)).toBe(expected);
    s.complete();
  });

  test("while buffering, body_size is the total buffered so far", async () => {
    const host = await probeHost();
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "POST"],
        [":path", "/"],
        ["x-probe", "body-read"],
      ],
      false,
    );
    s.sendRequestBody("abc", false);
    s.sendRequestBody("defg", true);
    expect(host.logs("info")).toContain("probe body-read => size=7 text=abcdefg");
  });

  test("response body append", async () => {
    const host = await probeHost();
    const s = host.exchange(
      { headers: { "x-probe": "resp-body-append" } },
      { status: 200, body: "upstream" },
    );
    expect(new TextDecoder().decode(s.downstream.body)).toBe("upstream[probe]");
  });

  test("response headers are visible and writable in on_response_headers", async () => {
    const host = await probeHost();
    const s = host.exchange({ headers: { "x-probe": "resp-header" } }, { status: 418 });
    expect(header(s.downstream.headers, "x-probe-upstream-status")).toBe("418");
  });
});

describe("closing a stream", () => {
  test("closeRequest resets the stream after the callback: nothing goes upstream", async () => {
    const host = await probeHost();
    const s = probe(host, "close");
    expect(s.resetDetails).toBe("wasm_close_stream");
    expect(s.upstream.headers).toBeNull();
    expect(s.downstream.headers).toBeNull();
    expect(host.logs("info")).toContain("probe close => closing");
  });
});

describe("local responses", () => {
  test("a local reply stops the request and passes back through the filter", async () => {
    const host = await probeHost();
    const s = probe(host, "local-response", "403");
    expect(s.upstream.headers).toBeNull();
    expect(s.localResponse).toEqual({
      status: 403,
      details: "probe_denied",
      body: new TextEncoder().encode("probe says no\n"),
      headers: [["x-probe-local", "1"]],
      grpcStatus: null,
    });
    expect(s.downstream.headers).toEqual([
      [":status", "403"],
      ["content-length", "14"],
      ["content-type", "text/plain"],
      ["x-probe-local", "1"],
      ["x-probe-saw-local-reply", "403"],
    ]);
  });
});

describe("HTTP callouts", () => {
  test("the answer reaches the calling stream, which resumes", async () => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "a"],
        ["x-probe", "http-call"],
        ["x-probe-arg1", "httpbin"],
      ],
      true,
    );
    expect(s.requestPaused).toBe(true);
    const [call] = host.pendingHttpCalls();
    expect(call.cluster).toBe("httpbin");
    expect(call.headers).toEqual([
      [":method", "GET"],
      [":path", "/status/201"],
      [":authority", "probe.local"],
      ["x-probe-callout", "1"],
    ]);
    expect(call.token % 4).toBe(0);
    host.respondHttpCall(call, { status: 201, body: "created" });
    expect(s.requestPaused).toBe(false);
    expect(header(s.upstream.headers, "x-probe-result")).toBe("status=201 token-match=true body-bytes=7");
  });

  test("a reset callout reports (11, reset) through proxy_get_status", async () => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        ["x-probe", "http-call"],
        ["x-probe-arg1", "httpbin"],
      ],
      true,
    );
    host.failHttpCall(host.pendingHttpCalls()[0]);
    expect(header(s.upstream.headers, "x-probe-result")).toBe("failed code=11 message=reset");
  });

  test("a callout times out on the fake clock as a 504", async () => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        ["x-probe", "http-call"],
        ["x-probe-arg1", "httpbin"],
      ],
      true,
    );
    host.advance(5000);
    expect(header(s.upstream.headers, "x-probe-result")).toBe("status=504 token-match=true body-bytes=24");
  });

  test("an unknown cluster is refused with BAD_ARGUMENT and the request goes on", async () => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const s = probe(host, "http-call", "nope");
    expect(result(s)).toBe("refused status=2");
    expect(host.pendingHttpCalls()).toEqual([]);
  });

  test("an answer for a stream that is gone is dropped", async () => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        ["x-probe", "http-call"],
        ["x-probe-arg1", "httpbin"],
      ],
      true,
    );
    s.complete();
    host.respondHttpCall(host.pendingHttpCalls()[0], { status: 200 });
    expect(host.failed()).toBe(false);
    expect(host.logs("debug").some((l) => /dropping callout \d+ answer: context \d+ is gone/.test(l))).toBe(
      true,
    );
  });
});

describe("gRPC callouts", () => {
  test("unary call: metadata, message, trailers and close reach the stream", async () => {
    const host = await probeHost({ clusters: ["grpc"] });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        ["x-probe", "grpc-call"],
        ["x-probe-arg1", "grpc"],
      ],
      true,
    );
    const [call] = host.grpcCallouts;
    expect([call.kind, call.service, call.method, call.token % 4]).toEqual([
      "call",
      "probe.Service",
      "Echo",
      1,
    ]);
    expect(new TextDecoder().decode(call.messages[0])).toBe("ping");
    host.respondGrpc(call, [
      { type: "initial_metadata", metadata: [["a", "1"]] },
      { type: "message", message: new TextEncoder().encode("pong") },
      {
        type: "trailing_metadata",
        metadata: [
          ["b", "2"],
          ["c", "3"],
        ],
      },
      { type: "close", status: 0, message: "" },
    ]);
    expect(host.logs("info")).toEqual(
      expect.arrayContaining([
        "probe grpc initial metadata 1",
        "probe grpc message pong",
        "probe grpc trailing metadata 2",
      ]),
    );
    expect(header(s.upstream.headers, "x-probe-result")).toBe("grpc-closed status=0 message=");
  });

  test("stream: send, half-close, server close with status", async () => {
    const host = await probeHost({ clusters: ["grpc"] });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        ["x-probe", "grpc-stream"],
        ["x-probe-arg1", "grpc"],
      ],
      true,
    );
    const [call] = host.grpcCallouts;
    expect([call.kind, call.token % 4, call.closedByPlugin]).toEqual(["stream", 2, true]);
    expect(host.logs("info")).toContain("probe grpc-stream sent=true closed=true");
    host.respondGrpc(call, [{ type: "close", status: 14, message: "unavailable" }]);
    expect(header(s.upstream.headers, "x-probe-result")).toBe("grpc-closed status=14 message=unavailable");
  });

  test("cancel, then cancel again is refused", async () => {
    const host = await probeHost({ clusters: ["grpc"] });
    expect(result(probe(host, "grpc-cancel", "grpc"))).toBe("cancelled=true again=false");
  });

  test("unknown upstream is refused with PARSE_FAILURE", async () => {
    const host = await probeHost({ clusters: ["grpc"] });
    expect(result(probe(host, "grpc-call", "nope"))).toBe("refused status=4");
  });
});

describe("failures", () => {
  const policies = [
    { policy: "FAIL_CLOSED" as const, status: 503, upstream: false },
    { policy: "FAIL_OPEN" as const, status: 200, upstream: true },
  ];
  test.each(policies)("a trap under $policy", async ({ policy, status, upstream }) => {
    const host = await probeHost({ failurePolicy: policy });
    const s = probe(host, "trap", "5");
    expect(host.failed()).toBe(true);
    expect(host.logs("critical")[0]).toMatch(/^abort: Index out of range at ~lib\/array\.ts:\d+:\d+$/);
    expect(s.status).toBe(status);
    expect(s.upstream.headers !== null).toBe(upstream);
    if (policy === "FAIL_CLOSED") expect(s.envoyReply).toEqual({ status: 503, details: "wasm_fail_stream" });
    // Later streams on the failed VM get the same treatment.
    const next = probe(host, "noop");
    expect(next.status).toBe(status);
  });

  test("abort() is routed to proxy_log at critical, with the location", async () => {
    const host = await probeHost();
    probe(host, "abort");
    expect(host.logs("critical")[0]).toBe("abort: probe abort requested at probe.ts:1:1");
  });

  test("FAIL_RELOAD: the next stream gets a fresh VM", async () => {
    const host = await probeHost({ failurePolicy: "FAIL_RELOAD" });
    const first = probe(host, "trap", "5");
    expect(first.status).toBe(503);
    const second = probe(host, "get-header", "x-probe");
    expect(result(second)).toBe("get-header");
    expect(host.failed()).toBe(false);
  });
});
