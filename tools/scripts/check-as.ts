// Type-checks every AssemblyScript module (filters and SDK test guests) with the AssemblyScript compiler,
// two at a time. AssemblyScript only compiles code that is reachable, so the SDK is checked through the
// guests that call every public function.

import { spawn } from "node:child_process";
import { join, relative } from "node:path";
import { ROOT, targets } from "./build-wasm";

function check(entry: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const asc = join(ROOT, "node_modules/assemblyscript/bin/asc.js");
    const p = spawn(process.execPath, [asc, relative(ROOT, entry), "--config", "asconfig.json", "--noEmit"], {
      cwd: ROOT,
    });
    let output = "";
    p.stdout.on("data", (d) => (output += d));
    p.stderr.on("data", (d) => (output += d));
    p.on("close", (code) => resolve({ code: code ?? 1, output: output.trim() }));
  });
}

async function main(): Promise<void> {
  const queue = targets();
  let failed = 0;
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const r = await check(t.entry);
      if (r.code !== 0 || /ERROR|WARNING/.test(r.output)) {
        failed++;
        process.stderr.write(`[check:as] ${t.name}\n${r.output}\n`);
      } else process.stdout.write(`[check:as] ${t.name} ok\n`);
    }
  };
  await Promise.all([worker(), worker()]);
  if (failed > 0) process.exitCode = 1;
}

void main();
