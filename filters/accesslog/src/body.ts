// Optional bounded body capture. The plugin never pauses or buffers the stream: each chunk is copied as it
// passes (return Continue), up to `maxBytes` in total across chunks. Only messages whose Content-Type is
// exactly on the allowlist (type/subtype, parameters ignored, case-insensitive) and that carry no
// Content-Encoding are captured; a body that turns out not to be UTF-8 text (or holds NUL) is dropped
// and reported as `binary`.

import { BodyConfig } from "./config";

export const enum BodySkip {
  None = 0,
  /** Content-Type absent or not on the allowlist. */
  ContentType = 1,
  /** Content-Encoding other than identity (gzip, br, ...). */
  Encoded = 2,
  /** Not valid UTF-8, or contains NUL. */
  Binary = 3,
}

export function skipName(s: BodySkip): string {
  if (s == BodySkip.ContentType) return "content_type";
  if (s == BodySkip.Encoded) return "encoded";
  return "binary";
}

/** `Application/JSON; charset=UTF-8` → `application/json`. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase();
}

function initialSkip(contentType: string | null, contentEncoding: string | null, cfg: BodyConfig): BodySkip {
  if (contentEncoding !== null) {
    const e = contentEncoding.trim().toLowerCase();
    if (e.length > 0 && e != "identity") return BodySkip.Encoded;
  }
  if (contentType === null || !cfg.contentTypes.includes(mediaType(contentType))) return BodySkip.ContentType;
  return BodySkip.None;
}

export class BodyCapture {
  skip: BodySkip = BodySkip.None;
  /** Bytes the message carried, captured or not. */
  seen: i64 = 0;
  /** Captured prefix (`maxBytes` capacity); `used` bytes are valid. */
  private buf: ArrayBuffer;
  private used: i32 = 0;

  constructor(
    private maxBytes: i32,
    contentType: string | null,
    contentEncoding: string | null,
    cfg: BodyConfig,
  ) {
    const skip = initialSkip(contentType, contentEncoding, cfg);
    this.buf = new ArrayBuffer(skip == BodySkip.None ? maxBytes : 0);
    this.skip = skip;
  }

  get truncated(): bool {
    return this.seen > <i64>this.used;
  }

  /** Room left in the capture. */
  get room(): i32 {
    return this.skip == BodySkip.None ? this.maxBytes - this.used : 0;
  }

  /** Adds the next chunk (`chunk` holds at most `room` bytes of a chunk of `chunkSize` bytes). */
  add(chunkSize: i64, chunk: ArrayBuffer | null): void {
    this.seen += chunkSize;
    if (chunk === null || this.skip != BodySkip.None) return;
    const n = min(chunk.byteLength, this.room);
    if (n <= 0) return;
    const src = changetype<usize>(chunk);
    for (let i = 0; i < n; i++) {
      if (load<u8>(src + <usize>i) == 0) {
        this.skip = BodySkip.Binary;
        this.used = 0;
        return;
      }
    }
    memory.copy(changetype<usize>(this.buf) + <usize>this.used, src, <usize>n);
    this.used += n;
  }

  /**
   * The captured text, or null when the capture is not UTF-8 (then `skip` becomes Binary). A multi-byte
   * sequence cut by the byte cap at the very end is dropped, not treated as binary.
   */
  text(): string | null {
    if (this.skip != BodySkip.None) return null;
    const p = changetype<usize>(this.buf);
    const end = validUtf8Prefix(p, this.used, this.truncated);
    if (end < 0) {
      this.skip = BodySkip.Binary;
      return null;
    }
    return String.UTF8.decodeUnsafe(p, <usize>end, false);
  }
}

/**
 * The length of the valid UTF-8 in `len` bytes at `p`, or -1 when it is invalid. When `cut` (the data
 * continues past `len`) an incomplete sequence at the end is excluded instead of failing.
 */
export function validUtf8Prefix(p: usize, len: i32, cut: bool): i32 {
  let i = 0;
  while (i < len) {
    const b = <i32>load<u8>(p + <usize>i);
    let n = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b == 0xe0) lo = 0xa0;
      if (b == 0xed) hi = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b == 0xf0) lo = 0x90;
      if (b == 0xf4) hi = 0x8f;
    } else return -1;
    if (i + n >= len) {
      // The sequence runs past the data: fine only when the cap cut it (then stop before it).
      if (!cut) return -1;
      for (let j = 1; i + j < len; j++) {
        const c = <i32>load<u8>(p + <usize>(i + j));
        if (j == 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return -1;
      }
      return i;
    }
    for (let j = 1; j <= n; j++) {
      const c = <i32>load<u8>(p + <usize>(i + j));
      if (j == 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return -1;
    }
    i += n + 1;
  }
  return i;
}
