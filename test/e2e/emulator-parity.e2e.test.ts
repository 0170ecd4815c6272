// The emulator against the real thing: the same probe operations run in the emulator and in Envoy 1.39
// (V8) in front of httpbin, and must give the same answers. A difference here is an emulator bug (or an
// Envoy change) to fix in tools/emulator, not in the test.

import { HeaderList, Host } from "../../tools/emulator";
import { Gateway, httpbinHeaders, request, startGateway } from "../../tools/harness";
import { guestWasm } from "../support/wasm";

let gw: Gateway;
let host: Host;

beforeAll(async () => {
  const common = { rootId: "probe", configuration: {}, envVars: { WASMGATE_ENV: "from-vm-config" } };
  gw = await startGateway({ plugins: [{ name: "probe", wasmPath: guestWasm("probe"), ...common }] });
  host = await Host.start({
    wasm: guestWasm("probe"),
    rootId: "probe",
    pluginName: "probe",
    pluginConfig: {},
    env: common.envVars,
    clusters: ["httpbin"],
  });
});

afterAll(async () => gw?.stop());

interface Case {
  name: string;
  headers: Record<string, string>;
  path?: string;
}

const op = (
  name: string,
  o: string,
  arg1?: string,
  arg2?: string,
  extra: Record<string, string> = {},
): Case => ({
  name,
  headers: {
    "x-probe": o,
    ...(arg1 !== undefined ? { "x-probe-arg1": arg1 } : {}),
    ...(arg2 !== undefined ? { "x-probe-arg2": arg2 } : {}),
    ...extra,
  },
});

const cases: Case[] = [
  op("present header", "get-header", "x-probe-in", undefined, { "x-probe-in": "v" }),
  op("empty header", "get-header", "x-probe-in", undefined, { "x-probe-in": "" }),
  op("missing header", "get-header", "x-nope"),
  op("repeated header: first value", "get-header", "x-probe-in", undefined, { "x-probe-in": "first" }),
  op("header map size", "header-map-size"),
  op("response map before the response", "response-header-early"),
  op("request.path", "property", "request.path"),
  op("request.url_path", "property", "request.url_path"),
  op("request.method", "property", "request.method"),
  op("request.scheme", "property", "request.scheme"),
  op("request.query", "property", "request.query"),
  op("request.headers map", "property-map", "request.headers", ":method"),
  op("missing attribute", "property", "no.such.attribute"),
  op("set_property, one segment", "set-property", "wasmgate_note", "v"),
  op("set_property, two segments", "set-property", "wasmgate.note", "v"),
  op("plugin attributes", "attributes"),
  op("shared data CAS", "shared-cas", "parity-cas"),
  op("shared data missing key", "shared-get", "parity-never"),
  op("queues", "queue", "parity-item"),
  op("empty queue", "queue-dequeue-empty"),
  op("clear_route_cache", "clear-route-cache"),
  op("unknown foreign function", "foreign", "nope"),
  op("effective context", "effective-context"),
  op("proxy_done from a stream", "done"),
  op("environment", "env", "WASMGATE_ENV"),
  op("random", "random"),
  op("clocks", "time"),
  op("callout to an unknown cluster", "http-call", "nope"),
  op("callout without :authority", "http-call-missing-authority", "httpbin"),
  op("buffer status outside body callbacks", "buffer-status"),
  op("get_status outside a callout", "get-status-outside"),
  // Envoy setCopy is remove + addCopy: the header moves to the end (a pseudo-header to the end of the
  // pseudo-headers).
  op("replace moves a header to the end", "replace-order", "x-o-a", "9", { "x-o-a": "1", "x-o-b": "2" }),
  op("replace of a pseudo-header", "replace-order", ":method", "GET", { "x-o-a": "1" }),
  op("replace of an absent header", "replace-order", "x-o-c", "9", { "x-o-a": "1" }),
  op("header map size counts key and value bytes", "header-map-bytes"),
  op("header map size by map type", "header-map-size-types"),
  op("a counter and a gauge of one name", "metric-types"),
  op("VM configuration buffer outside on_vm_start", "vm-config-buffer"),
  op("continue/close with TCP stream types", "stream-types"),
  op("an empty map's pairs: (ptr, size)", "raw-empty-pairs"),
  op("a buffer read past the end: (ptr, size)", "raw-buffer-past-end"),
];

