// accesslog in the host emulator: the real build/accesslog.wasm, driven the way Envoy drives it.
import { createHash, createHmac } from "node:crypto";
import { Host, HostOptions, HttpCallout, HttpStream } from "../../tools/emulator";
import type { HeaderList } from "../../tools/emulator";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { validateAgainstSchema, type Schema } from "../../tools/cli/json-schema";
import { filterWasm } from "../../test/support/wasm";

type Json = Record<string, unknown>;
type H = Record<string, string>;

const PLUGIN = "accesslog";
const QUEUE = "wasmgate.accesslog.accesslog";
const ELECTION = "wasmgate.accesslog.accesslog.sender";

function start(pluginConfig: unknown, opts: Partial<HostOptions> = {}): Promise<Host> {
  return Host.start({
    wasm: filterWasm(PLUGIN),
    rootId: PLUGIN,
    pluginName: PLUGIN,
    pluginConfig,
    ...opts,
  });
}

/** Records written to Envoy's log (sink a), raw lines. */
function logLines(host: Host, level: "debug" | "info" | "warn" = "info"): string[] {
  return host.logs(level).filter((l) => l.startsWith("{"));
}

function logRecords(host: Host): Json[] {
  return logLines(host).map((l) => JSON.parse(l) as Json);
}

/** The NDJSON lines of a collector call. */
function batchLines(c: HttpCallout): string[] {
  const text = new TextDecoder().decode(c.body);
  expect(text.endsWith("\n")).toBe(true);
  return text.slice(0, -1).split("\n");
}

function batchIds(c: HttpCallout): string[] {
  return batchLines(c).map((l) => (JSON.parse(l) as Json).request_id as string);
}

function header(list: HeaderList, name: string): string | undefined {
  return list.find(([k]) => k === name)?.[1];
}

/** One GET with an `x-request-id`; returns the stream. */
function get(host: Host, id: string, extra: Record<string, string> = {}, status = 200, worker?: number) {
  return host.exchange(
    { path: `/r/${id}`, headers: { "x-request-id": id, ...extra }, worker },
    { status, body: "ok" },
  );
}

const schema = JSON.parse(readFileSync(path.join(__dirname, "config.schema.json"), "utf8")) as Schema;

const HTTP_SINK = { cluster: "collector", flushInterval: "10s", batchMaxRecords: 100 };

// --- Record fields ------------------------------------------------------------------------------

