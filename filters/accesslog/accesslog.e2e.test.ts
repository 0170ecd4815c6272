// accesslog in stock Envoy 1.39 (V8, --concurrency 2) in front of go-httpbin, shipping NDJSON batches to
// a small HTTP collector this test runs on loopback (Envoy cluster "collector").
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Gateway, request, startGateway, waitUntil } from "../../tools/harness";

jest.setTimeout(60_000);

type Json = Record<string, unknown>;

/** A collector like Vector's `http_server` source with `decoding.codec: json` and NDJSON framing. */
class Collector {
  server: http.Server | null = null;
  port = 0;
  records: Json[] = [];
  bodies: string[] = [];
  contentTypes = new Set<string>();

  async start(port = 0): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        this.bodies.push(body);
        this.contentTypes.add(String(req.headers["content-type"]));
        for (const line of body.split("\n")) if (line.length > 0) this.records.push(JSON.parse(line) as Json);
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Down: nothing listens and every pooled connection is closed, so Envoy gets connection refused. */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  byTestId(): Map<string, Json[]> {
    const m = new Map<string, Json[]>();
    for (const r of this.records) {
      const id = (r.request_headers as Record<string, string> | undefined)?.["x-test-id"];
      if (id === undefined) continue;
      m.set(id, [...(m.get(id) ?? []), r]);
    }
    return m;
  }
}

const BUFFER_MAX = 30;

const CONFIG = {
  headers: { request: ["*"], response: ["content-type"] },
  sinks: {
    log: { enabled: true },
    http: {
      cluster: "collector",
      path: "/ingest",
      batchMaxRecords: 20,
      flushInterval: "200ms",
      bufferMaxRecords: BUFFER_MAX,
      timeout: "2s",
      retry: { initialBackoff: "100ms", maxBackoff: "400ms", maxRetries: 1000, jitter: 0 },
    },
  },
};

let gw: Gateway;
const collector = new Collector();

async function stat(name: string): Promise<number> {
  return (await gw.envoy.stat(`wasmcustom.${name}`)) ?? 0;
}

/** Runs `n` requests, `parallel` at a time; request i gets header x-test-id `${prefix}-${i}`. */
async function burst(
  prefix: string,
  n: number,
  parallel: number,
  make: (i: number) => { path: string; status: number },
): Promise<Map<string, { path: string; status: number }>> {
  const sent = new Map<string, { path: string; status: number }>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const id = `${prefix}-${i}`;
      const { path, status } = make(i);
      const res = await request({
        url: gw.url + path,
        headers: {
          "x-test-id": id,
          authorization: `Bearer secret-token-${i}`,
          cookie: `sid=secret-cookie-${i}`,
        },
      });
      expect(res.status).toBe(status);
      sent.set(id, { path, status });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return sent;
}

beforeAll(async () => {
  await collector.start();
  gw = await startGateway({
    plugins: [{ name: "accesslog", rootId: "accesslog", configuration: CONFIG, failurePolicy: "FAIL_OPEN" }],
    concurrency: 2,
    clusters: [{ name: "collector", port: collector.port }],
    routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: "httpbin" } }],
  });
});

afterAll(async () => {
  await gw?.stop();
  await collector.stop();
});

test("N requests give exactly N records at the collector, none lost or duplicated, secrets redacted", async () => {
  const N = 60;
  const shapes = [
    (i: number) => ({ path: `/anything/item-${i}?token=secret-query-${i}&page=2`, status: 200 }),
    () => ({ path: "/status/404", status: 404 }),
    () => ({ path: "/status/503", status: 503 }),
    () => ({ path: "/get", status: 200 }),
  ];
  const sent = await burst("ok", N, 4, (i) => shapes[i % shapes.length](i));

  await waitUntil(() => collector.byTestId().size >= N, 15_000, `${N} records at the collector`);
  // Give any duplicate a chance to show up: several flush intervals more.
  await new Promise((r) => setTimeout(r, 800));

  const got = collector.byTestId();
  expect([...got.keys()].sort()).toEqual([...sent.keys()].sort());
  for (const [id, records] of got) {
    expect(records).toHaveLength(1);
    const r = records[0];
    const want = sent.get(id)!;
    expect(r.status).toBe(want.status);
    expect(r.path).toBe(want.path.replace(/token=secret-query-\d+/, "token=[REDACTED]"));
    const h = r.request_headers as Record<string, string>;
    expect(h.authorization).toBe("Bearer");
    expect(h.cookie).toBe("sid=[REDACTED]");
  }
  const everything = collector.bodies.join("");
  expect(everything).not.toMatch(/secret-(token|cookie|query)/);
  expect(gw.envoy.logs()).not.toMatch(/secret-(token|cookie|query)/);
  expect(collector.contentTypes).toEqual(new Set(["application/x-ndjson"]));

  expect(await stat("accesslog_records_total")).toBe(N);
  expect(await stat("accesslog_records_sent_total")).toBe(N);
  expect(await stat("accesslog_records_dropped_total")).toBe(0);
  expect(await stat("accesslog_batches_failed_total")).toBe(0);
});

