// Host calls per request, counted in the emulator for the benchmark's Wasm variants.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { countCalls, hostCallProfile, wasmPluginOf } from "../../tools/bench/hostcalls";
import { emptyVariant, noneVariant, pluginVariant } from "../../tools/bench/variants";
import { filterWasm, guestWasm } from "../support/wasm";

describe("countCalls", () => {
  test.each([
    {
      name: "per request, most frequent first, ties by name",
      names: ["b", "a", "c", "a", "b", "a"],
      requests: 2,
      expected: [
        { name: "a", perRequest: 1.5 },
        { name: "b", perRequest: 1 },
        { name: "c", perRequest: 0.5 },
      ],
    },
    { name: "no calls", names: [], requests: 10, expected: [] },
  ])("$name", ({ names, requests, expected }) => {
    expect(countCalls(names, requests)).toEqual(expected);
  });
});

describe("wasmPluginOf", () => {
  test("root id and configuration text of a plugin variant", () => {
    const v = pluginVariant("hello", "hello-root", "/x/hello.wasm", { config: { header: "x-a" } });
    expect(wasmPluginOf(v)).toEqual({ rootId: "hello-root", configuration: '{"header":"x-a"}' });
  });
  test("a variant without a module has none", () => {
    expect(wasmPluginOf(noneVariant())).toBeUndefined();
  });
});

describe("hostCallProfile in the emulator", () => {
  test("hello: one header replaced per request", async () => {
    const p = await hostCallProfile(
      pluginVariant("hello", "hello", filterWasm("hello"), { config: { header: "x-a", value: "b" } }),
      20,
    );
    expect(p.error).toBeUndefined();
    expect(p.byName.find((c) => c.name === "proxy_replace_header_map_value")).toEqual({
      name: "proxy_replace_header_map_value",
      perRequest: 1,
    });
    expect(p.perRequest).toBe(p.byName.reduce((n, c) => n + c.perRequest, 0));
  });

  test("the empty module makes fewer calls than hello", async () => {
    const empty = await hostCallProfile(emptyVariant(guestWasm("empty")), 20);
    const hello = await hostCallProfile(
      pluginVariant("hello", "hello", filterWasm("hello"), { config: {} }),
      20,
    );
    expect(empty.perRequest).toBeLessThan(hello.perRequest);
  });

  test("a refused configuration is reported, not counted", async () => {
    const p = await hostCallProfile(
      pluginVariant("hello", "hello", filterWasm("hello"), { config: { header: "Not A Header" } }),
    );
    expect(p.perRequest).toBeNaN();
    expect(p.error).toMatch(/^refused its configuration: .*header/);
  });

  test("a module the emulator cannot load is reported", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostcalls-"));
    const file = path.join(dir, "bad.wasm");
    fs.writeFileSync(file, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])); // valid, but exports nothing
    try {
      const p = await hostCallProfile(pluginVariant("bad", "bad", file, { config: {} }));
      expect(p.error).toMatch(/^the emulator refuses the module \(Envoy would refuse this module:/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