describe("record fields", () => {
  test("a full exchange gives the exact record (schema_version 1)", async () => {
    const host = await start(
      { headers: { request: ["user-agent", "x-custom"], response: ["content-type"] } },
      {
        startTimeMs: Date.UTC(2026, 1, 28, 23, 59, 58, 123),
        sourceAddress: "192.0.2.10:41000",
        properties: {
          "xds.route_name": "r1",
          "xds.cluster_name": "httpbin",
          "upstream.address": "10.0.0.7:8080",
        },
      },
    );
    const s = host.stream();
    s.setTestProperty(["response", "flags"], 0x24)
      .setTestProperty(["request", "total_size"], 321)
      .setTestProperty(["response", "total_size"], 456)
      .setTestProperty(["request", "protocol"], "HTTP/2");
    s.sendRequestHeaders(
      [
        [":method", "POST"],
        [":scheme", "https"],
        [":authority", "api.example.com"],
        [":path", "/v1/items?id=7&token=s3cr3t"],
        ["user-agent", "curl/8.5"],
        ["x-request-id", "req-1"],
        ["x-custom", "a"],
        ["x-custom", "b"],
        ["content-type", "application/json"],
        ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
      ],
      false,
    );
    s.sendRequestBody('{"n":1}', true);
    host.advance(12);
    host.respond(s, { status: 201, headers: { "content-type": "application/json" }, body: '{"id":7}' });
    s.complete();

    const expected = {
      schema_version: 1,
      start_time: "2026-02-28T23:59:58.123Z",
      duration_ms: 12,
      method: "POST",
      scheme: "https",
      authority: "api.example.com",
      path: "/v1/items?id=7&token=[REDACTED]",
      protocol: "HTTP/2",
      status: 201,
      response_code_details: "via_upstream",
      response_flags: ["UT", "UF"],
      request_size: 7,
      request_total_size: 321,
      response_size: 8,
      response_total_size: 456,
      client_address: "192.0.2.10:41000",
      user_agent: "curl/8.5",
      request_id: "req-1",
      route_name: "r1",
      upstream_cluster: "httpbin",
      upstream_host: "10.0.0.7:8080",
      trace: {
        format: "w3c",
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: true,
        debug: false,
      },
      request_headers: { "user-agent": "curl/8.5", "x-custom": "a, b" },
      response_headers: { "content-type": "application/json" },
    };
    // Exact text, field order included; the duration keeps its three decimals.
    expect(logLines(host)).toEqual([
      JSON.stringify(expected).replace('"duration_ms":12,', '"duration_ms":12.000,'),
    ]);
    expect(host.metric("accesslog_records_total")).toBe(1n);
  });

  test("a stream that ended without a response has null status and sizes", async () => {
    const host = await start({});
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "a"],
        [":path", "/slow"],
      ],
      true,
    );
    s.complete(); // the client went away before any response
    const [r] = logRecords(host);
    expect(r).toMatchObject({
      status: null,
      response_code_details: null,
      response_size: null,
      response_total_size: null,
      user_agent: null,
      request_id: null,
      route_name: null,
      upstream_cluster: null,
      upstream_host: null,
      trace: null,
    });
  });

  test.each([
    { name: "epoch", ms: 0, want: "1970-01-01T00:00:00.000Z" },
    { name: "leap day", ms: Date.UTC(2024, 1, 29, 12, 0, 0, 5), want: "2024-02-29T12:00:00.005Z" },
    {
      name: "end of a century year",
      ms: Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      want: "1999-12-31T23:59:59.999Z",
    },
    { name: "2100 is no leap year", ms: Date.UTC(2100, 2, 1), want: "2100-03-01T00:00:00.000Z" },
    { name: "leap day 2096", ms: Date.UTC(2096, 1, 29, 1, 2, 3, 4), want: "2096-02-29T01:02:03.004Z" },
  ])("start_time: $name", async ({ ms, want }) => {
    const host = await start({}, { startTimeMs: ms });
    host.exchange({});
    expect(logRecords(host)[0].start_time).toBe(want);
  });

  test.each([
    { name: "0 ms", advance: 0, want: '"duration_ms":0.000' },
    { name: "1 ms", advance: 1, want: '"duration_ms":1.000' },
    { name: "1.5 s", advance: 1500, want: '"duration_ms":1500.000' },
  ])("duration_ms keeps microsecond precision: $name", async ({ advance, want }) => {
    const host = await start({});
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "a"],
        [":path", "/"],
      ],
      true,
    );
    host.advance(advance);
    host.respond(s, { status: 200 });
    s.complete();
    expect(logLines(host)[0]).toContain(want);
  });

  test.each([
    { name: "none", bits: 0, want: [] },
    { name: "UF (upstream connection failure, bit 5)", bits: 1 << 5, want: ["UF"] },
    { name: "NR (no route, bit 8)", bits: 1 << 8, want: ["NR"] },
    { name: "URX and UO", bits: (1 << 15) | (1 << 7), want: ["UO", "URX"] },
    { name: "UDO (last flag, bit 29)", bits: 1 << 29, want: ["UDO"] },
  ])("response_flags: $name", async ({ bits, want }) => {
    const host = await start({});
    host.exchange({ properties: { "response.flags": bits } });
    expect(logRecords(host)[0].response_flags).toEqual(want);
  });

  test.each([
    { name: "newline and CR", value: "a\nb\rc" },
    { name: "quote and backslash", value: 'say "hi" \\o/' },
    { name: "control characters", value: "\u0001\u0007\u001f\u007f" },
    { name: "line and paragraph separators", value: "x\u2028y\u2029z" },
    { name: "non-ASCII and emoji", value: "héllo 世界 🚀" },
    { name: "tab, backspace, form feed", value: "\t\b\f" },
  ])("JSON escaping keeps one valid line: $name", async ({ value }) => {
    const host = await start({});
    host.exchange({ headers: { "user-agent": value } });
    const [line] = logLines(host);
    expect(line).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(line).not.toMatch(/[\u0000-\u001f]/); // eslint-disable-line no-control-regex
    expect((JSON.parse(line) as Json).user_agent).toBe(value);
  });

  test("values longer than maxValueLength are cut and marked", async () => {
    const host = await start({ maxValueLength: 20 });
    host.exchange({ headers: { "user-agent": "u".repeat(50) } });
    expect(logRecords(host)[0].user_agent).toBe("u".repeat(20) + "...");
  });

  test.each([
    {
      name: "B3 single with parent",
      headers: { b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90" },
      want: {
        format: "b3",
        trace_id: "80f198ee56343ba864fe8b2a57d3eff7",
        span_id: "e457b5a2e4d86bd1",
        parent_span_id: "05e3ac9a4f6e3b90",
        sampled: true,
        debug: false,
      },
    },
    {
      name: "B3 single, 64-bit trace id, debug",
      headers: { b3: "a3ce929d0e0e4736-00f067aa0ba902b7-d" },
      want: {
        format: "b3",
        trace_id: "a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: true,
        debug: true,
      },
    },
    {
      name: "B3 single without sampling state",
      headers: { b3: "a3ce929d0e0e4736-00f067aa0ba902b7" },
      want: {
        format: "b3",
        trace_id: "a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: null,
        debug: false,
      },
    },
    {
      name: "B3 single, sampling state only (deny)",
      headers: { b3: "0" },
      want: {
        format: "b3",
        trace_id: null,
        span_id: null,
        parent_span_id: null,
        sampled: false,
        debug: false,
      },
    },
    {
      name: "B3 multi with flags (debug)",
      headers: {
        "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124",
        "x-b3-spanid": "a2fb4a1d1a96d312",
        "x-b3-parentspanid": "0020000000000001",
        "x-b3-flags": "1",
      },
      want: {
        format: "b3multi",
        trace_id: "463ac35c9f6413ad48485a3953bb6124",
        span_id: "a2fb4a1d1a96d312",
        parent_span_id: "0020000000000001",
        sampled: true,
        debug: true,
      },
    },
    {
      name: 'B3 multi, legacy sampled "false"',
      headers: {
        "x-b3-traceid": "463ac35c9f6413ad",
        "x-b3-spanid": "a2fb4a1d1a96d312",
        "x-b3-sampled": "false",
      },
      want: {
        format: "b3multi",
        trace_id: "463ac35c9f6413ad",
        span_id: "a2fb4a1d1a96d312",
        parent_span_id: null,
        sampled: false,
        debug: false,
      },
    },
    {
      name: "W3C not sampled",
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" },
      want: {
        format: "w3c",
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: false,
        debug: false,
      },
    },
    {
      name: "B3 single wins over W3C",
      headers: {
        b3: "a3ce929d0e0e4736-00f067aa0ba902b7-1",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
      },
      want: {
        format: "b3",
        trace_id: "a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: true,
        debug: false,
      },
    },
    {
      name: "a malformed b3 falls through to W3C",
      headers: {
        b3: "not-a-trace",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      },
      want: {
        format: "w3c",
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: true,
        debug: false,
      },
    },
    {
      name: "B3 multi without span id is ignored",
      headers: { "x-b3-traceid": "463ac35c9f6413ad" },
      want: null,
    },
    {
      name: "upper-case hex is normalised",
      headers: { b3: " A3CE929D0E0E4736-00F067AA0BA902B7-1 " },
      want: {
        format: "b3",
        trace_id: "a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
        parent_span_id: null,
        sampled: true,
        debug: false,
      },
    },
    { name: "a short span id is invalid", headers: { b3: "a3ce929d0e0e4736-00f067aa0ba902b" }, want: null },
    {
      name: "all-zero W3C trace id is invalid",
      headers: { traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" },
      want: null,
    },
    {
      name: "W3C version ff is invalid",
      headers: { traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
      want: null,
    },
    { name: "no trace headers", headers: {}, want: null },
  ])("trace block: $name", async ({ headers, want }) => {
    const host = await start({});
    host.exchange({ headers: headers as Record<string, string> });
    expect(logRecords(host)[0].trace).toEqual(want);
  });
});

// --- Redaction ----------------------------------------------------------------------------------

describe("redaction", () => {
  const ALL = { request: ["*"], response: ["*"] };

  test.each<{ name: string; h: H; want: H }>([
    {
      name: "Bearer token → scheme only",
      h: { authorization: "Bearer eyJhbGciOi.x.y" },
      want: { authorization: "Bearer" },
    },
    {
      name: "Basic credentials → scheme only",
      h: { authorization: "Basic dXNlcjpwYXNz" },
      want: { authorization: "Basic" },
    },
    {
      name: "bare token without scheme → masked whole",
      h: { authorization: "abc123secret" },
      want: { authorization: "[REDACTED]" },
    },
    {
      name: "proxy-authorization",
      h: { "proxy-authorization": "Digest u=1" },
      want: { "proxy-authorization": "Digest" },
    },
    {
      name: "cookie names kept, values masked",
      h: { cookie: "session=abc; theme=dark; flag" },
      want: { cookie: "session=[REDACTED]; theme=[REDACTED]; [REDACTED]" },
    },
    {
      name: "default masked header x-api-key",
      h: { "x-api-key": "k-123" },
      want: { "x-api-key": "[REDACTED]" },
    },
    {
      name: "referer query parameters",
      h: { referer: "https://a.example/cb?code=xyz&state=1" },
      want: { referer: "https://a.example/cb?code=[REDACTED]&state=1" },
    },
    { name: "other headers untouched", h: { "x-trace-me": "v" }, want: { "x-trace-me": "v" } },
  ])("request header: $name", async ({ h, want }) => {
    const host = await start({ headers: ALL });
    host.exchange({ headers: h });
    expect(logRecords(host)[0].request_headers).toEqual(want);
  });

  test("set-cookie keeps the name and attributes, masks the value", async () => {
    const host = await start({ headers: ALL });
    host.exchange({}, { headers: [["set-cookie", "sid=abc123; Path=/; Secure; HttpOnly"]] });
    expect(logRecords(host)[0].response_headers).toEqual({
      "set-cookie": "sid=[REDACTED]; Path=/; Secure; HttpOnly",
    });
  });

  test.each([
    { name: "allowlist logs only listed headers", headers: { request: ["x-a"] }, want: { "x-a": "1" } },
    {
      name: '"*" logs every non-pseudo header',
      headers: { request: ["*"] },
      want: { "x-a": "1", "x-b": "2", "x-c": "3" },
    },
    {
      name: "denylist wins over *",
      headers: { request: ["*"], exclude: ["x-b"] },
      want: { "x-a": "1", "x-c": "3" },
    },
    {
      name: "denylist wins over the allowlist",
      headers: { request: ["x-a", "x-b"], exclude: ["X-B"] },
      want: { "x-a": "1" },
    },
    { name: "names are case-insensitive", headers: { request: ["X-C"] }, want: { "x-c": "3" } },
  ])("header lists: $name", async ({ headers, want }) => {
    const host = await start({ headers });
    host.exchange({ headers: { "x-a": "1", "x-b": "2", "x-c": "3" } });
    expect(logRecords(host)[0].request_headers).toEqual(want);
  });

  test("redact.headers masks extra headers whole", async () => {
    const host = await start({ headers: ALL, redact: { headers: ["X-Tenant-Secret"] } });
    host.exchange({ headers: { "x-tenant-secret": "t0p", "x-tenant": "acme" } });
    expect(logRecords(host)[0].request_headers).toEqual({
      "x-tenant-secret": "[REDACTED]",
      "x-tenant": "acme",
    });
  });

  test.each([
    { name: "default parameter", path: "/p?token=abc&q=1", want: "/p?token=[REDACTED]&q=1" },
    { name: "case-insensitive name", path: "/p?Access_Token=abc", want: "/p?Access_Token=[REDACTED]" },
    { name: "percent-encoded name", path: "/p?acc%65ss_token=abc", want: "/p?acc%65ss_token=[REDACTED]" },
    { name: "repeated parameter", path: "/p?key=1&key=2&x=3", want: "/p?key=[REDACTED]&key=[REDACTED]&x=3" },
    { name: "configured parameter", path: "/p?tenant_pin=9&q=1", want: "/p?tenant_pin=[REDACTED]&q=1" },
    { name: "fragment kept", path: "/p?sig=zz#frag", want: "/p?sig=[REDACTED]#frag" },
    { name: "no value to mask", path: "/p?token&x=", want: "/p?token&x=" },
    { name: "no query", path: "/plain/path", want: "/plain/path" },
  ])("query parameter: $name", async ({ path, want }) => {
    const host = await start({ redact: { queryParams: ["TENANT_PIN"] } });
    host.exchange({ path });
    expect(logRecords(host)[0].path).toBe(want);
  });

  describe("hash mode", () => {
    const KEY = "0123456789abcdef-test-key";
    const h = (v: string) => "hmac:" + createHmac("sha256", KEY).update(v).digest("hex").slice(0, 16);

    test.each<{ name: string; hdr: H; want: H }>([
      {
        name: "authorization keeps the scheme",
        hdr: { authorization: "Bearer tok-1" },
        want: { authorization: `Bearer ${h("tok-1")}` },
      },
      { name: "cookie values", hdr: { cookie: "a=1; b=2" }, want: { cookie: `a=${h("1")}; b=${h("2")}` } },
      { name: "masked header", hdr: { "x-api-key": "k-9" }, want: { "x-api-key": h("k-9") } },
      {
        name: "non-ASCII value (UTF-8 hashed)",
        hdr: { "x-api-key": "clé-é" },
        want: { "x-api-key": h("clé-é") },
      },
    ])("$name", async ({ hdr, want }) => {
      const host = await start({ headers: ALL, redact: { mode: "hash", hashKey: KEY } });
      host.exchange({ headers: hdr });
      expect(logRecords(host)[0].request_headers).toEqual(want);
    });

    test("query values hash after percent-decoding, and equal values correlate across records", async () => {
      const host = await start({ redact: { mode: "hash", hashKey: KEY } });
      host.exchange({ path: "/a?token=s%20x" });
      host.exchange({ path: "/b?token=s+x" });
      const [a, b] = logRecords(host);
      expect(a.path).toBe(`/a?token=${h("s x")}`);
      expect(b.path).toBe(`/b?token=${h("s x")}`);
    });

    test("the key can come from the VM environment (hashKeyEnv)", async () => {
      const host = await start(
        { headers: ALL, redact: { mode: "hash", hashKeyEnv: "ACCESSLOG_KEY" } },
        { env: { ACCESSLOG_KEY: KEY } },
      );
      host.exchange({ headers: { "x-api-key": "k-9" } });
      expect(logRecords(host)[0].request_headers).toEqual({ "x-api-key": h("k-9") });
    });

    test("a key longer than the SHA-256 block is hashed first (RFC 2104)", async () => {
      const long = "k".repeat(100);
      const host = await start({ headers: ALL, redact: { mode: "hash", hashKey: long } });
      host.exchange({ headers: { "x-api-key": "v" } });
      const want = "hmac:" + createHmac("sha256", long).update("v").digest("hex").slice(0, 16);
      expect(logRecords(host)[0].request_headers).toEqual({ "x-api-key": want });
    });
  });

  test("with default redaction no secret reaches either sink, even logging every header", async () => {
    const host = await start({ headers: ALL, sinks: { http: { ...HTTP_SINK, batchMaxRecords: 1 } } });
    host.exchange(
      {
        path: "/cb?access_token=TOPSECRET4&ok=1",
        headers: {
          authorization: "Bearer TOPSECRET1",
          cookie: "sid=TOPSECRET2",
          "x-api-key": "TOPSECRET3",
          referer: "https://idp.example/?token=TOPSECRET6",
        },
      },
      { headers: [["set-cookie", "sid=TOPSECRET5; HttpOnly"]] },
    );
    const calls = host.pendingHttpCalls();
    expect(calls).toHaveLength(1);
    const everything = [...host.logs(), ...calls.map((c) => new TextDecoder().decode(c.body))].join("\n");
    expect(everything).toContain('"authorization":"Bearer"');
    expect(everything).not.toContain("TOPSECRET");
  });
});

// --- Conditions and sampling --------------------------------------------------------------------

describe("conditions", () => {
  test.each([
    { name: "errors only", classes: ["4xx", "5xx"], want: [404, 503] },
    { name: "successes only", classes: ["2xx"], want: [200] },
    { name: "no-response streams", classes: ["none"], want: [null] },
    { name: "all (default)", classes: undefined, want: [200, 404, 503, null] },
  ])("statusClasses: $name", async ({ classes, want }) => {
    const host = await start({ conditions: classes ? { statusClasses: classes } : {} });
    for (const status of [200, 404, 503]) host.exchange({}, { status });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "a"],
        [":path", "/"],
      ],
      true,
    );
    s.complete();
    expect(logRecords(host).map((r) => r.status)).toEqual(want);
    expect(host.metric("accesslog_records_skipped_total") ?? 0n).toBe(BigInt(4 - want.length));
  });

  test.each([
    { name: "faster than minDuration is skipped", ms: 499, status: 200, errors: false, logged: false },
    { name: "exactly minDuration is logged", ms: 500, status: 200, errors: false, logged: true },
    { name: "slower is logged", ms: 1200, status: 200, errors: false, logged: true },
    {
      name: "a fast error is skipped when alwaysLogErrors is off",
      ms: 10,
      status: 500,
      errors: false,
      logged: false,
    },
    {
      name: "a fast error is logged when alwaysLogErrors is on",
      ms: 10,
      status: 500,
      errors: true,
      logged: true,
    },
  ])("minDuration (fake clock): $name", async ({ ms, status, errors, logged }) => {
    const host = await start({ conditions: { minDuration: "500ms" }, sampling: { alwaysLogErrors: errors } });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "a"],
        [":path", "/x"],
      ],
      true,
    );
    host.advance(ms);
    host.respond(s, { status });
    s.complete();
    expect(logLines(host)).toHaveLength(logged ? 1 : 0);
  });

  test.each([
    { name: "exact path", path: "/healthz", logged: false },
    { name: "exact path with a query", path: "/healthz?full=1", logged: false },
    { name: "exact path is not a prefix", path: "/healthz/deep", logged: true },
    { name: "prefix", path: "/internal/metrics", logged: false },
    { name: "errors on excluded paths stay excluded", path: "/healthz", status: 503, logged: false },
    { name: "other paths", path: "/api", logged: true },
  ])("path exclusions: $name", async ({ path, status, logged }) => {
    const host = await start({
      conditions: { excludePaths: ["/healthz"], excludePathPrefixes: ["/internal/"] },
    });
    host.exchange({ path }, { status: status ?? 200 });
    expect(logLines(host)).toHaveLength(logged ? 1 : 0);
  });

  test("a record below the log sink's level costs nothing and is not counted", async () => {
    const host = await start({ sinks: { log: { level: "debug" } } }, { logLevel: "info" });
    host.exchange({});
    expect(logLines(host, "debug")).toEqual([]);
    expect(host.metric("accesslog_records_total")).toBeUndefined();
  });

  test.each([
    { name: "info (default)", level: undefined, at: "info" as const },
    { name: "warn", level: "warn", at: "warn" as const },
    { name: "debug", level: "debug", at: "debug" as const },
  ])("log sink level: $name", async ({ level, at }) => {
    const host = await start({ sinks: { log: level ? { level } : {} } });
    host.exchange({});
    expect(logLines(host, at)).toHaveLength(1);
  });
});

