// Emulator fidelity: each case pins a behaviour of Envoy 1.39 / cpp-host that the emulator once got wrong.
// The probe guest (test/sdk/guests/probe.ts) performs the operation; the same operations that real Envoy can
// run are compared with Envoy in test/e2e/emulator-parity.e2e.test.ts.

import {
  ConfigRejected,
  HeaderList,
  Host,
  HostOptions,
  HttpStream,
  checkModule,
  readModuleInfo,
} from "../../tools/emulator";
import { guestWasm } from "../support/wasm";

const PROBE = guestWasm("probe");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function probeHost(extra: Partial<HostOptions> = {}): Promise<Host> {
  const host = await Host.start({ wasm: PROBE, rootId: "probe", pluginName: "probe", ...extra });
  expect(host.started).toBe(true);
  return host;
}

/** Request headers for a probe operation (POST, so a body may follow). */
function probeRequest(op: string, arg1?: string, extra: HeaderList = []): HeaderList {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", "example.com"],
    [":path", "/p"],
    ["x-probe", op],
    ...(arg1 === undefined ? [] : ([["x-probe-arg1", arg1]] as HeaderList)),
    ...extra,
  ];
}

const header = (list: HeaderList | null, name: string) => list?.find(([k]) => k === name)?.[1];
const result = (s: HttpStream) => header(s.upstream.headers, "x-probe-result");
const responseResult = (s: HttpStream) => header(s.downstream.headers, "x-probe-result");

describe("guest memory: u32 pointers and Envoy's 1 GiB VM limit", () => {
  test("host calls take pointers above 2 GiB (negative as an i32); the VM then fails for its size", async () => {
    const host = await probeHost();
    const s = host.exchange({ headers: { "x-probe": "big-pointer" } });
    expect(host.logs("info").filter((l) => l === "big" || l.startsWith("probe big-pointer"))).toEqual([
      "big",
      "probe big-pointer => level-via-high-pointer=0",
    ]);
    expect(host.logs("critical")).toEqual([
      "wasm trap in VM 0: proxy_on_request_headers: linear memory grew to 2049 MiB, above Envoy's 1 GiB limit for a VM",
    ]);
    expect([host.failed(), s.status]).toEqual([true, 503]);
  });

  test.each([
    { name: "exactly 1 GiB stays up", pages: 16384, failed: false, status: 200, critical: [] },
    {
      name: "one page more fails the VM",
      pages: 16385,
      failed: true,
      status: 503,
      critical: [
        "wasm trap in VM 0: proxy_on_request_headers: linear memory grew to 1025 MiB, above Envoy's 1 GiB limit for a VM",
      ],
    },
  ])("$name", async ({ pages, failed, status, critical }) => {
    const host = await probeHost();
    const s = host.exchange({ headers: { "x-probe": "grow-to", "x-probe-arg1": String(pages) } });
    expect(host.logs("info")).toContain(`probe grow-to => pages=${pages} grew=true`);
    expect([host.failed(), s.status, host.logs("critical")]).toEqual([failed, status, critical]);
  });
});

