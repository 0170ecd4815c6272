// `wasmgate package <plugin>`

import * as fs from "node:fs";
import * as path from "node:path";
import { readModuleInfo } from "../emulator/module-info";
import { buildAll } from "../scripts/build-wasm";
import { CliIo, Reported, resolveArg, ROOT, say } from "./context";
import type { ParsedArgs } from "./options";
import { packageWasm, Variant } from "./package-oci";
import { display } from "./project";

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export async function packageCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [plugin, extra] = args.positionals;
  if (!plugin || extra !== undefined) {
    io.stderr("usage: wasmgate package <plugin> [options] (see wasmgate package --help)\n");
    return 2;
  }
  const tag = args.options.tag as string;
  if (!TAG.test(tag)) {
    io.stderr(
      `wasmgate package: --tag: expected an OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), got "${tag}"\n`,
    );
    return 2;
  }
  const explicitWasm = args.options.wasm as string | undefined;
  const wasmFile = explicitWasm ? resolveArg(io, explicitWasm) : path.join(ROOT, "build", `${plugin}.wasm`);
  if (!explicitWasm) {
    if (!fs.existsSync(path.join(ROOT, "filters", plugin, "index.ts"))) {
      io.stderr(
        `wasmgate package: no plugin "${plugin}" (expected filters/${plugin}/index.ts; or pass --wasm <file>)\n`,
      );
      return 1;
    }
    if (args.options.build) {
      say(io, `building ${plugin}`);
      try {
        await buildAll({ only: [plugin], log: (l) => io.stderr(`  ${l}\n`) });
      } catch (e) {
        io.stderr(`${(e as Error).message}\n`);
        throw new Reported(1);
      }
    }
  }
  if (!fs.existsSync(wasmFile)) {
    io.stderr(`wasmgate package: ${display(ROOT, wasmFile)} not found (build it first: npm run build)\n`);
    return 1;
  }
  const wasm = new Uint8Array(fs.readFileSync(wasmFile));
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
    io.stderr(`wasmgate package: ${display(ROOT, wasmFile)} is not a WebAssembly module\n`);
    return 1;
  }
  let abiVersions: string[];
  try {
    abiVersions = readModuleInfo(wasm)
      .exports.map((e) => e.name)
      .filter((n) => n.startsWith("proxy_abi_version_"));
  } catch {
    abiVersions = [];
  }
  const rootIds = (args.options["root-id"] as string[] | undefined) ?? [plugin];
  const variant = args.options.variant as Variant;
  const out = packageWasm({ wasm, tag, rootIds, abiVersions, variant });

  const dir = args.options.out
    ? resolveArg(io, args.options.out as string)
    : path.join(ROOT, "build", "oci", plugin);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !fs.existsSync(path.join(dir, "oci-layout"))) {
    io.stderr(
      `wasmgate package: ${display(ROOT, dir)} exists and is not an OCI image layout; choose another --out\n`,
    );
    return 1;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [rel, data] of out.files) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }
  const shown = display(ROOT, dir);
  const digest = out.manifest.digest;
  const lines = [
    `${shown}: OCI image layout (${variant} variant) of ${display(ROOT, wasmFile)}, tag ${tag}`,
    `  manifest ${digest} (${out.manifest.size} bytes)`,
    `  config   ${out.config.mediaType} ${out.config.digest}`,
    ...out.layers.map((l) => `  layer    ${l.mediaType} ${l.digest} (${l.size} bytes)`),
    "push it to a registry with one of:",
    `  oras cp --from-oci-layout ${shown}:${tag} <registry>/<repository>:${tag}`,
    `  skopeo copy oci:${shown}:${tag} docker://<registry>/<repository>:${tag}`,
    `  crane push ${shown} <registry>/<repository>:${tag}`,
    "then in the WasmPlugin:",
    `  url: oci://<registry>/<repository>:${tag}`,
    `  sha256: ${digest.slice("sha256:".length)}   # optional: Istio checks it against the manifest digest`,
  ];
  io.stdout(lines.join("\n") + "\n");
  return 0;
}