describe("consistent sampling on the trace id", () => {
  /** Deterministic 128-bit trace ids. */
  const ids = Array.from({ length: 64 }, (_, i) =>
    createHash("sha256").update(`trace-${i}`).digest("hex").slice(0, 32),
  );
  /** OpenTelemetry TraceIdRatioBased (Go SDK): low 64 bits >> 1 < rate * 2^63. */
  const otelSampled = (traceId: string, rate: number) =>
    BigInt("0x" + traceId.slice(-16)) >> 1n < BigInt(rate * 2 ** 63);
  const SPAN = "00f067aa0ba902b7";

  const formats: Array<{ name: string; headers: (t: string) => Record<string, string> }> = [
    { name: "B3 single", headers: (t) => ({ b3: `${t}-${SPAN}` }) },
    { name: "B3 multi", headers: (t) => ({ "x-b3-traceid": t, "x-b3-spanid": SPAN }) },
    { name: "W3C traceparent", headers: (t) => ({ traceparent: `00-${t}-${SPAN}-00` }) },
    { name: "B3 single, 64-bit id", headers: (t) => ({ b3: `${t.slice(16)}-${SPAN}` }) },
  ];

  test.each(formats)(
    "$name: decisions equal OpenTelemetry's ratio sampler at 0.3 and 0.7, on every worker",
    async ({ headers }) => {
      for (const rate of [0.3, 0.7]) {
        const host = await start({ sampling: { rate, alwaysLogErrors: false } }, { workers: 2 });
        for (const t of ids) for (const worker of [0, 1]) host.exchange({ headers: headers(t), worker });
        const logged = logRecords(host).map((r) => (r.trace as Json).trace_id as string);
        const want = ids
          .filter((t) => otelSampled(t, rate))
          .flatMap((t) => [t, t])
          .map((t) => headers(t).b3?.split("-")[0] ?? t);
        expect(logged).toEqual(want);
        expect(want.length).toBeGreaterThan(0);
        expect(want.length).toBeLessThan(2 * ids.length);
      }
    },
  );

  test("a lower rate logs a subset of what a higher rate logs", async () => {
    const loggedAt = async (rate: number) => {
      const host = await start({ sampling: { rate } });
      for (const t of ids) host.exchange({ headers: { traceparent: `00-${t}-${SPAN}-01` } });
      return new Set(logRecords(host).map((r) => (r.trace as Json).trace_id as string));
    };
    const low = await loggedAt(0.2);
    const high = await loggedAt(0.6);
    expect(low.size).toBeLessThan(high.size);
    for (const t of low) expect(high.has(t)).toBe(true);
  });

  test.each([
    { name: "rate 0 logs no success", rate: 0, status: 200, logged: false },
    { name: "rate 0 still logs a 404", rate: 0, status: 404, logged: true },
    { name: "rate 0 still logs a 500", rate: 0, status: 500, logged: true },
    { name: "rate 1 logs everything", rate: 1, status: 200, logged: true },
  ])("always-log 4xx/5xx: $name", async ({ rate, status, logged }) => {
    const host = await start({ sampling: { rate } });
    host.exchange({ headers: { traceparent: `00-${ids[0]}-${SPAN}-01` } }, { status });
    expect(logLines(host)).toHaveLength(logged ? 1 : 0);
  });

  test.each<{ name: string; headers: H; logged: boolean }>([
    { name: "B3 sampled=1", headers: { b3: `${ids[1]}-${SPAN}-1` }, logged: true },
    { name: "B3 debug", headers: { b3: `${ids[1]}-${SPAN}-d` }, logged: true },
    { name: "W3C sampled flag", headers: { traceparent: `00-${ids[1]}-${SPAN}-01` }, logged: true },
    { name: "B3 sampled=0", headers: { b3: `${ids[1]}-${SPAN}-0` }, logged: false },
    { name: "no decision", headers: { b3: `${ids[1]}-${SPAN}` }, logged: false },
  ])("honorTraceSampled at rate 0: $name", async ({ headers, logged }) => {
    const host = await start({ sampling: { rate: 0, honorTraceSampled: true } });
    host.exchange({ headers });
    expect(logLines(host)).toHaveLength(logged ? 1 : 0);
  });

  test("without a trace id the x-request-id decides, the same way on every worker", async () => {
    const host = await start({ sampling: { rate: 0.5 } }, { workers: 2 });
    const rids = Array.from({ length: 40 }, (_, i) => `rid-${i}`);
    for (const id of rids) for (const worker of [0, 1]) get(host, id, {}, 200, worker);
    const logged = logRecords(host).map((r) => r.request_id as string);
    const once = [...new Set(logged)];
    expect(logged).toEqual(once.flatMap((id) => [id, id]));
    expect(once.length).toBeGreaterThan(5);
    expect(once.length).toBeLessThan(35);
  });
});