describe("callout answers go to the VM that made the call, or nowhere", () => {
  const callout = probeRequest("http-call", "httpbin");
  test.each([
    {
      name: "FAIL_RELOAD: the dead VM's answer is dropped, not given to the fresh VM",
      options: { failurePolicy: "FAIL_RELOAD" as const },
      run(host: Host) {
        const first = host.stream();
        first.sendRequestHeaders(callout, true);
        const [dead] = host.pendingHttpCalls();
        host.exchange({ headers: { "x-probe": "trap", "x-probe-arg1": "5" } });
        const fresh = host.stream(); // FAIL_RELOAD: a new VM, whose tokens start at 4 again
        fresh.sendRequestHeaders(callout, true);
        const tokens = host.pendingHttpCalls().map((c) => c.token);
        let ambiguous = "";
        try {
          host.respondHttpCall(4, { status: 500 });
        } catch (e) {
          ambiguous = (e as Error).message;
        }
        host.respondHttpCall(dead, { status: 500 });
        const otherStillPaused = fresh.requestPaused;
        host.respondHttpCall(4, { status: 201, body: "created" }, 0);
        return { tokens, ambiguous, otherStillPaused, answered: result(fresh) };
      },
      dropLogged: true,
    },
    {
      name: "two workers: token 4 names two callouts; a worker picks one",
      options: { workers: 2 },
      run(host: Host) {
        const a = host.stream(0);
        const b = host.stream(1);
        a.sendRequestHeaders(callout, true);
        b.sendRequestHeaders(callout, true);
        const tokens = host.pendingHttpCalls().map((c) => c.token);
        let ambiguous = "";
        try {
          host.respondHttpCall(4, { status: 500 });
        } catch (e) {
          ambiguous = (e as Error).message;
        }
        host.respondHttpCall(4, { status: 201, body: "created" }, 1);
        return { tokens, ambiguous, otherStillPaused: a.requestPaused, answered: result(b) };
      },
      dropLogged: false,
    },
  ])("$name", async ({ options, run, dropLogged }) => {
    const host = await probeHost({ clusters: ["httpbin"], ...options });
    expect(run(host)).toEqual({
      tokens: [4, 4],
      ambiguous:
        "HTTP callout token 4 is ambiguous: 2 pending callouts use it (tokens are per VM); pass the callout object or a worker",
      otherStillPaused: true,
      answered: "status=201 token-match=true body-bytes=7",
    });
    expect(
      host
        .logs("debug")
        .includes(
          "emulator: dropping the answer to HTTP callout 4: VM 0 that made it has failed (Envoy drops it)",
        ),
    ).toBe(dropLogged);
  });
});

describe("request bodies, trailers and the failure policy", () => {
  const run = (host: Host, op: string, chunks: Array<[string, boolean]>, trailers: HeaderList | null) => {
    const s = host.stream();
    s.sendRequestHeaders(probeRequest(op, "httpbin"), false);
    const statuses: string[] = chunks.map(([data, eos]) => String(s.sendRequestBody(data, eos)));
    if (trailers) statuses.push(String(s.sendRequestTrailers(trailers)));
    for (const c of host.pendingHttpCalls()) host.respondHttpCall(c, { status: 200 });
    return {
      statuses,
      paused: s.requestPaused,
      body: text(s.upstream.body),
      trailers: s.upstream.trailers,
      complete: s.upstream.complete,
    };
  };

  test.each([
    {
      name: "trailers answer Continue while the body is buffered: body and trailers go on",
      op: "body-read",
      options: {},
      chunks: [["abc", false]] as Array<[string, boolean]>,
      trailers: [["x-t", "1"]] as HeaderList,
      expected: { statuses: ["StopIterationAndBuffer", "Continue"], trailers: [["x-t", "1"]], body: "abc" },
    },
    {
      name: "trailers pause (callout) with the body buffered: on resume both go on",
      op: "trailers-callout",
      options: { clusters: ["httpbin"] },
      chunks: [["abc", false]] as Array<[string, boolean]>,
      trailers: [["x-t", "1"]] as HeaderList,
      expected: {
        statuses: ["StopIterationAndBuffer", "StopIteration"],
        trailers: [["x-t", "1"]],
        body: "abc",
      },
    },
    {
      name: "FAIL_OPEN, trap in the last body chunk: the buffered body and the chunk go on",
      op: "trap-body",
      options: { failurePolicy: "FAIL_OPEN" as const },
      chunks: [
        ["ab", false],
        ["cd", true],
      ] as Array<[string, boolean]>,
      trailers: null,
      expected: { statuses: ["StopIterationAndBuffer", "Continue"], trailers: null, body: "abcd" },
    },
    {
      name: "FAIL_OPEN, trap in the trailers: the buffered body and the trailers go on",
      op: "trap-trailers",
      options: { failurePolicy: "FAIL_OPEN" as const },
      chunks: [["ab", false]] as Array<[string, boolean]>,
      trailers: [["x-t", "1"]] as HeaderList,
      expected: { statuses: ["StopIterationAndBuffer", "Continue"], trailers: [["x-t", "1"]], body: "ab" },
    },
    {
      name: "a trailer added from the only (last) body chunk goes upstream",
      op: "add-trailer",
      options: {},
      chunks: [["hello", true]] as Array<[string, boolean]>,
      trailers: null,
      expected: { statuses: ["Continue"], trailers: [["x-added", "1"]], body: "hello" },
    },
    {
      name: "a trailer added from the last of two chunks goes upstream",
      op: "add-trailer",
      options: {},
      chunks: [
        ["hel", false],
        ["lo", true],
      ] as Array<[string, boolean]>,
      trailers: null,
      expected: { statuses: ["Continue", "Continue"], trailers: [["x-added", "1"]], body: "hello" },
    },
  ])("$name", async ({ op, options, chunks, trailers, expected }) => {
    const host = await probeHost(options);
    expect(run(host, op, chunks, trailers)).toEqual({ ...expected, paused: false, complete: true });
  });
});

