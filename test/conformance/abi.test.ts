// Every built module against what Envoy accepts: imports only from Envoy's list (env.proxy_* and the WASI
// calls cpp-host registers) with Envoy's signatures, the ABI marker and allocator exported, and no export
// the ABI does not define. AssemblyScript emits env.abort, env.seed, env.Date.now and env.trace unless told
// otherwise; Envoy would refuse such a module at load time.

import { readFileSync } from "node:fs";
import { ABI_EXPORTS, checkModule, readModuleInfo } from "../../tools/emulator";
import { targets } from "../../tools/scripts/build-wasm";

const modules = targets().map((t) => ({ name: t.name, file: t.out }));

test("every filter and test guest is built", () => {
  expect(modules.map((m) => m.name)).toEqual(expect.arrayContaining(["hello", "test/probe", "test/empty"]));
});

describe.each(modules)("$name", ({ file }) => {
  const info = readModuleInfo(readFileSync(file));

  test("imports and exports are what Envoy accepts", () => {
    expect(checkModule(info)).toEqual([]);
  });

  test("imports come only from env.proxy_* and WASI", () => {
    const stray = info.imports.filter(
      (i) => !(i.module === "env" && i.name.startsWith("proxy_")) && i.module !== "wasi_snapshot_preview1",
    );
    expect(stray).toEqual([]);
  });

  test("exports are ABI callbacks, the ABI marker, the allocator, _initialize and memory", () => {
    const unknown = info.exports.map((e) => e.name).filter((n) => n !== "memory" && !(n in ABI_EXPORTS));
    expect(unknown).toEqual([]);
    const names = info.exports.map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "proxy_abi_version_0_2_1",
        "proxy_on_memory_allocate",
        "_initialize",
        "memory",
      ]),
    );
    expect(names).not.toContain("malloc"); // cpp-host would prefer it over proxy_on_memory_allocate
  });
});

// A hand-assembled module importing AssemblyScript's default `env.abort`: the check must refuse it.
function moduleImporting(module: string, name: string, params: number[]): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const type = section(1, [1, 0x60, params.length, ...params, 0]);
  const imports = section(2, [1, ...str(module), ...str(name), 0, 0]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports]);
}

test.each([
  {
    name: "AssemblyScript's env.abort",
    module: "env",
    field: "abort",
    params: [0x7f, 0x7f, 0x7f, 0x7f],
    problem: "import env.abort: not provided by Envoy (missing import)",
  },
  {
    name: "env.seed (Math.random)",
    module: "env",
    field: "seed",
    params: [],
    problem: "import env.seed: not provided by Envoy (missing import)",
  },
  {
    name: "a legacy 0.1.0 host call",
    module: "env",
    field: "proxy_clear_route_cache",
    params: [],
    problem: "import env.proxy_clear_route_cache: not provided by Envoy (missing import)",
  },
  {
    name: "a host call with the wrong signature",
    module: "env",
    field: "proxy_log",
    params: [0x7f, 0x7f],
    problem: "import env.proxy_log: signature (i32,i32)->() differs from Envoy's (i32,i32,i32)->(i32)",
  },
])("the check refuses $name", ({ module, field, params, problem }) => {
  const problems = checkModule(readModuleInfo(moduleImporting(module, field, params)));
  expect(problems[0]).toBe(problem);
  expect(problems).toContain("export proxy_abi_version_0_2_1: missing (ABI marker)");
});