// --- The HTTP sink: batching, overflow, failures ------------------------------------------------

describe("HTTP sink batching", () => {
  test("by size: the batch goes out as soon as batchMaxRecords records are buffered", async () => {
    const host = await start({
      sinks: {
        log: { enabled: false },
        http: {
          cluster: "collector",
          path: "/ingest",
          authority: "logs.internal",
          headers: { "X-Api-Key": "collector-key" },
          timeout: "2s",
          batchMaxRecords: 3,
          flushInterval: "10s",
        },
      },
    });
    get(host, "a");
    get(host, "b");
    expect(host.pendingHttpCalls()).toHaveLength(0);
    get(host, "c");
    const [call, ...rest] = host.pendingHttpCalls();
    expect(rest).toHaveLength(0);
    expect(call.cluster).toBe("collector");
    expect(call.timeoutMs).toBe(2000);
    expect(call.headers).toEqual([
      [":method", "POST"],
      [":path", "/ingest"],
      [":authority", "logs.internal"],
      ["content-type", "application/x-ndjson"],
      ["x-api-key", "collector-key"],
    ]);
    expect(batchIds(call)).toEqual(["a", "b", "c"]);
    expect(logLines(host)).toEqual([]); // the log sink is off
    host.respondHttpCall(call, { status: 204 });
    expect(host.metric("accesslog_batches_sent_total")).toBe(1n);
    expect(host.metric("accesslog_records_sent_total")).toBe(3n);
    expect(host.metric("accesslog_buffered_records")).toBe(0n);
  });

  test("by time: buffered records go out once the oldest is flushInterval old", async () => {
    const host = await start({
      sinks: { http: { cluster: "collector", flushInterval: "1s", batchMaxRecords: 100 } },
    });
    get(host, "a");
    host.advance(400);
    get(host, "b");
    host.advance(599);
    expect(host.pendingHttpCalls()).toHaveLength(0);
    host.advance(1);
    const calls = host.pendingHttpCalls();
    expect(calls.map(batchIds)).toEqual([["a", "b"]]);
  });

  test("by bytes: a batch never exceeds batchMaxBytes (but holds at least one record)", async () => {
    const host = await start({
      headers: { request: ["x-pad"] },
      sinks: {
        http: { cluster: "collector", batchMaxBytes: 2048, batchMaxRecords: 100, flushInterval: "50ms" },
      },
    });
    const pads = [0, 50, 100, 600, 1500]; // the last record alone is larger than a batch
    ["a", "b", "c", "d", "e"].forEach((id, i) => get(host, id, { "x-pad": "p".repeat(pads[i]) }));
    // Greedy over the record sizes (each line plus its newline), at least one record per batch.
    const want: string[][] = [];
    let size = 0;
    for (const line of logLines(host)) {
      const id = (JSON.parse(line) as Json).request_id as string;
      const len = Buffer.byteLength(line) + 1;
      if (want.length === 0 || size + len > 2048) {
        want.push([id]);
        size = len;
      } else {
        want[want.length - 1].push(id);
        size += len;
      }
    }
    expect(want).toEqual([["a", "b", "c"], ["d"], ["e"]]);
    const sent: string[][] = [];
    for (let i = 0; i < 10 && sent.flat().length < 5; i++) {
      host.advance(50);
      for (const c of host.pendingHttpCalls()) {
        if (batchIds(c).length > 1) expect(c.body.length).toBeLessThanOrEqual(2048);
        sent.push(batchIds(c));
        host.respondHttpCall(c, { status: 200 });
      }
    }
    expect(sent).toEqual(want);
  });

  test("one batch in flight at a time; the next follows the answer", async () => {
    const host = await start({
      sinks: { http: { cluster: "collector", batchMaxRecords: 2, flushInterval: "10s" } },
    });
    for (const id of ["a", "b", "c", "d", "e"]) get(host, id);
    const [first] = host.pendingHttpCalls();
    expect(host.pendingHttpCalls()).toHaveLength(1);
    host.respondHttpCall(first, { status: 200 });
    const [second] = host.pendingHttpCalls();
    expect(batchIds(second)).toEqual(["c", "d"]);
    host.respondHttpCall(second, { status: 200 });
    expect(host.pendingHttpCalls()).toHaveLength(0); // "e" waits for size or time
    host.advance(10_000);
    expect(host.pendingHttpCalls().map(batchIds)).toEqual([["e"]]);
  });

  test("records from every worker reach one elected sender, each exactly once", async () => {
    const host = await start({ sinks: { http: { ...HTTP_SINK, batchMaxRecords: 4 } } }, { workers: 3 });
    host.advance(500); // first ticks: the election
    expect(host.logs("info").filter((l) => l.includes("is now the batch sender"))).toHaveLength(1);
    const ids = Array.from({ length: 12 }, (_, i) => `w${i % 3}-${i}`);
    ids.forEach((id, i) => get(host, id, {}, 200, i % 3));
    const seen: string[] = [];
    const vms = new Set<number>();
    for (let i = 0; i < 10 && seen.length < ids.length; i++) {
      for (const c of host.pendingHttpCalls()) {
        seen.push(...batchIds(c));
        vms.add(c.vm);
        host.respondHttpCall(c, { status: 200 });
      }
    }
    expect(seen).toEqual(ids);
    expect(vms.size).toBe(1);
  });

  test("a stale sender (trapped or gone) is replaced after 2 s without a heartbeat", async () => {
    const host = await start({ sinks: { http: HTTP_SINK } }, { workers: 2 });
    // Someone else holds the role with a fresh heartbeat and then never refreshes it.
    const now = host.clock.nowMs;
    host.sharedData.set("", ELECTION, new TextEncoder().encode(`deadbeefdeadbeef ${now}`), 0);
    host.advance(1750);
    expect(host.logs("info").filter((l) => l.includes("is now the batch sender"))).toHaveLength(0);
    host.advance(500);
    expect(host.logs("info").filter((l) => l.includes("is now the batch sender"))).toHaveLength(1);
  });

  test("a configuration update hands the sender role over without losing or repeating records", async () => {
    const cfg = { sinks: { http: { ...HTTP_SINK, batchMaxRecords: 3 } } };
    const host = await start(cfg, { workers: 2 });
    host.advance(500);
    for (const id of ["a", "b"]) get(host, id); // buffered at the old sender
    expect(host.reconfigure(cfg)).toBe(true); // old roots: onDone sends what they hold
    const [final] = host.pendingHttpCalls();
    expect(batchIds(final)).toEqual(["a", "b"]);
    host.respondHttpCall(final, { status: 200 }); // the old root finishes (proxy_done)
    for (const id of ["c", "d", "e"]) get(host, id);
    host.advance(500); // the new roots elect; the new sender drains the queue
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      host.advance(10_000);
      for (const c of host.pendingHttpCalls()) {
        seen.push(...batchIds(c));
        host.respondHttpCall(c, { status: 200 });
      }
    }
    expect(seen).toEqual(["c", "d", "e"]);
    expect(host.metric("accesslog_records_sent_total")).toBe(5n);
    expect(host.metric("accesslog_records_dropped_total") ?? 0n).toBe(0n);
  });
  test("shutdown sends what the sender holds, batch after batch, then finishes with proxy_done", async () => {
    const host = await start({ sinks: { http: { ...HTTP_SINK, batchMaxRecords: 2 } } });
    host.advance(500);
    for (const id of ["a", "b", "c", "d", "e"]) get(host, id);
    const [first] = host.pendingHttpCalls(); // [a, b] went out by size; c, d, e are buffered
    host.shutdown(); // on_done: the root keeps itself alive while a call is outstanding
    host.respondHttpCall(first, { status: 200 });
    const seen = [["a", "b"]];
    for (let i = 0; i < 5 && host.pendingHttpCalls().length > 0; i++) {
      const [c] = host.pendingHttpCalls();
      seen.push(batchIds(c));
      host.respondHttpCall(c, { status: 200 });
    }
    expect(seen).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(host.calls.filter((c) => c.name === "proxy_done").map((c) => c.result)).toEqual([0]);
    expect(host.sharedValue(ELECTION) && new TextDecoder().decode(host.sharedValue(ELECTION))).toBe("- 0");
  });
});

