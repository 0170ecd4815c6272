// hello in the emulator: configuration, the header it adds, the metric and the log line.
import { Host } from "../../tools/emulator";
import { filterWasm } from "../../test/support/wasm";

const start = (pluginConfig: unknown, extra: Record<string, unknown> = {}) =>
  Host.start({
    wasm: filterWasm("hello"),
    rootId: "hello",
    pluginName: "wasmgate.hello",
    pluginConfig,
    ...extra,
  });

const upstreamHeader = (s: { upstream: { headers: Array<[string, string]> | null } }, name: string) =>
  s.upstream.headers?.filter(([k]) => k === name).map(([, v]) => v);

describe("hello adds its header", () => {
  const cases = [
    { name: "defaults", config: {}, header: "x-wasmgate-hello", value: "hello from wasmgate" },
    {
      name: "custom header and value",
      config: { header: "x-greeting", value: "hi" },
      header: "x-greeting",
      value: "hi",
    },
    {
      name: "with the downstream address",
      config: { value: "hi", includeSource: true },
      header: "x-wasmgate-hello",
      value: "hi (10.1.2.3:4567)",
    },
    {
      name: "empty configuration document",
      config: "",
      header: "x-wasmgate-hello",
      value: "hello from wasmgate",
    },
  ];
  test.each(cases)("$name", async ({ config, header, value }) => {
    const host = await start(config, { sourceAddress: "10.1.2.3:4567" });
    expect(host.started).toBe(true);
    const s = host.exchange({ path: "/get", headers: { [header]: "client-sent-this" } });
    // replace, not add: a client cannot smuggle a second value in
    expect(upstreamHeader(s, header)).toEqual([value]);
    expect(host.metric("hello_requests_total")).toBe(1n);
    expect(host.logs("debug")).toEqual([`hello: /get -> ${header}: ${value}`]);
  });

  test("the counter is shared by every worker", async () => {
    const host = await start({}, { workers: 2 });
    for (let i = 0; i < 5; i++) host.exchange({ worker: i % 2 });
    expect(host.metric("hello_requests_total")).toBe(5n);
  });
});

describe("hello refuses bad configuration", () => {
  const cases = [
    { name: "header not a string", config: { header: 7 }, error: "header: expected a string, got 7" },
    { name: "header empty", config: { header: "" }, error: 'header: expected a non-empty string, got ""' },
    {
      name: "header with upper case",
      config: { header: "X-Hello" },
      error: 'header: expected a lower-case HTTP header name, got "X-Hello"',
    },
    {
      name: "header with a space",
      config: { header: "x hello" },
      error: 'header: expected a lower-case HTTP header name, got "x hello"',
    },
    { name: "value not a string", config: { value: ["a"] }, error: "value: expected a string, got an array" },
    {
      name: "includeSource not a bool",
      config: { includeSource: "yes" },
      error: 'includeSource: expected true or false, got "yes"',
    },
    { name: "unknown field", config: { headr: "x-a" }, error: "headr: unknown field" },
    {
      name: "not JSON",
      config: "{header:",
      error: "configuration: invalid JSON: expected a string key at line 1, column 2",
    },
    { name: "not an object", config: "[1]", error: "configuration: expected a JSON object, got an array" },
  ];
  test.each(cases)("$name", async ({ config, error }) => {
    const host = await start(config);
    expect(host.started).toBe(false);
    expect(host.logs("critical")).toEqual([`hello: invalid configuration: ${error}`]);
  });
});
