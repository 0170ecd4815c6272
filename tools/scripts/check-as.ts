// Type-checks every AssemblyScript module (filters and SDK test guests) with the AssemblyScript compiler.
// AssemblyScript only compiles code that is reachable, so the SDK is checked through the guests that call
// every public function.

import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import { ROOT, targets } from "./build-wasm";

let failed = 0;
for (const t of targets()) {
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, "node_modules/assemblyscript/bin/asc.js"),
      relative(ROOT, t.entry),
      "--config",
      "asconfig.json",
      "--noEmit",
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.status !== 0 || /ERROR|WARNING/.test(output)) {
    failed++;
    process.stderr.write(`[check:as] ${t.name}\n${output}\n`);
  } else process.stdout.write(`[check:as] ${t.name} ok\n`);
}
if (failed > 0) process.exitCode = 1;
