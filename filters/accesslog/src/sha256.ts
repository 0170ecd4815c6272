// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the `hash` redaction mode: a keyed hash keeps
// equal secrets equal in the logs (so they still correlate) without letting anyone who reads the logs
// test guesses, as a plain hash of a low-entropy value would.

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];

function block(h: StaticArray<u32>, w: StaticArray<u32>, p: usize): void {
  for (let i = 0; i < 16; i++) {
    const o = p + <usize>(i << 2);
    unchecked(
      (w[i] =
        ((<u32>load<u8>(o)) << 24) |
        ((<u32>load<u8>(o + 1)) << 16) |
        ((<u32>load<u8>(o + 2)) << 8) |
        (<u32>load<u8>(o + 3))),
    );
  }
  for (let i = 16; i < 64; i++) {
    const a = unchecked(w[i - 15]);
    const b = unchecked(w[i - 2]);
    const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
    const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
    unchecked((w[i] = unchecked(w[i - 16]) + s0 + unchecked(w[i - 7]) + s1));
  }
  let a = unchecked(h[0]);
  let b = unchecked(h[1]);
  let c = unchecked(h[2]);
  let d = unchecked(h[3]);
  let e = unchecked(h[4]);
  let f = unchecked(h[5]);
  let g = unchecked(h[6]);
  let hh = unchecked(h[7]);
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = hh + S1 + ch + unchecked(K[i]) + unchecked(w[i]);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  unchecked((h[0] += a));
  unchecked((h[1] += b));
  unchecked((h[2] += c));
  unchecked((h[3] += d));
  unchecked((h[4] += e));
  unchecked((h[5] += f));
  unchecked((h[6] += g));
  unchecked((h[7] += hh));
}

/** The SHA-256 digest (32 bytes) of `a` followed by `b`. */
export function sha256(a: ArrayBuffer, b: ArrayBuffer | null = null): ArrayBuffer {
  const la = a.byteLength;
  const lb = b === null ? 0 : b.byteLength;
  const total = la + lb;
  // Message, 0x80, zero padding, 64-bit big-endian bit length; a multiple of 64 bytes.
  const padded = ((total + 9 + 63) >> 6) << 6;
  const buf = new ArrayBuffer(padded);
  const p = changetype<usize>(buf);
  memory.copy(p, changetype<usize>(a), <usize>la);
  if (b !== null) memory.copy(p + <usize>la, changetype<usize>(b), <usize>lb);
  store<u8>(p + <usize>total, 0x80);
  const bits = (<u64>total) << 3;
  for (let i = 0; i < 8; i++) store<u8>(p + <usize>(padded - 1 - i), <u8>(bits >> ((<u64>i) << 3)));
  const h: StaticArray<u32> = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ];
  const w = new StaticArray<u32>(64);
  for (let off = 0; off < padded; off += 64) block(h, w, p + <usize>off);
  const out = new ArrayBuffer(32);
  const q = changetype<usize>(out);
  for (let i = 0; i < 8; i++) {
    const v = unchecked(h[i]);
    const o = q + <usize>(i << 2);
    store<u8>(o, <u8>(v >>> 24));
    store<u8>(o + 1, <u8>(v >>> 16));
    store<u8>(o + 2, <u8>(v >>> 8));
    store<u8>(o + 3, <u8>v);
  }
  return out;
}

/** HMAC-SHA-256 of `message` under `key` (32 bytes). */
export function hmacSha256(key: ArrayBuffer, message: ArrayBuffer): ArrayBuffer {
  let k = key;
  if (k.byteLength > 64) k = sha256(k);
  const ipad = new ArrayBuffer(64);
  const opad = new ArrayBuffer(64);
  const kp = changetype<usize>(k);
  for (let i = 0; i < 64; i++) {
    const kb: u8 = i < k.byteLength ? load<u8>(kp + <usize>i) : 0;
    store<u8>(changetype<usize>(ipad) + <usize>i, kb ^ 0x36);
    store<u8>(changetype<usize>(opad) + <usize>i, kb ^ 0x5c);
  }
  return sha256(opad, sha256(ipad, message));
}