test.each(cases)("$name: emulator and Envoy agree", async ({ headers, path }) => {
  const url = `${gw.url}${path ?? "/anything/parity?q=1"}`;
  const real = await request({ url, headers });
  const envoyResult = httpbinHeaders(real.body)["x-probe-result"]?.[0];
  const s = host.exchange({ path: path ?? "/anything/parity?q=1", headers });
  const emulatorResult = s.upstream.headers?.find(([k]) => k === "x-probe-result")?.[1];
  expect(emulatorResult).toBe(envoyResult);
});

// Results a probe can only report on the response (after continue_stream the request headers are closed).
test.each([
  op("continue_stream closes the request maps at once", "callout-after-resume", "httpbin"),
  op("response attributes in on_response_headers", "resp-attrs"),
])("$name: emulator and Envoy agree (response header)", async ({ headers }) => {
  const path = "/anything/parity?q=1";
  const real = await request({ url: `${gw.url}${path}`, headers });
  const s = host.stream();
  const requestHeaders: HeaderList = [
    [":method", "GET"],
    [":scheme", "http"],
    [":authority", "example.com"],
    [":path", path],
    ...Object.entries(headers),
  ];
  s.sendRequestHeaders(requestHeaders, true);
  for (const c of host.pendingHttpCalls()) host.respondHttpCall(c, { status: 201 });
  host.respond(s, { status: 200, headers: { "content-type": "application/json" } });
  s.complete();
  const emulatorResult = s.downstream.headers?.find(([k]) => k === "x-probe-result")?.[1];
  expect(emulatorResult).toBe(real.headers["x-probe-result"]);
  expect(emulatorResult).toBeDefined();
});

test("each enqueue posts one on_queue_ready (never coalesced)", async () => {
  const calls = async () => {
    const url = `${gw.url}/anything/parity`;
    const real = await request({ url, headers: { "x-probe": "queue-ready-calls" } });
    const s = host.exchange({ path: "/anything/parity", headers: { "x-probe": "queue-ready-calls" } });
    return [httpbinHeaders(real.body)["x-probe-result"]?.[0], result(s)].map(Number);
  };
  const result = (s: { upstream: { headers: HeaderList | null } }) =>
    s.upstream.headers?.find(([k]) => k === "x-probe-result")?.[1];
  const before = await calls();
  const headers = { "x-probe": "queue-twice", "x-probe-arg1": "parity" };
  await request({ url: `${gw.url}/anything/parity`, headers });
  host.exchange({ path: "/anything/parity", headers });
  // Envoy posts the notification to the registrant's thread: wait until it ran (bounded).
  let after = await calls();
  for (let i = 0; i < 20 && after[0] - before[0] < 2; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = await calls();
  }
  expect({ envoy: after[0] - before[0], emulator: after[1] - before[1] }).toEqual({ envoy: 2, emulator: 2 });
});

test("a local reply looks the same to the client", async () => {
  const headers = { "x-probe": "local-response", "x-probe-arg1": "429" };
  const real = await request({ url: `${gw.url}/get`, headers });
  const s = host.exchange({ path: "/get", headers });
  const pick = (h: Record<string, string>) => ({
    "content-type": h["content-type"],
    "x-probe-local": h["x-probe-local"],
    "x-probe-saw-local-reply": h["x-probe-saw-local-reply"],
  });
  expect([
    s.status,
    pick(Object.fromEntries(s.downstream.headers!)),
    new TextDecoder().decode(s.downstream.body),
  ]).toEqual([real.status, pick(real.headers as Record<string, string>), real.body]);
});