describe("continue_stream closes the request maps at once (Envoy Context::continueStream)", () => {
  test.each([
    {
      name: "HTTP_REQUEST: later request-header calls in the callback are refused",
      op: "callout-after-resume",
      expected: "call-map-size=-1 resumed=true replace-after-resume=false read-after-resume=<null>",
    },
    {
      name: "HTTP_RESPONSE also drops the request maps (an Envoy quirk)",
      op: "resume-response-after-callout",
      expected: "resumed-response=true replace-after=false",
    },
  ])("$name", async ({ op, expected }) => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const s = host.stream();
    s.sendRequestHeaders(probeRequest(op, "httpbin"), true);
    host.respondHttpCall(host.pendingHttpCalls()[0], { status: 201 });
    host.respond(s, { status: 200 });
    s.complete();
    expect([responseResult(s), header(s.upstream.headers, "x-probe-late")]).toEqual([expected, undefined]);
  });
});

describe("configuration updates", () => {
  test.each([
    { name: "the old root lives until its paused stream ends", inFlight: true, doneAtUpdate: 0 },
    { name: "with no stream in flight the old root stops at once", inFlight: false, doneAtUpdate: 1 },
  ])("$name", async ({ inFlight, doneAtUpdate }) => {
    const host = await probeHost({ clusters: ["httpbin"] });
    const rootDone = () => host.logs("info").filter((l) => l === "probe root done").length;
    const s = inFlight ? host.stream() : null;
    s?.sendRequestHeaders(probeRequest("http-call", "httpbin"), true);
    expect(host.reconfigure({ tickMs: 0 })).toBe(true);
    expect(rootDone()).toBe(doneAtUpdate);
    const fresh = host.exchange({ headers: { "x-probe": "attributes" } });
    expect(result(fresh)).toBe("plugin=probe root=probe vm=");
    if (!s) return;
    expect(fresh.rootContextId).not.toBe(s.rootContextId);
    host.respondHttpCall(host.pendingHttpCalls()[0], { status: 201, body: "created" });
    expect(result(s)).toBe("status=201 token-match=true body-bytes=7");
    host.respond(s, { status: 200 });
    expect(rootDone()).toBe(0);
    s.complete();
    expect([rootDone(), host.vms[0].contexts.has(s.rootContextId)]).toEqual([1, false]);
  });

  test.each([
    {
      name: "refused at start: no root is left and streams are refused",
      async run() {
        const host = await Host.start({
          wasm: PROBE,
          rootId: "probe",
          pluginConfig: { failConfigure: true },
        });
        let refused = "";
        try {
          host.exchange();
        } catch (e) {
          refused = `${e instanceof ConfigRejected}: ${(e as Error).message}`;
        }
        return { started: host.started, roots: host.vms[0].contexts.size, refused, ticks: null };
      },
      expected: {
        started: false,
        roots: 0,
        refused:
          "true: the plugin refused to start (see host.logs()); Envoy would have refused this configuration, so no stream can run",
        ticks: null,
      },
    },
    {
      name: "refused update: the rejected root is deleted and never ticks",
      async run() {
        const host = await probeHost({ pluginConfig: { tickMs: 100 } });
        const accepted = host.reconfigure({ tickMs: 50, failConfigure: true });
        host.advance(200);
        return {
          started: accepted,
          roots: host.vms[0].contexts.size,
          refused: "",
          ticks: result(host.exchange({ headers: { "x-probe": "ticks" } })),
        };
      },
      expected: { started: false, roots: 1, refused: "", ticks: "2" },
    },
  ])("$name", async ({ run, expected }) => {
    expect(await run()).toEqual(expected);
  });
});