describe("bounded buffer (drop-newest)", () => {
  test("past bufferMaxRecords the newest records are dropped and counted; the oldest survive", async () => {
    const host = await start({
      sinks: {
        log: { enabled: false },
        http: { cluster: "collector", batchMaxRecords: 2, bufferMaxRecords: 5, flushInterval: "10s" },
      },
    });
    const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
    for (const id of ids) get(host, id);
    // r0, r1 are in flight, r2..r4 buffered; r5..r11 dropped.
    expect(host.metric("accesslog_records_dropped_total")).toBe(7n);
    expect(host.metric("accesslog_buffered_records")).toBe(5n);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      host.advance(10_000);
      for (const c of host.pendingHttpCalls()) {
        seen.push(...batchIds(c));
        host.respondHttpCall(c, { status: 200 });
      }
    }
    expect(seen).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    expect(
      host.metric("accesslog_records_sent_total")! + host.metric("accesslog_records_dropped_total")!,
    ).toBe(12n);
  });

  test("bufferMaxBytes bounds the buffer by size too", async () => {
    const host = await start({
      headers: { request: ["x-pad"] },
      sinks: {
        http: { cluster: "collector", batchMaxRecords: 100, bufferMaxBytes: 4096, flushInterval: "10s" },
      },
    });
    for (let i = 0; i < 10; i++) get(host, `r${i}`, { "x-pad": "p".repeat(900) });
    // The records that fit, oldest first: the same text the log sink wrote.
    let fit = 0;
    let bytes = 0;
    for (const line of logLines(host)) {
      bytes += Buffer.byteLength(line);
      if (bytes > 4096) break;
      fit++;
    }
    expect(fit).toBe(2); // each record is about 1.6 KiB
    expect(host.metric("accesslog_buffered_records")).toBe(BigInt(fit));
    expect(host.metric("accesslog_records_dropped_total")).toBe(BigInt(10 - fit));
    host.advance(10_000);
    expect(host.pendingHttpCalls().map(batchIds)).toEqual([["r0", "r1"]]);
  });

  test("guest memory stays flat while the collector is down and records keep coming", async () => {
    const host = await start(
      {
        headers: { request: ["x-pad"] },
        sinks: {
          log: { enabled: false },
          http: { cluster: "collector", batchMaxRecords: 10, bufferMaxRecords: 50, flushInterval: "10s" },
        },
      },
      { trace: false },
    );
    const burst = (n: number, from: number) => {
      for (let i = 0; i < n; i++) get(host, `r${from + i}`, { "x-pad": "p".repeat(200) });
    };
    burst(300, 0); // fill the buffer and warm the allocator up
    const before = host.memoryBytes();
    burst(2000, 300);
    expect(host.memoryBytes()).toBe(before);
    expect(host.metric("accesslog_records_dropped_total")).toBe(2250n);
    expect(host.queueItems(QUEUE)).toHaveLength(0);
  });
});

