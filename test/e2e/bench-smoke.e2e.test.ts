// Keeps the benchmark working: `tools/bench/run.ts --smoke` end to end (stock Envoy, wrk, loadgen, the Go
// peers, go-httpbin), into a temporary directory. It checks that every figure was measured, not its value.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BenchResult } from "../../tools/bench/result";

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, "../..");

describe("npm run bench -- --smoke", () => {
  let out: string;
  let code: number | null;
  let output = "";
  let result: BenchResult;

  beforeAll(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-"));
    const child = spawn(
      path.join(ROOT, "node_modules/.bin/tsx"),
      ["tools/bench/run.ts", "--smoke", "--out", out],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 85_000);
    code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    clearTimeout(timer);
    result = JSON.parse(fs.readFileSync(path.join(out, "latest.json"), "utf8")) as BenchResult;
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test("exits 0 and writes the table, the JSON and the chart", () => {
    if (code !== 0) throw new Error(`bench --smoke exited ${code}:\n${output.slice(-4000)}`);
    expect(fs.readdirSync(out).sort()).toEqual(["latest.json", "latest.md", "latest.svg"]);
    expect(fs.readFileSync(path.join(out, "latest.md"), "utf8")).toMatch(/^\| `none` +\| no filter +\|/m);
    expect(fs.readFileSync(path.join(out, "latest.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  });

  test("both scenarios ran one round of the smoke subset", () => {
    expect(result.mode).toBe("smoke");
    expect(result.settings.reps).toBe(1);
    expect(result.scenarios.map((s) => [s.id, s.variants.map((v) => v.id)])).toEqual([
      ["direct", ["none", "empty", "hello", "hello-native", "hello-go"]],
      ["httpbin", ["none", "hello"]],
    ]);
  });

  test.each([
    { name: "requests/s", metric: "rps" as const },
    { name: "c=1 p50", metric: "c1P50Us" as const },
    { name: "fixed-rate p99", metric: "fixedP99Us" as const },
    { name: "CPU per request", metric: "cpuUsPerReq" as const },
    { name: "RSS", metric: "rssKb" as const },
  ])("every variant has a positive $name", ({ metric }) => {
    const missing = result.scenarios.flatMap((s) =>
      s.variants.filter((v) => !(v.summary[metric].median > 0)).map((v) => `${s.id}/${v.id}`),
    );
    expect(missing).toEqual([]);
  });

  test("no variant failed to start or answered with errors", () => {
    expect(
      result.scenarios.flatMap((s) => s.variants.flatMap((v) => v.errors.map((e) => `${v.id}: ${e}`))),
    ).toEqual([]);
  });

  test("module sizes: the SDK's empty module, the plugin and the Go peer", () => {
    const direct = result.scenarios[0]!.variants;
    const size = (id: string) => direct.find((v) => v.id === id)!.wasmBytes;
    expect(size("none")).toBeUndefined();
    expect(size("hello-native")).toBeUndefined();
    expect(size("empty")).toBe(fs.statSync(path.join(ROOT, "build/test/empty.wasm")).size);
    expect(size("hello")).toBe(fs.statSync(path.join(ROOT, "build/hello.wasm")).size);
    expect(size("hello-go")).toBe(fs.statSync(path.join(ROOT, "build/bench/go-hello.wasm")).size);
  });
});
