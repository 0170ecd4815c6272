// The SDK's configuration reader, the shared `rules[].match` block, and garbage collection on long streams,
// through the config guest (test/sdk/guests/config.ts).

import { Host } from "../../tools/emulator";
import { guestWasm } from "../support/wasm";

const start = (pluginConfig: unknown, extra: Record<string, unknown> = {}) =>
  Host.start({ wasm: guestWasm("config"), rootId: "config", pluginConfig, trace: false, ...extra });

describe("a valid configuration is read with its types and defaults", () => {
  const cases = [
    {
      name: "defaults",
      config: { name: "x" },
      expected:
        "config ok name=x count=1 ratio=0.5 enabled=true mode=safe windowMs=1000 tags= rules=0 blobLen=0",
    },
    {
      name: "every field",
      config: {
        name: "y",
        count: 7,
        ratio: 0.25,
        enabled: false,
        mode: "fast",
        window: "5m",
        tags: ["a", "b"],
      },
      expected:
        "config ok name=y count=7 ratio=0.25 enabled=false mode=fast windowMs=300000 tags=a,b rules=0 blobLen=0",
    },
    {
      name: "durations: a number means seconds",
      config: { name: "z", window: 2.5 },
      expected:
        "config ok name=z count=1 ratio=0.5 enabled=true mode=safe windowMs=2500 tags= rules=0 blobLen=0",
    },
    {
      name: "explicit nulls mean absent",
      config: { name: "n", count: null, tags: null },
      expected:
        "config ok name=n count=1 ratio=0.5 enabled=true mode=safe windowMs=1000 tags= rules=0 blobLen=0",
    },
    {
      name: "string escapes decode",
      config: '{"name": "a\\"b\\\\c\\u00e9\\n"}',
      expected:
        'config ok name=a"b\\cé\n count=1 ratio=0.5 enabled=true mode=safe windowMs=1000 tags= rules=0 blobLen=0',
    },
  ];
  test.each(cases)("$name", async ({ config, expected }) => {
    const host = await start(config);
    expect(host.started).toBe(true);
    expect(host.logs("info")).toEqual([expected]);
  });
});

describe("a bad configuration is refused with every problem named by its path", () => {
  const cases: Array<{ name: string; config: unknown; errors: string[] }> = [
    { name: "required field missing", config: {}, errors: ["name: required field is missing"] },
    { name: "wrong type", config: { name: 3 }, errors: ["name: expected a string, got 3"] },
    {
      name: "integer below its minimum",
      config: { name: "x", count: 0 },
      errors: ["count: expected a positive integer, got 0"],
    },
    {
      name: "fraction where an integer is expected",
      config: { name: "x", count: 1.5 },
      errors: ["count: expected a positive integer, got 1.5"],
    },
    {
      name: "number out of range",
      config: { name: "x", ratio: 2 },
      errors: ["ratio: expected a number between 0 and 1, got 2"],
    },
    {
      name: "bool as a string",
      config: { name: "x", enabled: "yes" },
      errors: ['enabled: expected true or false, got "yes"'],
    },
    {
      name: "unknown enum value",
      config: { name: "x", mode: "turbo" },
      errors: ['mode: expected one of "fast", "safe", got "turbo"'],
    },
    {
      name: "duration without a unit",
      config: { name: "x", window: "5" },
      errors: ['window: expected a duration like "500ms", "1s", "1m" between 1ms and 1d, got "5"'],
    },
    {
      name: "duration that would overflow 64 bits",
      config: { name: "x", window: "213503982335d" },
      errors: [
        'window: expected a duration like "500ms", "1s", "1m" between 1ms and 1d, got "213503982335d"',
      ],
    },
    {
      name: "array item of the wrong type",
      config: { name: "x", tags: ["a", 2, ""] },
      errors: ["tags[1]: expected a string, got 2", 'tags[2]: expected a non-empty string, got ""'],
    },
    {
      name: "nested rule field",
      config: { name: "x", rules: [{ limit: 1 }, { limit: "ten" }] },
      errors: ['rules[1].limit: expected a positive integer, got "ten"'],
    },
    {
      name: "rule that is not an object",
      config: { name: "x", rules: [1] },
      errors: ["rules[0]: expected an object, got 1"],
    },
    {
      name: "match block errors",
      config: {
        name: "x",
        rules: [{ limit: 1, match: { pathPrefix: "api", hosts: ["a*.b"], methods: [1] } }],
      },
      errors: [
        'rules[0].match.hosts[0]: expected a host name, "*" or "*.suffix", got "a*.b"',
        'rules[0].match.pathPrefix: expected a path starting with "/", got "api"',
        "rules[0].match.methods[0]: expected a string, got 1",
      ],
    },
    {
      name: "unknown fields at every level",
      config: { name: "x", nmae: 1, rules: [{ limit: 1, lmit: 2, match: { host: "a" } }] },
      errors: ["rules[0].match.host: unknown field", "rules[0].lmit: unknown field", "nmae: unknown field"],
    },
    {
      name: "not JSON",
      config: '{"name": "x",}',
      errors: ["configuration: invalid JSON: expected a string key at line 1, column 14"],
    },
    {
      name: "trailing garbage",
      config: '{"name": "x"} x',
      errors: ["configuration: invalid JSON: unexpected trailing characters at line 1, column 15"],
    },
    { name: "not an object", config: "42", errors: ["configuration: expected a JSON object, got 42"] },
    {
      name: "nesting too deep",
      config: "[".repeat(100) + "]".repeat(100),
      errors: ["configuration: invalid JSON: nesting deeper than 64 at line 1, column 66"],
    },
    {
      name: "unterminated string",
      config: '{"name": "x',
      errors: ["configuration: invalid JSON: unterminated string at line 1, column 12"],
    },
    {
      name: "bad escape",
      config: '{"name": "\\q"}',
      errors: ["configuration: invalid JSON: invalid escape at line 1, column 12"],
    },
    {
      name: "control character in a string",
      config: '{"name": "a\tb"}',
      errors: ["configuration: invalid JSON: control character in string at line 1, column 12"],
    },
  ];
  test.each(cases)("$name", async ({ config, errors }) => {
    const host = await start(config);
    expect(host.started).toBe(false);
    expect(host.logs("critical")).toEqual(errors.map((e) => `config: invalid configuration: ${e}`));
    expect(host.failed()).toBe(false); // refused, not trapped
  });
});