describe("host calls answer as Envoy 1.39 / cpp-host do", () => {
  const cases: Array<{
    name: string;
    op: string;
    arg1?: string;
    headers?: HeaderList;
    options?: Partial<HostOptions>;
    expected: string;
  }> = [
    {
      name: "replace moves a header to the end (setCopy = remove + addCopy)",
      op: "replace-order",
      arg1: "x-o-a",
      headers: [
        ["x-probe-arg2", "9"],
        ["x-o-a", "1"],
        ["x-o-b", "2"],
      ],
      expected: "order=x-o-b=2,x-o-a=9",
    },
    {
      name: "replace drops every repeated value and adds one at the end",
      op: "replace-order",
      arg1: "x-o-a",
      headers: [
        ["x-probe-arg2", "9"],
        ["x-o-a", "1"],
        ["x-o-b", "2"],
        ["x-o-a", "3"],
      ],
      expected: "order=x-o-b=2,x-o-a=9",
    },
    {
      name: "replace of a pseudo-header moves it to the end of the pseudo-headers",
      op: "replace-order",
      arg1: ":method",
      headers: [
        ["x-probe-arg2", "POST"],
        ["x-o-a", "1"],
      ],
      expected: "order=x-o-a=1 last-pseudo=:method",
    },
    {
      name: "replace of an absent header adds it at the end",
      op: "replace-order",
      arg1: "x-o-c",
      headers: [
        ["x-probe-arg2", "9"],
        ["x-o-a", "1"],
      ],
      expected: "order=x-o-a=1,x-o-c=9",
    },
    { name: "header map size is key+value bytes", op: "header-map-bytes", expected: "key+value bytes" },
    {
      name: "header map size per map type in on_request_headers",
      op: "header-map-size-types",
      expected: "0:ok 1:-1 2:-1 3:-1 4:-1 5:-1 6:-1 7:-1",
    },
    { name: "a counter and a gauge may share a name", op: "metric-types", expected: "counter=3 gauge=7" },
    {
      name: "the VM configuration is readable outside on_vm_start",
      op: "vm-config-buffer",
      options: { vmConfig: "vm-config-text" },
      expected: "size=14 text=vm-config-text",
    },
    {
      name: "continue/close with TCP stream types from an HTTP filter",
      op: "stream-types",
      expected: "continue-downstream=true continue-upstream=false close-downstream=true close-upstream=true",
    },
    {
      name: "an empty map's pairs are written as (0, 0)",
      op: "raw-empty-pairs",
      expected: "status=0 ptr=0 size=0",
    },
    {
      name: "a buffer read starting past the end is OK with (0, 0)",
      op: "raw-buffer-past-end",
      expected: "status=0 ptr=0 size=0",
    },
  ];
  test.each(cases)("$name", async ({ op, arg1, headers, options, expected }) => {
    const host = await probeHost(options);
    const s = host.stream();
    s.sendRequestHeaders(probeRequest(op, arg1, headers), true);
    expect(result(s)).toBe(expected);
    expect(host.failed()).toBe(false);
  });

  test.each([
    {
      name: "response attributes read the live response in on_response_headers (upstream 201)",
      status: 201,
      expected: "code=201 headers-status=201",
    },
    {
      name: "response attributes read the live response in on_response_headers (upstream 404)",
      status: 404,
      expected: "code=404 headers-status=404",
    },
  ])("$name", async ({ status, expected }) => {
    const host = await probeHost();
    const s = host.exchange({ headers: { "x-probe": "resp-attrs" } }, { status });
    expect(responseResult(s)).toBe(expected);
  });

  test.each([
    {
      name: "in on_log the header map size is BAD_ARGUMENT (no writable map)",
      expected: "probe on-log-size => -1",
    },
  ])("$name", async ({ expected }) => {
    const host = await probeHost();
    host.exchange({ headers: { "x-probe": "on-log-size" } });
    expect(host.logs("info").filter((l) => l.startsWith("probe on-log-size"))).toEqual([expected]);
  });

  test.each([
    { name: "one enqueue, one on_queue_ready", op: "queue", calls: "1" },
    {
      name: "two enqueues in one callback, two on_queue_ready (never coalesced)",
      op: "queue-twice",
      calls: "2",
    },
  ])("$name", async ({ op, calls }) => {
    const host = await probeHost();
    host.exchange({ headers: { "x-probe": op, "x-probe-arg1": "item" } });
    expect(result(host.exchange({ headers: { "x-probe": "queue-ready-calls" } }))).toBe(calls);
  });
});

