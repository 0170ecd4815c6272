// Property values as tests provide them, and their encoding on the wire (Envoy `attributes.rst`):
// strings raw, integers and timestamps as 8-byte little-endian, doubles 8 bytes, bools 1 byte, maps as a
// serialized header map, bytes raw.

import { HeaderList, serializePairs } from "./serde";

export type PropertyValue = string | number | bigint | boolean | Uint8Array | { double: number } | HeaderList;

export function encodeProperty(v: PropertyValue): Uint8Array | null {
  if (typeof v === "string") return new TextEncoder().encode(v);
  if (v instanceof Uint8Array) return v;
  if (typeof v === "boolean") return new Uint8Array([v ? 1 : 0]);
  if (typeof v === "number" || typeof v === "bigint") {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigInt64(0, BigInt(v), true);
    return out;
  }
  if (Array.isArray(v)) return serializePairs(v);
  if (typeof v === "object" && v !== null && "double" in v) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, v.double, true);
    return out;
  }
  return null;
}

/** Joins a property path for use as a map key. */
export function pathKey(path: string[]): string {
  return path.join("\0");
}
