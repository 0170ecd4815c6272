// Jest global setup: builds every Wasm module that changed, so tests never run a stale .wasm.
import { buildAll } from "../../tools/scripts/build-wasm";

export default async function globalSetup(): Promise<void> {
  await buildAll({ log: (line) => process.stdout.write(`\n${line}`) });
}
