// Header-map and property-path encodings, byte-compatible with cpp-host `PairsUtil` and Envoy.
// Tested against test/fixtures/serde.json, the same fixtures the AssemblyScript serde is tested against.

/** An ordered list of header pairs; names may repeat. */
export type HeaderList = Array<[string, string]>;

const MAX_PAIRS_BYTES = 1 << 20; // cpp-host rejects larger buffers
const MAX_PAIRS = 1024;

/**
 * Adds a header as Envoy's header map does (HeaderList::insert): a pseudo-header (`:name`) goes after the
 * last pseudo-header, any other header at the end.
 */
export function addHeader(m: HeaderList, key: string, value: string): void {
  if (!key.startsWith(":")) {
    m.push([key, value]);
    return;
  }
  let i = 0;
  while (i < m.length && m[i][0].startsWith(":")) i++;
  m.splice(i, 0, [key, value]);
}

/** Serializes pairs: u32 count, count × (u32 klen, u32 vlen), then each key\0value\0. */
export function serializePairs(pairs: HeaderList): Uint8Array {
  const enc = new TextEncoder();
  const encoded = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  let size = 4 + 8 * pairs.length;
  for (const [k, v] of encoded) size += k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let lens = 4;
  let data = 4 + 8 * pairs.length;
  for (const [k, v] of encoded) {
    dv.setUint32(lens, k.length, true);
    dv.setUint32(lens + 4, v.length, true);
    lens += 8;
    out.set(k, data);
    data += k.length + 1;
    out.set(v, data);
    data += v.length + 1;
  }
  return out;
}

export interface ParsedPairs {
  pairs: HeaderList;
  /** Why the host would treat the buffer as an empty map, or null when it is well-formed. */
  error: string | null;
}

/**
 * Parses a serialized map the way cpp-host does: anything malformed (over 1 MiB or 1024 pairs, a length
 * mismatch, a missing NUL, trailing bytes) makes the whole map empty. Buffers shorter than 4 bytes are an
 * empty map without error.
 */
export function parsePairs(bytes: Uint8Array): ParsedPairs {
  if (bytes.length < 4) return { pairs: [], error: null };
  if (bytes.length > MAX_PAIRS_BYTES)
    return { pairs: [], error: `pairs buffer of ${bytes.length} bytes exceeds 1 MiB` };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(0, true);
  if (n > MAX_PAIRS) return { pairs: [], error: `${n} pairs exceed the limit of ${MAX_PAIRS}` };
  if (4 + 8 * n > bytes.length) return { pairs: [], error: `truncated length table for ${n} pairs` };
  const dec = new TextDecoder();
  const pairs: HeaderList = [];
  let data = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const kl = dv.getUint32(4 + 8 * i, true);
    const vl = dv.getUint32(8 + 8 * i, true);
    if (data + kl + 1 + vl + 1 > bytes.length) return { pairs: [], error: `pair ${i} runs past the end` };
    if (bytes[data + kl] !== 0 || bytes[data + kl + 1 + vl] !== 0)
      return { pairs: [], error: `pair ${i} is missing a NUL` };
    const k = dec.decode(bytes.subarray(data, data + kl));
    data += kl + 1;
    const v = dec.decode(bytes.subarray(data, data + vl));
    data += vl + 1;
    pairs.push([k, v]);
  }
  if (data !== bytes.length) return { pairs: [], error: `${bytes.length - data} trailing bytes` };
  return { pairs, error: null };
}

/** Splits a NUL-joined property path into its segments. */
export function parsePath(bytes: Uint8Array): string[] {
  return new TextDecoder().decode(bytes).split("\0");
}

/** Joins property path segments with NUL. */
export function serializePath(path: string[]): Uint8Array {
  return new TextEncoder().encode(path.join("\0"));
}
