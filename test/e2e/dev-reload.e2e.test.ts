// `wasmgate dev` reloads a changed plugin through file-based ECDS while Envoy keeps running, and no request
// is dropped: a request loop (bounded in count and time) runs across the reload and every answer is 200.
// Cases: a pluginConfig change, and a new module (different bytes: a content-addressed file name).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, httpbinHeaders, isRunning, request } from "../../tools/harness";
import { filterWasm } from "../support/wasm";
import { CliChild, LAUNCHERS, ROOT } from "./cli-child";

jest.setTimeout(60_000);

const MAX_REQUESTS = 1500;
const MAX_LOOP_MS = 30_000;

let child: CliChild | undefined;
let tmp = "";
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wasmgate-dev-"));
});
afterEach(async () => {
  await child?.stop();
  child = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** hello's WasmPlugin with another url and header value. */
function helloPlugin(url: string, value: string): string {
  return fs
    .readFileSync(path.join(ROOT, "filters/hello/wasmplugin.yaml"), "utf8")
    .replace("url: file:///etc/wasmgate/wasm/hello.wasm", `url: ${url}`)
    .replace("value: hello from wasmgate", `value: ${value}`);
}

/** The same module with an extra custom section: other bytes, same behaviour. */
function rebuiltModule(): Buffer {
  const name = Buffer.from("wasmgate-test");
  const payload = Buffer.from("build-2");
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  return Buffer.concat([fs.readFileSync(filterWasm("hello")), Buffer.from([0x00, body.length]), body]);
}

interface Answer {
  status: number;
  value: string | undefined;
  error?: string;
}

test.each([
  {
    name: "pluginConfig changed",
    change: (file: string, wasm: string) => fs.writeFileSync(file, helloPlugin(`file://${wasm}`, "two")),
    reloaded: "reloaded hello through ECDS (pluginConfig changed)",
  },
  {
    name: "new module and pluginConfig",
    change: (file: string, wasm: string) => {
      const rebuilt = path.join(path.dirname(wasm), "hello-rebuilt.wasm");
      fs.writeFileSync(rebuilt, rebuiltModule());
      fs.writeFileSync(file, helloPlugin(`file://${rebuilt}`, "two"));
    },
    reloaded: "reloaded hello through ECDS (new build, pluginConfig changed)",
  },
])("a reload ($name) is picked up with no dropped request", async ({ change, reloaded }) => {
  const wasm = path.join(tmp, "hello.wasm");
  fs.copyFileSync(filterWasm("hello"), wasm);
  const pluginFile = path.join(tmp, "hello.yaml");
  fs.writeFileSync(pluginFile, helloPlugin(`file://${wasm}`, "one"));
  const gatewayFile = path.join(tmp, "gateway.yaml");
  fs.writeFileSync(
    gatewayFile,
    fs
      .readFileSync(path.join(ROOT, "envoy/gateway.yaml"), "utf8")
      .replace("  - filters/*/wasmplugin.yaml", `  - ${pluginFile}`),
  );

  const [port, adminPort] = [await freePort(), await freePort()];
  const { command, args } = LAUNCHERS[0];
  child = new CliChild(command, [
    ...args,
    "dev",
    "--gateway",
    gatewayFile,
    "--port",
    String(port),
    "--admin-port",
    String(adminPort),
    "--httpbin-port",
    "0",
    "--concurrency",
    "1",
  ]);
  const ready = await child.ready();
  const hello = async (): Promise<Answer> => {
    try {
      const res = await request({ url: `${ready.gatewayUrl}/headers`, timeoutMs: 5000 });
      return { status: res.status, value: httpbinHeaders(res.body)["x-wasmgate-hello"]?.[0] };
    } catch (e) {
      return { status: 0, value: undefined, error: (e as Error).message };
    }
  };
  expect(await hello()).toEqual({ status: 200, value: "one" });

  // Requests one after another, from before the change until 20 answers after the reload.
  const answers: Answer[] = [];
  const started = Date.now();
  let changed = false;
  let afterReload = -1;
  while (answers.length < MAX_REQUESTS && Date.now() - started < MAX_LOOP_MS) {
    answers.push(await hello());
    if (answers.length === 10 && !changed) {
      change(pluginFile, wasm);
      changed = true;
    }
    if (afterReload < 0 && child.err.includes(reloaded)) afterReload = answers.length;
    if (afterReload >= 0 && answers.length >= afterReload + 20) break;
  }

  expect(child.err).toContain(`[wasmgate] ${reloaded}`);
  expect(child.err).not.toContain("restarting Envoy");
  expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  const values = answers.map((a) => a.value);
  const firstTwo = values.indexOf("two");
  expect(firstTwo).toBeGreaterThanOrEqual(10); // the change was made after 10 answers
  expect(values.slice(0, firstTwo).every((v) => v === "one")).toBe(true);
  expect(values.slice(firstTwo).every((v) => v === "two")).toBe(true); // no flapping back
  expect(values.length - firstTwo).toBeGreaterThanOrEqual(20);

  // Same Envoy process, and Envoy's own ECDS counters: the initial config plus one accepted update.
  expect(isRunning(ready.envoyPid)).toBe(true);
  const stats = (
    await request({ url: `${ready.adminUrl}/stats?filter=extension_config_discovery.http_filter.hello` })
  ).body;
  expect(stats).toMatch(/\.hello\.update_success: 2$/m);
  expect(stats).toMatch(/\.hello\.update_rejected: 0$/m);
});
