// Guest memory helpers shared by the host-call wrappers. Internal: filters never import this file.
//
// Ownership rules (see RATIONALE.md, "Memory ownership"):
// - Host → guest: the host allocates through `proxy_on_memory_allocate` (an unmanaged `heap.alloc`).
//   The wrapper that receives the pointer copies or decodes the bytes into a managed object at once and
//   frees the block with `takeBytes`/`takeString`. No raw host pointer outlives the host call.
// - Guest → host: strings are encoded into reusable unmanaged scratch slots; bytes are passed by
//   pointer into the managed ArrayBuffer, which the caller keeps alive for the duration of the call.

let hostBytes: usize = 0;

/** Allocates `size` unmanaged bytes for the host to copy data into (`proxy_on_memory_allocate`). */
export function allocateForHost(size: usize): usize {
  hostBytes += size;
  return heap.alloc(size);
}

/** Bytes the host copied into the module since the last `resetHostBytes()` (the dispatcher's GC trigger). */
export function hostBytesSinceReset(): usize {
  return hostBytes;
}

export function resetHostBytes(): void {
  hostBytes = 0;
}

/** Out-pointers for host calls: three 8-byte cells the host writes into (u32 or u64). */
export const OUT0: usize = memory.data(8, 8);
export const OUT1: usize = memory.data(8, 8);
export const OUT2: usize = memory.data(8, 8);

/** Reads a u32 the host wrote to an out-pointer. */
export function out32(cell: usize): u32 {
  return load<u32>(cell);
}

/** Reads a u64 the host wrote to an out-pointer. */
export function out64(cell: usize): u64 {
  return load<u64>(cell);
}

/** Clears the out-pointers before a host call so a host that writes nothing reads as (0, 0). */
export function clearOut(): void {
  store<u64>(OUT0, 0);
  store<u64>(OUT1, 0);
  store<u64>(OUT2, 0);
}

/** Copies a host-allocated block into a managed ArrayBuffer and frees the block. */
export function takeBytes(ptr: usize, size: usize): ArrayBuffer {
  const buf = new ArrayBuffer(<i32>size);
  if (size > 0) memory.copy(changetype<usize>(buf), ptr, size);
  if (ptr != 0) heap.free(ptr);
  return buf;
}

/** Decodes a host-allocated UTF-8 block into a string and frees the block. Invalid UTF-8 never traps. */
export function takeString(ptr: usize, size: usize): string {
  if (ptr == 0) return "";
  const s = String.UTF8.decodeUnsafe(ptr, size, false);
  heap.free(ptr);
  return s;
}

/** Frees a host-allocated block (ptr 0 is the host's "empty" answer and is ignored). */
export function freeHost(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

// --- Scratch slots for guest → host strings ----------------------------------------------------------

const SLOT_COUNT = 4;
const slotPtr = new StaticArray<usize>(SLOT_COUNT);
const slotCap = new StaticArray<usize>(SLOT_COUNT);
const slotLen = new StaticArray<usize>(SLOT_COUNT);

/** Slots larger than this are shrunk back when a small string comes along. */
const SLOT_KEEP: usize = 64 * 1024;

/**
 * Encodes `s` as UTF-8 into scratch slot `slot` (0..3) and returns its address; `encodedLength(slot)`
 * gives the byte count. A slot stays valid until it is used again, so one host call uses one slot per
 * string argument. Unpaired surrogates are encoded as WTF-8 rather than trapping.
 */
export function encode(slot: i32, s: string): usize {
  const units = s.length;
  const needed = <usize>units * 3;
  let ptr = unchecked(slotPtr[slot]);
  if (unchecked(slotCap[slot]) > SLOT_KEEP && needed <= SLOT_KEEP) {
    // A slot grown for one huge string (say, a logged body) is given back on the next ordinary use.
    heap.free(ptr);
    ptr = 0;
    unchecked((slotPtr[slot] = 0));
    unchecked((slotCap[slot] = 0));
  }
  if (needed > unchecked(slotCap[slot])) {
    let cap = unchecked(slotCap[slot]) << 1;
    if (cap < 64) cap = 64;
    while (cap < needed) cap <<= 1;
    if (ptr != 0) heap.free(ptr);
    ptr = heap.alloc(cap);
    unchecked((slotPtr[slot] = ptr));
    unchecked((slotCap[slot] = cap));
  }
  if (ptr == 0) {
    // An empty string in a never-used slot: give the host a valid, non-zero address anyway.
    ptr = heap.alloc(64);
    unchecked((slotPtr[slot] = ptr));
    unchecked((slotCap[slot] = 64));
  }
  unchecked((slotLen[slot] = String.UTF8.encodeUnsafe(changetype<usize>(s), units, ptr, false)));
  return ptr;
}

/** The byte length of the string last encoded into `slot`. */
export function encodedLength(slot: i32): usize {
  return unchecked(slotLen[slot]);
}

/** Address of a managed ArrayBuffer's bytes (0 for null), for passing to the host. */
export function bytesPtr(buf: ArrayBuffer | null): usize {
  return buf === null ? 0 : changetype<usize>(buf);
}

/** Length of a managed ArrayBuffer (0 for null). */
export function bytesLen(buf: ArrayBuffer | null): usize {
  return buf === null ? 0 : <usize>buf.byteLength;
}
