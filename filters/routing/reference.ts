// The split's bucket function in plain TypeScript, as README.md specifies it, so tests (and any other
// proxy tier) can predict the variant of a key without the Wasm module:
//
//   state  = FNV-1a-64 over UTF-8(salt) then one 0x00 byte
//   bucket = splitmix64(FNV-1a-64 continued over UTF-8(key)) mod 10000

const MASK = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

function fnv(h: bigint, bytes: Uint8Array): bigint {
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
  return h;
}

function splitmix64(x: bigint): bigint {
  x ^= x >> 30n;
  x = (x * 0xbf58476d1ce4e5b9n) & MASK;
  x ^= x >> 27n;
  x = (x * 0x94d049bb133111ebn) & MASK;
  x ^= x >> 31n;
  return x;
}

/** Bucket 0..9999 of `key` under `salt`. */
export function bucket(salt: string, key: string): number {
  const enc = new TextEncoder();
  const state = fnv(fnv(FNV_OFFSET, enc.encode(salt)), new Uint8Array([0]));
  return Number(splitmix64(fnv(state, enc.encode(key))) % 10000n);
}

/** The variant a split with these `[name, weight]` pairs (in order) gives `key`. */
export function variantOf(salt: string, key: string, weights: Array<[string, number]>): string {
  const b = bucket(salt, key);
  let upper = 0;
  for (const [name, w] of weights) {
    upper += w;
    if (b < upper) return name;
  }
  return weights[weights.length - 1][0];
}
