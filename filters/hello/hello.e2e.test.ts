// hello in real Envoy 1.39 in front of httpbin: the header arrives, the metric is in /stats, and what
// Envoy does with a configuration the plugin refuses, under each failure policy.
import { readFileSync } from "node:fs";
import { EnvoyStartError, Gateway, httpbinHeaders, request, startGateway } from "../../tools/harness";

describe("hello in Envoy", () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({
      plugins: [
        {
          name: "hello",
          rootId: "hello",
          configuration: { header: "x-wasmgate-hello", value: "hi", includeSource: true },
        },
      ],
      concurrency: 2,
    });
  });
  afterAll(async () => gw?.stop());

  test("the header reaches httpbin, and a client's own value is replaced", async () => {
    const r = await request({ url: `${gw.url}/headers`, headers: { "x-wasmgate-hello": "spoofed" } });
    expect(r.status).toBe(200);
    expect(httpbinHeaders(r.body)["x-wasmgate-hello"]).toEqual([
      expect.stringMatching(/^hi \(127\.0\.0\.1:\d+\)$/),
    ]);
  });

  test("the counter is in /stats across both workers", async () => {
    const before = (await gw.envoy.stat("wasmcustom.hello_requests_total")) ?? 0;
    await Promise.all(Array.from({ length: 10 }, () => request({ url: `${gw.url}/get` })));
    expect(await gw.envoy.stat("wasmcustom.hello_requests_total")).toBe(before + 10);
  });
});

describe("a refused configuration in Envoy", () => {
  test.each(["FAIL_CLOSED", "FAIL_OPEN"] as const)(
    "under %s Envoy refuses to start and logs the field",
    async (policy) => {
      const started = startGateway({
        plugins: [
          { name: "hello", rootId: "hello", configuration: { header: "X-Bad" }, failurePolicy: policy },
        ],
      });
      const error = await started.then(
        (gw) => gw.stop().then(() => null),
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(EnvoyStartError);
      const e = error as EnvoyStartError;
      expect(readFileSync(e.logPath, "utf8")).toMatch(
        /hello: invalid configuration: header: expected a lower-case HTTP header name, got "X-Bad"/,
      );
      // The policy does not matter at startup: Envoy refuses the whole configuration.
      expect(e.message).toMatch(/Unable to create Wasm plugin hello/);
    },
  );
});
