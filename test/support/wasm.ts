// Paths of built modules for tests.
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

/** build/<name>.wasm of a filter. */
export function filterWasm(name: string): string {
  return path.join(ROOT, "build", `${name}.wasm`);
}

/** build/test/<name>.wasm of an SDK test guest. */
export function guestWasm(name: string): string {
  return path.join(ROOT, "build", "test", `${name}.wasm`);
}