test("the fields Envoy provides in on_log are filled from real attributes", async () => {
  const before = collector.records.length;
  const t0 = Date.now();
  await request({ url: `${gw.url}/bytes/16`, headers: { "x-test-id": "fields", "user-agent": "e2e/1" } });
  await waitUntil(() => collector.byTestId().has("fields"), 10_000, "the record of /bytes/16");
  const r = collector.byTestId().get("fields")![0];
  expect(collector.records.length).toBe(before + 1);
  expect(Math.abs(Date.parse(r.start_time as string) - t0)).toBeLessThan(5000);
  expect(r).toMatchObject({
    schema_version: 1,
    method: "GET",
    scheme: "http",
    authority: new URL(gw.url).host,
    path: "/bytes/16",
    protocol: "HTTP/1.1",
    status: 200,
    response_code_details: "via_upstream",
    response_flags: [],
    request_size: 0,
    response_size: 16,
    user_agent: "e2e/1",
    route_name: "default",
    upstream_cluster: "httpbin",
    upstream_host: `127.0.0.1:${gw.httpbins[0].port}`,
    trace: null,
  });
  expect(r.duration_ms).toBeGreaterThan(0);
  expect(r.request_total_size).toBeGreaterThan(0);
  expect(r.response_total_size).toBeGreaterThan(16);
  expect(r.client_address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(r.request_id).toMatch(/^[0-9a-f-]{36}$/);
  expect((r.response_headers as Record<string, string>)["content-type"]).toBe("application/octet-stream");
  // Sink (a): the same record, one JSON line in Envoy's own log.
  const line = gw.envoy
    .logs()
    .split("\n")
    .find((l) => l.includes('"x-test-id":"fields"'));
  expect(line).toMatch(/\[info\]\[wasm\].* wasm log accesslog accesslog: \{"schema_version":1,/);
});

test("a collector that is down loses only what bufferMaxRecords allows, and the drop counter says so", async () => {
  const sentBefore = await stat("accesslog_records_sent_total");
  const droppedBefore = await stat("accesslog_records_dropped_total");
  const seenBefore = collector.records.length;
  const port = collector.port;
  await collector.stop();

  const M = 50;
  const sent = await burst("down", M, 1, (i) => ({
    path: `/status/${i % 2 ? 201 : 200}`,
    status: i % 2 ? 201 : 200,
  }));
  await waitUntil(
    async () => (await stat("accesslog_records_dropped_total")) - droppedBefore >= M - BUFFER_MAX,
    10_000,
    "the drops to be counted",
  );
  await new Promise((r) => setTimeout(r, 600)); // a few retries against the dead collector
  expect(await stat("accesslog_batches_failed_total")).toBeGreaterThan(0);

  await collector.start(port);
  await waitUntil(
    async () => (await stat("accesslog_records_sent_total")) - sentBefore >= BUFFER_MAX,
    15_000,
    "the buffered records to be delivered",
  );
  await new Promise((r) => setTimeout(r, 800));

  const ids = [...sent.keys()];
  const arrived = collector.records
    .slice(seenBefore)
    .map((r) => (r.request_headers as Record<string, string>)["x-test-id"]);
  // Drop-newest: the oldest BUFFER_MAX records survive, in order, once each.
  expect(arrived).toEqual(ids.slice(0, BUFFER_MAX));
  expect((await stat("accesslog_records_dropped_total")) - droppedBefore).toBe(M - BUFFER_MAX);
  expect((await stat("accesslog_records_sent_total")) - sentBefore).toBe(BUFFER_MAX);
  expect(await stat("accesslog_batches_dropped_total")).toBe(0);
  expect(await stat("accesslog_buffered_records")).toBe(0);
});