describe("collector failures and retries", () => {
  const RETRY = { initialBackoff: "1s", maxBackoff: "4s", maxRetries: 3, jitter: 0 };
  const sinkWith = (retry: Json = RETRY, extra: Json = {}) => ({
    sinks: {
      log: { enabled: false },
      http: { cluster: "collector", batchMaxRecords: 1, flushInterval: "1s", retry, ...extra },
    },
  });

  /** Fails the only pending call in one of the ways Envoy reports failures. */
  type Failure = (host: Host, c: HttpCallout) => void;
  const failures: Array<{ name: string; fail: Failure }> = [
    { name: "reset (no headers)", fail: (h, c) => h.failHttpCall(c) },
    {
      name: "503 (Envoy: connection refused)",
      fail: (h, c) => h.respondHttpCall(c, { status: 503, body: "upstream connect error" }),
    },
    { name: "500", fail: (h, c) => h.respondHttpCall(c, { status: 500 }) },
    { name: "429", fail: (h, c) => h.respondHttpCall(c, { status: 429 }) },
    { name: "408", fail: (h, c) => h.respondHttpCall(c, { status: 408 }) },
  ];

  test.each(failures)(
    "$name: the same batch is retried after 1 s, 2 s, 4 s, then dropped",
    async ({ fail }) => {
      const host = await start(sinkWith());
      get(host, "x");
      const waits = [1000, 2000, 4000];
      for (const wait of waits) {
        const [c] = host.pendingHttpCalls();
        fail(host, c);
        host.advance(wait - 1);
        expect(host.pendingHttpCalls()).toHaveLength(0);
        host.advance(1);
        expect(host.pendingHttpCalls().map(batchIds)).toEqual([["x"]]);
      }
      fail(host, host.pendingHttpCalls()[0]); // the 4th failure exhausts maxRetries = 3
      host.advance(60_000);
      expect(host.pendingHttpCalls()).toHaveLength(0);
      expect(host.metric("accesslog_batches_failed_total")).toBe(4n);
      expect(host.metric("accesslog_batches_dropped_total")).toBe(1n);
      expect(host.metric("accesslog_records_dropped_total")).toBe(1n);
      expect(host.metric("accesslog_buffered_records")).toBe(0n);
      expect(host.logs("warn")).toContain(
        "accesslog: dropped a batch of 1 record(s) after 4 failed attempt(s)",
      );
    },
  );

  test("a timeout (Envoy answers 504 itself) is retried", async () => {
    const host = await start(sinkWith(RETRY, { timeout: "2s" }));
    get(host, "x");
    const [c] = host.pendingHttpCalls();
    host.advance(2000); // Envoy's async client times the call out
    expect(c.done).toBe(true);
    expect(host.metric("accesslog_batches_failed_total")).toBe(1n);
    host.advance(1000);
    expect(host.pendingHttpCalls().map(batchIds)).toEqual([["x"]]);
  });

  test.each([
    { name: "400", status: 400 },
    { name: "401", status: 401 },
    { name: "413", status: 413 },
  ])("a $name answer is not retried: the batch is dropped and counted", async ({ status }) => {
    const host = await start(sinkWith());
    get(host, "x");
    host.respondHttpCall(host.pendingHttpCalls()[0], { status });
    host.advance(10_000);
    expect(host.pendingHttpCalls()).toHaveLength(0);
    expect(host.metric("accesslog_batches_dropped_total")).toBe(1n);
    expect(host.metric("accesslog_records_dropped_total")).toBe(1n);
  });

  test("recovery: after failures the batch is delivered once and counters reset", async () => {
    const host = await start(sinkWith({ ...RETRY, maxRetries: 10 }));
    get(host, "x");
    host.failHttpCall(host.pendingHttpCalls()[0]);
    host.advance(1000);
    host.respondHttpCall(host.pendingHttpCalls()[0], { status: 503 });
    host.advance(2000);
    host.respondHttpCall(host.pendingHttpCalls()[0], { status: 200 });
    get(host, "y"); // a fresh batch starts again at the initial backoff
    host.failHttpCall(host.pendingHttpCalls()[0]);
    host.advance(1000);
    expect(host.pendingHttpCalls().map(batchIds)).toEqual([["y"]]);
    expect(host.metric("accesslog_batches_sent_total")).toBe(1n);
    expect(host.metric("accesslog_batches_failed_total")).toBe(3n);
    expect(host.metric("accesslog_records_dropped_total") ?? 0n).toBe(0n);
  });

  test.each([
    { name: "no jitter", jitter: 0, random: 0xff, wait: 1000 },
    { name: "jitter 0.5, random 0", jitter: 0.5, random: 0x00, wait: 1000 },
    { name: "jitter 0.5, random max", jitter: 0.5, random: 0xff, wait: 1500 },
  ])("backoff jitter: $name", async ({ jitter, random, wait }) => {
    const host = await start(sinkWith({ ...RETRY, initialBackoff: "1s", jitter }), {
      random: (n) => new Uint8Array(n).fill(random),
    });
    get(host, "x");
    host.failHttpCall(host.pendingHttpCalls()[0]);
    host.advance(wait - 250); // ticks come every 250 ms here
    expect(host.pendingHttpCalls()).toHaveLength(0);
    host.advance(250);
    expect(host.pendingHttpCalls()).toHaveLength(1);
  });

  test("a call Envoy refuses (unknown cluster) counts as a failed attempt and is logged", async () => {
    const host = await start(sinkWith(), { clusters: ["other"] });
    get(host, "x");
    expect(host.pendingHttpCalls()).toHaveLength(0);
    expect(host.metric("accesslog_batches_failed_total")).toBe(1n);
    expect(host.logs("error")).toEqual([
      'accesslog: Envoy refused the call to cluster "collector" (is the cluster defined?)',
    ]);
  });
});