describe("the shared rules[].match block", () => {
  const rules = [
    { limit: 1, match: { hosts: ["api.example.com"], pathPrefix: "/v1/" } },
    { limit: 1, match: { hosts: ["*.example.com"], methods: ["post"] } },
    { limit: 1, match: { path: "/exact" } },
    { limit: 1, match: { routes: ["r-special"] } },
  ];
  const cases = [
    {
      name: "host and prefix",
      authority: "API.example.com:8443",
      path: "/v1/x?y=1",
      method: "GET",
      expected: "0",
    },
    {
      name: "prefix does not match",
      authority: "api.example.com",
      path: "/v2/x",
      method: "GET",
      expected: "none",
    },
    {
      name: "wildcard host and method (case-insensitive config)",
      authority: "a.example.com",
      path: "/",
      method: "POST",
      expected: "1",
    },
    {
      name: "wildcard does not match the bare domain",
      authority: "example.com",
      path: "/",
      method: "POST",
      expected: "none",
    },
    {
      name: "exact path ignores the query string",
      authority: "x",
      path: "/exact?q",
      method: "GET",
      expected: "2",
    },
    { name: "exact path is exact", authority: "x", path: "/exact/more", method: "GET", expected: "none" },
    {
      name: "route name from xds.route_name",
      authority: "x",
      path: "/",
      method: "GET",
      route: "r-special",
      expected: "3",
    },
  ];
  test.each(cases)("$name", async ({ authority, path, method, route, expected }) => {
    const host = await start({ name: "m", rules });
    const s = host.exchange({
      authority,
      path,
      method,
      properties: route ? { "xds.route_name": route } : {},
    });
    expect(s.upstream.headers!.find(([k]) => k === "x-rule")![1]).toBe(expected);
  });
});

describe("long inputs stay linear and bounded", () => {
  test("a configuration string with 20,000 escapes parses without growing memory past a few MiB", async () => {
    const blob = "ab\\n".repeat(20_000);
    const host = await start(`{"name": "x", "blob": "${blob}"}`);
    expect(host.logs("info")).toEqual([
      "config ok name=x count=1 ratio=0.5 enabled=true mode=safe windowMs=1000 tags= rules=0 blobLen=60000",
    ]);
    expect(host.memoryBytes()).toBeLessThan(4 << 20);
  });

  test("a 16 MiB upload read chunk by chunk does not pile up garbage in the VM", async () => {
    const host = await start({ name: "x" });
    const s = host.stream();
    s.sendRequestHeaders(
      [
        [":method", "POST"],
        [":path", "/upload"],
        [":authority", "x"],
      ],
      false,
    );
    const chunk = new Uint8Array(256 * 1024).fill(0x61);
    for (let i = 0; i < 64; i++) s.sendRequestBody(chunk, i === 63);
    expect(host.logs("info")).toContain(`body bytes seen ${64 * 256 * 1024}`);
    expect(host.failed()).toBe(false);
    // Every chunk is garbage once its callback returns; without a collection per chunk the 16 MiB would stay.
    expect(host.memoryBytes()).toBeLessThan(2 << 20);
  });
});
