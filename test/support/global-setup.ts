// Jest global setup: builds every Wasm module that changed, so tests never run a stale .wasm. A module that
// fails to compile is reported here and its old output deleted, so exactly its own tests fail.
import { buildAll } from "../../tools/scripts/build-wasm";

export default async function globalSetup(): Promise<void> {
  try {
    await buildAll({ keepGoing: true, log: (line) => process.stdout.write(`\n${line}`) });
  } catch (e) {
    process.stderr.write(`\n${(e as Error).message}\n`);
  }
}