// --- Body capture -------------------------------------------------------------------------------

describe("bounded body capture", () => {
  const BODY = { request: true, response: true, maxBytes: 10 };

  function streamWithBody(
    host: Host,
    contentType: string | null,
    chunks: Array<string | Uint8Array>,
    extra: HeaderList = [],
  ): HttpStream {
    const s = host.stream();
    const headers: HeaderList = [
      [":method", "POST"],
      [":scheme", "http"],
      [":authority", "a"],
      [":path", "/"],
      ...extra,
    ];
    if (contentType !== null) headers.push(["content-type", contentType]);
    s.sendRequestHeaders(headers, chunks.length === 0);
    chunks.forEach((c, i) => s.sendRequestBody(c, i === chunks.length - 1));
    host.respond(s, { status: 200 });
    s.complete();
    return s;
  }

  test.each([
    {
      name: "exact type",
      ct: "application/json",
      chunks: ['{"a":1}'],
      want: { text: '{"a":1}', truncated: false, size: 7 },
    },
    {
      name: "parameters ignored",
      ct: "Application/JSON; charset=utf-8",
      chunks: ["{}"],
      want: { text: "{}", truncated: false, size: 2 },
    },
    {
      name: "not on the allowlist",
      ct: "text/html",
      chunks: ["<p>"],
      want: { skipped: "content_type", size: 3 },
    },
    {
      name: "no substring match",
      ct: "application/jsonp",
      chunks: ["x"],
      want: { skipped: "content_type", size: 1 },
    },
    { name: "no content-type", ct: null, chunks: ["x"], want: { skipped: "content_type", size: 1 } },
    {
      name: "cap across chunks",
      ct: "text/plain",
      chunks: ["abcd", "efgh", "ijkl"],
      want: { text: "abcdefghij", truncated: true, size: 12 },
    },
    {
      name: "exactly the cap",
      ct: "text/plain",
      chunks: ["abcde", "fghij"],
      want: { text: "abcdefghij", truncated: false, size: 10 },
    },
    {
      name: "UTF-8 cut by the cap",
      ct: "text/plain",
      chunks: ["aaaaaaaaa", "é"],
      want: { text: "aaaaaaaaa", truncated: true, size: 11 },
    },
    {
      name: "UTF-8 across chunks",
      ct: "text/plain",
      chunks: [new Uint8Array([0x61, 0xc3]), new Uint8Array([0xa9])],
      want: { text: "aé", truncated: false, size: 3 },
    },
    {
      name: "NUL byte is binary",
      ct: "text/plain",
      chunks: [new Uint8Array([0x61, 0x00, 0x62])],
      want: { skipped: "binary", size: 3 },
    },
    {
      name: "invalid UTF-8 is binary",
      ct: "application/json",
      chunks: [new Uint8Array([0x7b, 0xff, 0x7d])],
      want: { skipped: "binary", size: 3 },
    },
    { name: "no body", ct: "application/json", chunks: [], want: null },
  ])("request body: $name", async ({ ct, chunks, want }) => {
    const host = await start({ body: BODY });
    streamWithBody(host, ct, chunks);
    expect(logRecords(host)[0].request_body).toEqual(want);
  });

  test("compressed bodies are skipped", async () => {
    const host = await start({ body: BODY });
    streamWithBody(
      host,
      "application/json",
      [new Uint8Array([0x1f, 0x8b, 0x08, 0, 0])],
      [["content-encoding", "gzip"]],
    );
    expect(logRecords(host)[0].request_body).toEqual({ skipped: "encoded", size: 5 });
  });

  test("response bodies are captured the same way, with a custom allowlist", async () => {
    const host = await start({
      body: { response: true, maxBytes: 4, contentTypes: ["application/problem+json"] },
    });
    host.exchange({}, { headers: { "content-type": "application/problem+json" }, body: '{"title":"x"}' });
    const [r] = logRecords(host);
    expect(r.response_body).toEqual({ text: '{"ti', truncated: true, size: 13 });
    expect(r).not.toHaveProperty("request_body");
  });

  test("the body never changes what reaches the upstream or the client", async () => {
    const host = await start({ body: { request: true, response: true, maxBytes: 3 } });
    const s = host.exchange(
      { method: "POST", headers: { "content-type": "text/plain" }, body: "hello world" },
      { headers: { "content-type": "text/plain" }, body: "answer" },
    );
    expect(new TextDecoder().decode(s.upstream.body)).toBe("hello world");
    expect(new TextDecoder().decode(s.downstream.body)).toBe("answer");
  });
});

// --- Configuration ------------------------------------------------------------------------------

