// The emulator's process-wide state follows cpp-host and Envoy exactly; these are the rules filters rely on.

import { Host, Status } from "../../tools/emulator";
import { SharedDataStore } from "../../tools/emulator/state";
import { guestWasm } from "../support/wasm";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("shared data compare-and-swap (cpp-host shared_data.cc)", () => {
  const steps: Array<{ name: string; key: string; cas: number | "current" | "stale"; expected: Status }> = [
    { name: "a missing key is written whatever the cas", key: "k", cas: 12345, expected: Status.Ok },
    { name: "cas 0 writes unconditionally", key: "k", cas: 0, expected: Status.Ok },
    { name: "the current stamp writes", key: "k", cas: "current", expected: Status.Ok },
    { name: "a stale stamp is a mismatch", key: "k", cas: "stale", expected: Status.CasMismatch },
  ];
  const store = new SharedDataStore();
  let stale = 0;
  test.each(steps)("$name", ({ key, cas, expected }) => {
    const current = store.get("vm", key)?.cas ?? 0;
    const value = cas === "current" ? current : cas === "stale" ? stale : cas;
    stale = current;
    expect(store.set("vm", key, bytes("v"), value)).toBe(expected);
  });

  test("stamps come from one counter that starts at 1, across keys and vm_ids", () => {
    const s = new SharedDataStore();
    s.set("a", "x", bytes("1"), 0);
    s.set("b", "y", bytes("2"), 0);
    s.set("a", "x", bytes("3"), 0);
    expect([s.get("a", "x")?.cas, s.get("b", "y")?.cas]).toEqual([3, 2]);
  });

  test("vm_ids are separate namespaces", () => {
    const s = new SharedDataStore();
    s.set("a", "k", bytes("1"), 0);
    expect(s.get("b", "k")).toBeUndefined();
    expect(s.keys("a")).toEqual(["k"]);
    expect(s.bytes("a")).toBe(2);
  });
});

describe("metrics (Envoy context.cc)", () => {
  test("ids carry the type in their low two bits, and the stats are typed", async () => {
    const host = await Host.start({ wasm: guestWasm("probe"), rootId: "probe" });
    host.exchange({ headers: { "x-probe": "metrics" } });
    const definedTypes = host.calls
      .filter((c) => c.name === "proxy_define_metric")
      .map((c) => Number(c.args[0]));
    expect(definedTypes).toEqual([0, 1, 2]); // counter, gauge, histogram
    const incrementIds = host.calls
      .filter((c) => c.name === "proxy_increment_metric")
      .map((c) => [Number(c.args[0]) & 3, c.result]);
    // counter +2 OK; gauge +2 OK; gauge -1 OK (the SDK never sends a counter increment of 0)
    expect(incrementIds).toEqual([
      [0, Status.Ok],
      [1, Status.Ok],
      [1, Status.Ok],
    ]);
    expect(host.metrics()).toEqual({ probe_counter: 2n, probe_gauge: 41n, probe_histogram: 1n });
    expect(host.histogram("probe_histogram")).toEqual([7n]);
  });
});
