// The CLI shell: argv → exit code, stdout, stderr. Usage errors exit 2, failures 1, and no user error
// shows a stack trace.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../tools/cli/main";
import { captureIo, ROOT } from "./support";

jest.setTimeout(60_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wasmgate-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

const BAD = write(
  "bad.yaml",
  `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: hello
  namespace: wasmgate
spec:
  url: oci://ghcr.io/x/hello:1
  pluginName: hello
  failStrategy: FAIL_CLOSED
  pluginConfig:
    colour: red
`,
);
const SERVICE_ONLY = write("service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: httpbin\n");
const BAD_GATEWAY = write(
  "gateway.yaml",
  fs
    .readFileSync(path.join(ROOT, "envoy/gateway.yaml"), "utf8")
    .replace("port: 10000", "port: 99999")
    .replace("cluster: httpbin_v2", "cluster: httpbin_v3"),
);

async function run(argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

describe("usage", () => {
  test.each([
    { name: "no command", argv: [], code: 2, err: /^usage: wasmgate <command> \[options\]/ },
    {
      name: "unknown command",
      argv: ["frobnicate"],
      code: 2,
      err: /^wasmgate: unknown command "frobnicate" \(commands: validate, render, up, dev, package\)\n$/,
    },
    {
      name: "unknown option",
      argv: ["render", "--bogus"],
      code: 2,
      err: /^wasmgate render: unknown option --bogus for "render"\n/,
    },
    {
      name: "port out of range",
      argv: ["up", "--port", "70000"],
      code: 2,
      err: /^wasmgate up: --port: expected an integer 0-65535, got "70000"\n/,
    },
    {
      name: "option without value",
      argv: ["up", "--admin-port"],
      code: 2,
      err: /^wasmgate up: --admin-port needs a value\n/,
    },
    {
      name: "bad choice",
      argv: ["package", "hello", "--variant", "zip"],
      code: 2,
      err: /^wasmgate package: --variant: expected one of oci, compat, got "zip"\n/,
    },
    {
      name: "boolean with a value",
      argv: ["validate", "--build=yes"],
      code: 2,
      err: /^wasmgate validate: --build takes no value\n/,
    },
    {
      name: "package without a plugin",
      argv: ["package"],
      code: 2,
      err: /^usage: wasmgate package <plugin>/,
    },
    {
      name: "package with a bad tag",
      argv: ["package", "hello", "--tag", "no/slash"],
      code: 2,
      err: /--tag: expected an OCI tag/,
    },
    {
      name: "render with a file argument",
      argv: ["render", "x.yaml"],
      code: 2,
      err: /unexpected argument x\.yaml/,
    },
  ])("$name", async ({ argv, code, err }) => {
    const r = await run(argv);
    expect(r.err).toMatch(err);
    expect(r.code).toBe(code);
  });

  test.each(["validate", "render", "up", "dev", "package"])(
    "%s --help lists its options",
    async (command) => {
      const r = await run([command, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: wasmgate ${command}`));
      expect(r.out).toContain("\noptions:\n");
    },
  );

  test("--help lists every command", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["validate", "render", "up", "dev", "package"]) expect(r.out).toContain(`  ${c} `);
  });
});

describe("validate", () => {
  test("the gateway's plugins (schemas only)", async () => {
    const r = await run(["validate", "--no-wasm"]);
    expect(r.err).toBe("");
    expect(r.out).toContain("filters/hello/wasmplugin.yaml: document 1 (WasmPlugin wasmgate/hello): ok\n");
    expect(r.out).toMatch(/\d+ WasmPlugins? valid \(CRD schema, CEL rules, config\.schema\.json\)\n$/);
    expect(r.code).toBe(0);
  });

  test("a file with on_configure in the emulator", async () => {
    const r = await run(["validate", "--no-build", "filters/hello/wasmplugin.yaml"]);
    expect(r.out).toBe(
      "filters/hello/wasmplugin.yaml: document 1 (WasmPlugin wasmgate/hello): ok\n" +
        "1 WasmPlugin valid (CRD schema, CEL rules, config.schema.json, on_configure in the emulator)\n",
    );
    expect(r.code).toBe(0);
  });

  test("a bad file: every problem with file, line and field; exit 1; no stack trace", async () => {
    const r = await run(["validate", "--no-build", BAD]);
    expect(r.err).toBe(
      `${BAD}:9: document 1 (WasmPlugin wasmgate/hello): spec.failStrategy: expected one of FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD, got "FAIL_CLOSED"\n` +
        `${BAD}:11: document 1 (WasmPlugin wasmgate/hello): spec.pluginConfig.colour: unknown field (allowed: header, value, includeSource) (filters/hello/config.schema.json)\n`,
    );
    expect(r.out).toBe("");
    expect(r.code).toBe(1);
  });

  test("a file without WasmPlugins", async () => {
    const r = await run(["validate", SERVICE_ONLY]);
    expect(r.err).toBe(
      `${SERVICE_ONLY}: document 1 (Service httpbin): skipped (not a WasmPlugin)\nno WasmPlugin documents in ${SERVICE_ONLY}\n`,
    );
    expect(r.code).toBe(1);
  });

  test("a missing file", async () => {
    const r = await run(["validate", path.join(tmp, "nope.yaml")]);
    expect(r.err).toBe(`${path.join(tmp, "nope.yaml")}: file not found\n`);
    expect(r.code).toBe(1);
  });
});

describe("render", () => {
  test("prints the local bootstrap, identical to envoy/envoy.yaml", async () => {
    const r = await run(["render"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(fs.readFileSync(path.join(ROOT, "envoy/envoy.yaml"), "utf8"));
  });

  test("--check says each output is up to date", async () => {
    const r = await run(["render", "--check"]);
    expect(r.out).toBe(
      "envoy/envoy.yaml: up to date\nenvoy/envoy.compose.yaml: up to date\nenvoy/mesh/wasmplugins.yaml: up to date\n",
    );
    expect(r.code).toBe(0);
  });

  test("--json prints the same bootstrap as JSON", async () => {
    const r = await run(["render", "--json", "--target", "compose"]);
    const config = JSON.parse(r.out);
    expect(config.static_resources.listeners[0].address.socket_address).toEqual({
      address: "0.0.0.0",
      port_value: 10000,
    });
  });

  test("an unknown target", async () => {
    const r = await run(["render", "--target", "nope"]);
    expect(r.err).toBe('unknown target "nope" (targets: local, compose)\n');
    expect(r.code).toBe(1);
  });

  test("a broken gateway description names each field", async () => {
    const r = await run(["render", "--gateway", BAD_GATEWAY]);
    expect(r.err).toMatch(
      new RegExp(
        `^${BAD_GATEWAY}:\\d+: document 1 \\(gateway description\\): listener\\.port: expected 1 to 65535, got 99999\\n$`,
      ),
    );
    expect(r.code).toBe(1);
    const fixed = write(
      "gateway2.yaml",
      fs.readFileSync(BAD_GATEWAY, "utf8").replace("port: 99999", "port: 10000"),
    );
    const r2 = await run(["render", "--gateway", fixed]);
    expect(r2.err).toMatch(
      /routes\[1\]\.route\.cluster: unknown cluster "httpbin_v3" \(clusters: httpbin, httpbin_v2\)\n$/,
    );
    expect(r2.code).toBe(1);
  });
});

describe("package", () => {
  test("writes an OCI layout and says how to push it", async () => {
    const out = path.join(tmp, "oci-hello");
    const r = await run(["package", "hello", "--no-build", "--out", out, "--tag", "0.1.0"]);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(["blobs", "index.json", "oci-layout"]);
    const index = JSON.parse(fs.readFileSync(path.join(out, "index.json"), "utf8"));
    const digest = index.manifests[0].digest as string;
    expect(r.out).toContain(`  manifest ${digest} (`);
    expect(r.out).toContain(`  oras cp --from-oci-layout ${out}:0.1.0 <registry>/<repository>:0.1.0\n`);
    expect(r.out).toContain(`  sha256: ${digest.slice(7)}`);
  });

  test("an unknown plugin", async () => {
    const r = await run(["package", "nope", "--no-build"]);
    expect(r.err).toBe(
      'wasmgate package: no plugin "nope" (expected filters/nope/index.ts; or pass --wasm <file>)\n',
    );
    expect(r.code).toBe(1);
  });

  test("refuses to overwrite a directory that is not an OCI layout", async () => {
    const dir = path.join(tmp, "not-oci");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "keep.txt"), "mine");
    const r = await run(["package", "hello", "--no-build", "--out", dir]);
    expect(r.err).toBe(
      `wasmgate package: ${dir} exists and is not an OCI image layout; choose another --out\n`,
    );
    expect(r.code).toBe(1);
    expect(fs.readFileSync(path.join(dir, "keep.txt"), "utf8")).toBe("mine");
  });
});
