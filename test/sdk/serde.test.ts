// The header-map and property-path encodings, on both sides of the ABI, against the shared fixtures.

import { parsePairs, serializePairs, serializePath, Host } from "../../tools/emulator";
import fixtures from "../fixtures/serde.json";
import { guestWasm } from "../support/wasm";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const maps = fixtures.maps as unknown as Array<{ name: string; pairs: Array<[string, string]>; hex: string }>;

describe("emulator (TypeScript) serde", () => {
  test.each(maps)("serialize: $name", ({ pairs, hex: expected }) => {
    expect(hex(serializePairs(pairs))).toBe(expected);
  });
  test.each(maps)("parse: $name", ({ pairs, hex: bytes }) => {
    expect(parsePairs(Buffer.from(bytes, "hex"))).toEqual({ pairs, error: null });
  });
  test.each(fixtures.paths)("path: $name", ({ path, hex: expected }) => {
    expect(hex(serializePath(path))).toBe(expected);
  });
  test.each(fixtures.malformed)("malformed map is empty: $name", ({ hex: bytes }) => {
    expect(parsePairs(Buffer.from(bytes, "hex")).pairs).toEqual([]);
  });
});

describe("SDK (AssemblyScript) serde, through the probe guest", () => {
  let host: Host;
  beforeAll(async () => {
    host = await Host.start({ wasm: guestWasm("probe"), rootId: "probe" });
  });
  const result = (headers: Record<string, string> | Array<[string, string]>) =>
    host.exchange({ headers }).upstream.headers!.find(([k]) => k === "x-probe-result")![1];

  // Header names reach the guest lower-cased, so only fixtures with lower-case names can round-trip here.
  test.each(maps.filter((m) => m.pairs.every(([k]) => k === k.toLowerCase() && !k.startsWith(":"))))(
    "serialize: $name",
    ({ pairs, hex: expected }) => {
      expect(
        result([["x-probe", "serialize"], ...pairs.map(([k, v]) => [`x-s-${k}`, v] as [string, string])]),
      ).toBe(expected);
    },
  );
  test.each(maps)("deserialize: $name", ({ pairs, hex: bytes }) => {
    const expected = `n=${pairs.length}` + pairs.map(([k, v]) => ` [${k}=${v}]`).join("");
    expect(result({ "x-probe": "deserialize", "x-probe-arg1": bytes })).toBe(expected);
  });
  test.each(fixtures.malformed)("malformed map yields no pairs and no trap: $name", ({ hex: bytes }) => {
    expect(result({ "x-probe": "deserialize", "x-probe-arg1": bytes })).toBe("n=0");
    expect(host.failed()).toBe(false);
  });
  test.each(fixtures.paths)("path: $name", ({ path, hex: expected }) => {
    expect(result({ "x-probe": "serialize-path", "x-probe-arg1": path.join(".") })).toBe(expected);
  });
});
