// Serialization of header maps and property paths, byte-compatible with the host's
// (proxy-wasm ABI v0.2.1 §"Serialization"; cpp-host `PairsUtil`). Tested against the shared fixtures in
// test/fixtures/serde.json, which the emulator's TypeScript serde is tested against too.
//
// Header map layout, little-endian:
//   u32 count
//   count × (u32 key_len, u32 value_len)
//   count × (key bytes, 0x00, value bytes, 0x00)

import { Header } from "../headers";

/** Serializes pairs into a new managed buffer. */
export function serializeHeaders(headers: Array<Header>): ArrayBuffer {
  const n = headers.length;
  let size: usize = 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const h = unchecked(headers[i]);
    size += <usize>String.UTF8.byteLength(h.name) + 1 + <usize>String.UTF8.byteLength(h.value) + 1;
  }
  const buf = new ArrayBuffer(<i32>size);
  const base = changetype<usize>(buf);
  store<u32>(base, <u32>n);
  let lens = base + 4;
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const h = unchecked(headers[i]);
    const kl = String.UTF8.encodeUnsafe(changetype<usize>(h.name), h.name.length, data, false);
    store<u8>(data + kl, 0);
    data += kl + 1;
    const vl = String.UTF8.encodeUnsafe(changetype<usize>(h.value), h.value.length, data, false);
    store<u8>(data + vl, 0);
    data += vl + 1;
    store<u32>(lens, <u32>kl);
    store<u32>(lens, <u32>vl, 4);
    lens += 8;
  }
  return buf;
}

/**
 * Parses a serialized map. Malformed input (short buffer, lengths past the end, missing NULs) yields
 * the pairs that could be read before the fault and never traps; the host never sends such a buffer.
 */
export function deserializeHeaders(ptr: usize, size: usize): Array<Header> {
  const out = new Array<Header>();
  if (ptr == 0 || size < 4) return out;
  const n = <usize>load<u32>(ptr);
  // Each pair needs at least 8 bytes of lengths and 2 NULs.
  if (n > (size - 4) / 10) return out;
  const end = ptr + size;
  let lens = ptr + 4;
  let data = ptr + 4 + n * 8;
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(lens);
    const vl = <usize>load<u32>(lens, 4);
    lens += 8;
    if (kl > size || vl > size || data + kl + 1 + vl + 1 > end) break;
    const name = String.UTF8.decodeUnsafe(data, kl, false);
    data += kl + 1;
    const value = String.UTF8.decodeUnsafe(data, vl, false);
    data += vl + 1;
    out.push(new Header(name, value));
  }
  return out;
}

/** Joins property path segments with NUL, as Envoy expects (`request\0path`), into a new buffer. */
export function serializePath(path: Array<string>): ArrayBuffer {
  const n = path.length;
  let size: usize = n > 0 ? <usize>(n - 1) : 0;
  for (let i = 0; i < n; i++) size += <usize>String.UTF8.byteLength(unchecked(path[i]));
  const buf = new ArrayBuffer(<i32>size);
  let p = changetype<usize>(buf);
  for (let i = 0; i < n; i++) {
    if (i > 0) store<u8>(p++, 0);
    const s = unchecked(path[i]);
    p += String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p, false);
  }
  return buf;
}
