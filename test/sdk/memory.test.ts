// Guest memory stays flat under load: 100,000 requests through the emulator must not grow the module's
// linear memory after warm-up. This is the test behind the GC runtime choice in RATIONALE.md.

import { Host } from "../../tools/emulator";
import { filterWasm, guestWasm } from "../support/wasm";

const REQUESTS = 100_000;
const WARMUP = 2_000;

const cases = [
  { name: "hello", wasm: filterWasm("hello"), rootId: "hello", headers: {} as Record<string, string> },
  {
    name: "probe: header, property and shared-data calls",
    wasm: guestWasm("probe"),
    rootId: "probe",
    headers: { "x-probe": "get-headers", "x-probe-in-a": "1", "x-probe-in-b": "2" } as Record<string, string>,
  },
];

test.each(cases)(
  "$name: linear memory is the same after warm-up and after 100,000 requests",
  async ({ wasm, rootId, headers }) => {
    const host = await Host.start({ wasm, rootId, trace: false, logLevel: "warn" });
    expect(host.started).toBe(true);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        // A different path per request, so nothing can be served from a cache of equal strings.
        host.exchange({ path: `/get/${i}`, headers }, { status: 200, body: "ok" });
      }
    };
    run(WARMUP);
    const afterWarmup = host.memoryBytes();
    run(REQUESTS);
    expect(host.memoryBytes()).toBe(afterWarmup);
    expect(host.failed()).toBe(false);
  },
);