describe("metrics of one name and several types", () => {
  test.each([
    {
      name: "counter and gauge stay separate stats",
      expected: {
        metric: 3n,
        metrics: { "probe_dual (counter)": 3n, "probe_dual (gauge)": 7n },
      },
    },
  ])("$name", async ({ expected }) => {
    const host = await probeHost();
    host.exchange({ headers: { "x-probe": "metric-types" } });
    const all = host.metrics();
    expect({
      metric: host.metric("probe_dual"),
      metrics: {
        "probe_dual (counter)": all["probe_dual (counter)"],
        "probe_dual (gauge)": all["probe_dual (gauge)"],
      },
    }).toEqual(expected);
  });
});

// A hand-assembled module with the ABI marker, an allocator, memory and one import.
function moduleImporting(name: string, params: number[], results: number[]): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const vec = (items: number[][]) => [items.length, ...items.flat()];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const I32 = 0x7f;
  const types = section(
    1,
    vec([
      [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))], // 0: the import
      [0x60, 0, 0], // 1: () -> ()
      [0x60, 1, I32, 1, I32], // 2: (i32) -> i32
      [0x60, 2, I32, I32, 0], // 3: (i32, i32) -> ()
    ]),
  );
  const imports = section(2, vec([[...str("env"), ...str(name), 0, 0]]));
  const funcs = section(3, vec([[1], [2], [3]])); // functions 1, 2, 3 (0 is the import)
  const memory = section(5, vec([[0, 1]]));
  const exports = section(
    7,
    vec([
      [...str("memory"), 2, 0],
      [...str("proxy_abi_version_0_2_1"), 0, 1],
      [...str("proxy_on_memory_allocate"), 0, 2],
      [...str("proxy_on_context_create"), 0, 3],
    ]),
  );
  const code = section(
    10,
    vec([
      [2, 0, 0x0b], // () -> (): end
      [4, 0, 0x41, 0, 0x0b], // (i32) -> i32: i32.const 0
      [2, 0, 0x0b],
    ]),
  );
  return new Uint8Array([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...types,
    ...imports,
    ...funcs,
    ...memory,
    ...exports,
    ...code,
  ]);
}

describe("Envoy-only imports a module may have", () => {
  const I32 = 0x7f;
  test.each([
    { name: "env.envoy_resolve_dns", field: "envoy_resolve_dns", params: [I32, I32, I32], results: [I32] },
    { name: "env.pthread_equal", field: "pthread_equal", params: [I32, I32], results: [I32] },
    {
      name: "env.emscripten_notify_memory_growth",
      field: "emscripten_notify_memory_growth",
      params: [I32],
      results: [],
    },
  ])("$name is accepted and provided", async ({ field, params, results }) => {
    const wasm = moduleImporting(field, params, results);
    expect(checkModule(readModuleInfo(wasm))).toEqual([]);
    const host = await Host.start({ wasm });
    expect([host.started, host.failed()]).toEqual([true, false]);
  });

  test("a wrong signature is still refused", () => {
    const wasm = moduleImporting("pthread_equal", [I32], [I32]);
    expect(checkModule(readModuleInfo(wasm))).toEqual([
      "import env.pthread_equal: signature (i32)->(i32) differs from Envoy's (i32,i32)->(i32)",
    ]);
  });
});
