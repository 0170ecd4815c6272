// The committed outputs of `wasmgate render --write` (envoy/envoy.yaml, envoy/envoy.compose.yaml,
// envoy/mesh/wasmplugins.yaml) match what render produces now, Prettier leaves them alone, and the local
// bootstrap passes `envoy --mode validate`.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { renderOutputs } from "../../tools/cli/cmd-render";
import { loadInputs } from "../../tools/cli/context";
import { validateEnvoyConfig } from "../../tools/harness";
import { captureIo, ROOT } from "./support";

jest.setTimeout(60_000);

const io = captureIo();
const outputs = renderOutputs(io, loadInputs(io, "envoy/gateway.yaml"));

describe("rendered files", () => {
  test("render --write names every output of the gateway description", () => {
    expect(outputs.map((o) => o.file)).toEqual([
      "envoy/envoy.yaml",
      "envoy/envoy.compose.yaml",
      "envoy/mesh/wasmplugins.yaml",
    ]);
  });

  test.each(outputs.map((o) => [o.file, o.text]))(
    "%s is up to date (else: npx wasmgate render --write)",
    (file, text) => {
      expect(fs.readFileSync(path.join(ROOT, file), "utf8")).toBe(text);
    },
  );

  test("Prettier leaves them alone (so `npm run format` never makes them stale)", () => {
    // Prettier 3 cannot run inside jest without --experimental-vm-modules, so run its CLI on the files,
    // which the test above proves equal to the rendered text.
    const bin = path.join(ROOT, "node_modules/prettier/bin/prettier.cjs");
    const files = outputs.map((o) => o.file);
    const r = spawnSync(process.execPath, [bin, "--check", ...files], { cwd: ROOT, encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain("All matched files use Prettier code style!");
    expect(r.status).toBe(0);
  });

  test("envoy/envoy.yaml passes envoy --mode validate (run from the repository root)", async () => {
    const config = parseYaml(fs.readFileSync(path.join(ROOT, "envoy/envoy.yaml"), "utf8")) as object;
    const r = await validateEnvoyConfig(config, { cwd: ROOT });
    expect(r.errorLines).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
