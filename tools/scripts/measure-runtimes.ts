// Measures the AssemblyScript GC runtimes for the SDK: module size, guest memory over 100,000 requests,
// and time per request in the emulator (Node's V8, the engine Envoy embeds). Output: a Markdown table.
// Used for the runtime decision in RATIONALE.md.
//
//   tsx tools/scripts/measure-runtimes.ts [requests]

import { statSync } from "node:fs";
import { join } from "node:path";
import { Host } from "../emulator";
import { ROOT, buildAll } from "./build-wasm";

const RUNTIMES = ["minimal", "incremental", "stub"];
const MODULES = [
  { name: "hello", file: "hello.wasm", rootId: "hello", headers: {} as Record<string, string> },
  {
    name: "probe",
    file: "test/probe.wasm",
    rootId: "probe",
    headers: { "x-probe": "get-headers", "x-probe-in-a": "1" },
  },
];

async function measure(wasm: string, rootId: string, headers: Record<string, string>, requests: number) {
  const host = await Host.start({ wasm, rootId, trace: false, logLevel: "warn" });
  const run = (n: number, offset: number) => {
    for (let i = 0; i < n; i++) {
      host.exchange({ path: `/get/${offset + i}`, headers }, { status: 200, body: "ok" });
      if (host.failed()) throw new Error(`VM failed: ${host.vms[0].failureReason}`);
    }
  };
  run(2000, 0);
  const warm = host.memoryBytes();
  const t0 = process.hrtime.bigint();
  run(requests, 2000);
  const ns = Number(process.hrtime.bigint() - t0);
  return { warm, end: host.memoryBytes(), usPerRequest: ns / requests / 1000 };
}

async function main() {
  const requests = Number(process.argv[2] ?? 100_000);
  const rows: string[] = [];
  for (const runtime of RUNTIMES) {
    const outDir = join(ROOT, "build", "variants", runtime);
    await buildAll({ runtime, outDir, only: ["hello", "test/probe"], log: () => {} });
    for (const m of MODULES) {
      const wasm = join(outDir, m.file);
      const size = statSync(wasm).size;
      let cells: string;
      try {
        const r = await measure(wasm, m.rootId, m.headers, requests);
        cells = `${(r.warm / 1024).toFixed(0)} KiB | ${(r.end / 1024).toFixed(0)} KiB | ${r.usPerRequest.toFixed(1)} µs`;
      } catch (e) {
        cells = `— | ${(e as Error).message.split("\n")[0]} | —`;
      }
      rows.push(`| ${runtime} | ${m.name} | ${size} | ${cells} |`);
    }
  }
  process.stdout.write(
    [
      `Runtime comparison, ${requests} requests per module after 2,000 warm-up requests (tsx tools/scripts/measure-runtimes.ts ${requests})`,
      "",
      "| runtime | module | .wasm bytes (-O3) | memory after warm-up | memory after run | time per request (emulator) |",
      "| --- | --- | ---: | ---: | ---: | ---: |",
      ...rows,
      "",
    ].join("\n"),
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exitCode = 1;
});