describe("bad configuration is refused with every problem named", () => {
  const cases: Array<{ name: string; config: unknown; errors: string[]; pluginOnly?: boolean }> = [
    {
      name: "not JSON",
      pluginOnly: true,
      config: "not json",
      errors: ['configuration: invalid JSON: unexpected character "n" at line 1, column 1'],
    },
    {
      name: "not an object",
      pluginOnly: true,
      config: "[]",
      errors: ["configuration: expected a JSON object, got an array"],
    },
    { name: "unknown top-level field", config: { unknownTop: 1 }, errors: ["unknownTop: unknown field"] },
    {
      name: "http sink without cluster",
      config: { sinks: { http: {} } },
      errors: ["sinks.http.cluster: required field is missing"],
    },
    {
      name: "empty cluster",
      config: { sinks: { http: { cluster: "" } } },
      errors: ['sinks.http.cluster: expected a non-empty string, got ""'],
    },
    {
      name: "no sink at all",
      pluginOnly: true,
      config: { sinks: { log: { enabled: false } } },
      errors: ["sinks: no sink enabled: set sinks.log.enabled to true or configure sinks.http"],
    },
    {
      name: "log level",
      config: { sinks: { log: { level: "loud" } } },
      errors: ['sinks.log.level: expected one of "debug", "info", "warn", got "loud"'],
    },
    {
      name: "sink path",
      config: { sinks: { http: { cluster: "c", path: "ingest" } } },
      errors: ['sinks.http.path: expected a path starting with "/", got "ingest"'],
    },
    {
      name: "sink headers",
      config: {
        sinks: { http: { cluster: "c", headers: { "Content-Length": "1", "x-k": 5, "bad name": "v" } } },
      },
      errors: [
        "sinks.http.headers.Content-Length: is set by the plugin or Envoy and cannot be configured",
        "sinks.http.headers.x-k: expected a string, got 5",
        "sinks.http.headers.bad name: expected a header name",
      ],
    },
    {
      name: "batch size",
      config: { sinks: { http: { cluster: "c", batchMaxRecords: 0 } } },
      errors: ["sinks.http.batchMaxRecords: expected an integer between 1 and 100000, got 0"],
    },
    {
      name: "buffer smaller than a batch",
      pluginOnly: true,
      config: { sinks: { http: { cluster: "c", batchMaxRecords: 50, bufferMaxRecords: 10 } } },
      errors: ["sinks.http.bufferMaxRecords: expected at least batchMaxRecords (50), got 10"],
    },
    {
      name: "flush interval",
      config: { sinks: { http: { cluster: "c", flushInterval: "soon" } } },
      errors: [
        'sinks.http.flushInterval: expected a duration like "500ms", "1s", "1m" between 10ms and 1h, got "soon"',
      ],
    },
    {
      name: "retry block",
      config: {
        sinks: {
          http: {
            cluster: "c",
            retry: { maxRetries: -1, jitter: 2, initialBackoff: "2s", maxBackoff: "1s", extra: 1 },
          },
        },
      },
      errors: [
        "sinks.http.retry.maxRetries: expected an integer between 0 and 1000000, got -1",
        "sinks.http.retry.jitter: expected a number between 0 and 1, got 2",
        "sinks.http.retry.maxBackoff: expected at least initialBackoff (2000ms), got 1000ms",
        "sinks.http.retry.extra: unknown field",
      ],
    },
    {
      name: "header lists",
      config: { headers: { request: ["user agent"], exclude: ["*"] } },
      errors: [
        'headers.request[0]: expected a header name or "*", got "user agent"',
        'headers.exclude[0]: expected a header name, got "*"',
      ],
    },
    {
      name: "redact mode",
      config: { redact: { mode: "scramble" } },
      errors: ['redact.mode: expected one of "mask", "hash", got "scramble"'],
    },
    {
      name: "hash without key",
      pluginOnly: true,
      config: { redact: { mode: "hash" } },
      errors: ['redact.hashKey: required when redact.mode is "hash" (or set hashKeyEnv)'],
    },
    {
      name: "short hash key",
      config: { redact: { mode: "hash", hashKey: "short" } },
      errors: ["redact.hashKey: expected at least 16 characters, got 5"],
    },
    {
      name: "hash key env unset",
      pluginOnly: true,
      config: { redact: { mode: "hash", hashKeyEnv: "NOPE_NOT_SET" } },
      errors: ['redact.hashKeyEnv: environment variable "NOPE_NOT_SET" is not set (WasmPlugin vmConfig.env)'],
    },
    {
      name: "both hash key sources",
      pluginOnly: true,
      config: { redact: { hashKey: "0123456789abcdef", hashKeyEnv: "K" } },
      errors: [
        'redact.hashKeyEnv: set either "hashKey" or "hashKeyEnv", not both',
        'redact.hashKeyEnv: environment variable "K" is not set (WasmPlugin vmConfig.env)',
      ],
    },
    {
      name: "conditions",
      config: { conditions: { statusClasses: ["2xx", "6xx"], minDuration: -5, excludePaths: ["healthz"] } },
      errors: [
        'conditions.statusClasses[1]: expected one of "1xx", "2xx", "3xx", "4xx", "5xx", "none", got "6xx"',
        'conditions.minDuration: expected a duration like "500ms", "1s", "1m" between 1ms and 1d, got -5',
        'conditions.excludePaths[0]: expected a path starting with "/", got "healthz"',
      ],
    },
    {
      name: "empty status classes",
      config: { conditions: { statusClasses: [] } },
      errors: ["conditions.statusClasses: expected at least 1 item(s), got 0"],
    },
    {
      name: "sampling",
      config: { sampling: { rate: 1.5, alwaysLogErrors: "yes" } },
      errors: [
        "sampling.rate: expected a number between 0 and 1, got 1.5",
        'sampling.alwaysLogErrors: expected true or false, got "yes"',
      ],
    },
    {
      name: "body",
      config: { body: { maxBytes: 0, contentTypes: ["json"] } },
      errors: [
        "body.maxBytes: expected an integer between 1 and 65536, got 0",
        'body.contentTypes[0]: expected a media type like "application/json", got "json"',
      ],
    },
    {
      name: "maxValueLength",
      config: { maxValueLength: 5 },
      errors: ["maxValueLength: expected an integer between 16 and 65536, got 5"],
    },
  ];

  test.each(cases)("$name", async ({ config, errors }) => {
    const host = await start(config);
    expect(host.started).toBe(false);
    expect(host.logs("critical")).toEqual(errors.map((e) => `accesslog: invalid configuration: ${e}`));
  });

  test.each(cases.filter((c) => !c.pluginOnly))("config.schema.json refuses it too: $name", ({ config }) => {
    expect(validateAgainstSchema(schema, config).length).toBeGreaterThan(0);
  });

  test.each(cases.filter((c) => c.pluginOnly && typeof c.config !== "string"))(
    "config.schema.json cannot say it (only on_configure refuses): $name",
    ({ config }) => {
      expect(validateAgainstSchema(schema, config)).toEqual([]);
    },
  );

  test("an empty configuration is valid: log sink on, nothing else", async () => {
    const host = await start("");
    expect(host.started).toBe(true);
    host.exchange({});
    expect(logLines(host)).toHaveLength(1);
    expect(host.pendingHttpCalls()).toHaveLength(0);
  });
});

describe("config.schema.json and wasmplugin.yaml agree with on_configure", () => {
  const plugin = parseYaml(readFileSync(path.join(__dirname, "wasmplugin.yaml"), "utf8")) as {
    metadata: { name: string; namespace: string };
    spec: { url: string; pluginName: string; phase: string; pluginConfig: unknown };
  };

  test("the WasmPlugin names the plugin accesslog everywhere and both accept its pluginConfig", async () => {
    expect([plugin.metadata.name, plugin.spec.pluginName, plugin.spec.url, plugin.spec.phase]).toEqual([
      "accesslog",
      "accesslog",
      "file:///etc/wasmgate/wasm/accesslog.wasm",
      "STATS",
    ]);
    expect(validateAgainstSchema(schema, plugin.spec.pluginConfig)).toEqual([]);
    expect((await start(plugin.spec.pluginConfig)).started).toBe(true);
  });

  test.each([
    { name: "empty", config: {} },
    {
      name: "every field",
      config: {
        sinks: {
          log: { enabled: false, level: "warn" },
          http: {
            cluster: "collector",
            path: "/ingest",
            authority: "logs.example.com",
            headers: { "x-api-key": "k" },
            timeout: "3s",
            batchMaxRecords: 500,
            batchMaxBytes: 2097152,
            flushInterval: 2,
            bufferMaxRecords: 20000,
            bufferMaxBytes: 16777216,
            retry: { initialBackoff: "250ms", maxBackoff: "1m", maxRetries: 20, jitter: 0.5 },
          },
        },
        headers: { request: ["*"], response: ["content-type"], exclude: ["x-internal"] },
        redact: { mode: "hash", hashKey: "0123456789abcdef", headers: ["x-secret"], queryParams: ["pin"] },
        conditions: {
          statusClasses: ["4xx", "5xx", "none"],
          minDuration: "250ms",
          excludePaths: ["/healthz"],
          excludePathPrefixes: ["/internal/"],
        },
        sampling: { rate: 0.05, alwaysLogErrors: true, honorTraceSampled: true },
        body: { request: true, response: true, maxBytes: 4096, contentTypes: ["application/json"] },
        maxValueLength: 4096,
      },
    },
  ])("schema and plugin both accept: $name", async ({ config }) => {
    expect(validateAgainstSchema(schema, config)).toEqual([]);
    expect((await start(config)).started).toBe(true);
  });
});

describe("what reaches the shared queue", () => {
  test("one UTF-8 JSON record per request, the same text the log sink writes", async () => {
    const host = await start({ sinks: { http: HTTP_SINK } }, { workers: 2 });
    const s = host.stream(1);
    s.sendRequestHeaders(
      [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "a"],
        [":path", "/ü"],
        ["x-request-id", "q"],
      ],
      true,
    );
    host.respond(s, { status: 200 });
    s.complete();
    host.advance(10_000);
    const [c] = host.pendingHttpCalls();
    expect(batchLines(c)).toEqual(logLines(host));
    expect(header(c.headers, "content-type")).toBe("application/x-ndjson");
  });
});
