// Builds every Wasm module: filters/<name>/index.ts → build/<name>.wasm, and the SDK's test guests
// test/sdk/guests/<name>.ts → build/test/<name>.wasm, with the release target of ./asconfig.json.
// A module is rebuilt only when its inputs changed (hash in build/<name>.inputs). Two compilers run at once.
//
//   tsx tools/scripts/build-wasm.ts [--force] [--runtime minimal|incremental|stub] [--out DIR] [name ...]

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export const ROOT = resolve(__dirname, "../..");
const ASC = join(ROOT, "node_modules/assemblyscript/bin/asc.js");

export interface ModuleTarget {
  name: string;
  entry: string;
  out: string;
  /** Files whose content decides whether to rebuild. */
  inputs: string[];
}

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
}

/** Every module the project builds, filters first. */
export function targets(outDir = join(ROOT, "build")): ModuleTarget[] {
  const sdk = [
    ...tsFiles(join(ROOT, "assembly")),
    join(ROOT, "asconfig.json"),
    join(ROOT, "package-lock.json"),
  ];
  const list: ModuleTarget[] = [];
  const filters = join(ROOT, "filters");
  for (const name of existsSync(filters) ? readdirSync(filters).sort() : []) {
    const dir = join(filters, name);
    const entry = join(dir, "index.ts");
    if (!statSync(dir).isDirectory() || !existsSync(entry)) continue;
    list.push({ name, entry, out: join(outDir, `${name}.wasm`), inputs: [...sdk, ...tsFiles(dir)] });
  }
  const guests = join(ROOT, "test/sdk/guests");
  for (const file of existsSync(guests) ? readdirSync(guests).sort() : []) {
    if (!file.endsWith(".ts")) continue;
    const name = file.replace(/\.ts$/, "");
    const entry = join(guests, file);
    list.push({
      name: `test/${name}`,
      entry,
      out: join(outDir, "test", `${name}.wasm`),
      inputs: [...sdk, entry],
    });
  }
  return list;
}

function inputsHash(t: ModuleTarget, extra: string[]): string {
  const h = createHash("sha256");
  for (const f of t.inputs) h.update(relative(ROOT, f)).update("\0").update(readFileSync(f));
  h.update(extra.join(" "));
  return h.digest("hex");
}

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [ASC, ...args], { cwd: ROOT });
    let output = "";
    p.stdout.on("data", (d) => (output += d));
    p.stderr.on("data", (d) => (output += d));
    p.on("close", (code) => res({ code: code ?? 1, output }));
  });
}

export interface BuildOptions {
  force?: boolean;
  runtime?: string;
  outDir?: string;
  only?: string[];
  log?: (line: string) => void;
  /**
   * Keep building the other modules when one fails, and delete the failed module's old output so its
   * tests fail loudly instead of running a stale `.wasm`. The error is still thrown at the end.
   */
  keepGoing?: boolean;
}

/** Builds the selected modules; throws with the compiler's output when one fails. */
export async function buildAll(opts: BuildOptions = {}): Promise<ModuleTarget[]> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + "\n"));
  const extra = opts.runtime ? ["--runtime", opts.runtime] : [];
  const all = targets(opts.outDir).filter((t) => !opts.only?.length || opts.only.includes(t.name));
  const queue = [...all];
  const failures: string[] = [];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const stamp = t.out.replace(/\.wasm$/, ".inputs");
      const hash = inputsHash(t, extra);
      if (!opts.force && existsSync(t.out) && existsSync(stamp) && readFileSync(stamp, "utf8") === hash)
        continue;
      mkdirSync(resolve(t.out, ".."), { recursive: true });
      const started = Date.now();
      const r = await run([
        relative(ROOT, t.entry),
        "--config",
        "asconfig.json",
        "--target",
        "release",
        "-o",
        t.out,
        ...extra,
      ]);
      if (r.code !== 0) {
        failures.push(`${t.name}:\n${r.output}`);
        rmSync(t.out, { force: true });
        rmSync(stamp, { force: true });
        if (!opts.keepGoing) queue.length = 0;
        continue;
      }
      writeFileSync(stamp, hash);
      log(`[build] ${relative(ROOT, t.out)} ${statSync(t.out).size} bytes (${Date.now() - started} ms)`);
    }
  };
  await Promise.all([worker(), worker()]);
  if (failures.length > 0) throw new Error(`AssemblyScript build failed:\n${failures.join("\n")}`);
  return all;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    argv.splice(i, 2);
    return v;
  };
  const runtime = opt("--runtime");
  const outDir = opt("--out");
  const force = argv.includes("--force");
  const only = argv.filter((a) => !a.startsWith("--"));
  buildAll({ force, runtime, outDir: outDir ? resolve(outDir) : undefined, only }).catch((e: Error) => {
    process.stderr.write(e.message + "\n");
    process.exitCode = 1;
  });
}
