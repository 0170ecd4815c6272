// The emulator against the real thing: the same probe operations run in the emulator and in Envoy 1.39
// (V8) in front of httpbin, and must give the same answers. A difference here is an emulator bug (or an
// Envoy change) to fix in tools/emulator, not in the test.

import { Host } from "../../tools/emulator";
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
];

test.each(cases)("$name: emulator and Envoy agree", async ({ headers, path }) => {
  const url = `${gw.url}${path ?? "/anything/parity?q=1"}`;
  const real = await request({ url, headers });
  const envoyResult = httpbinHeaders(real.body)["x-probe-result"]?.[0];
  const s = host.exchange({ path: path ?? "/anything/parity?q=1", headers });
  const emulatorResult = s.upstream.headers?.find(([k]) => k === "x-probe-result")?.[1];
  expect(emulatorResult).toBe(envoyResult);
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
