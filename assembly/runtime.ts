// Time, randomness and the VM's environment, from the host.

import { WasiClock } from "./abi/enums";
import * as abi from "./abi/imports";
import * as host from "./hostcalls";
import { panic } from "./internal/fail";

/** Wall-clock nanoseconds since the Unix epoch (`proxy_get_current_time_nanoseconds`; Envoy's system clock). */
export function currentTimeNanos(): u64 {
  return host.getCurrentTimeNanoseconds();
}

/** Wall-clock milliseconds since the Unix epoch. */
export function currentTimeMillis(): u64 {
  return host.getCurrentTimeNanoseconds() / 1_000_000;
}

const clockCell: usize = memory.data(8, 8);

/**
 * Monotonic nanoseconds (WASI `clock_time_get(MONOTONIC)`): never jumps with wall-clock changes, and is
 * the same clock for every worker VM of one Envoy process, so it can stamp shared state.
 */
export function monotonicNanos(): u64 {
  const errno = abi.wasi_clock_time_get(WasiClock.Monotonic, 1, clockCell);
  if (errno != 0) panic("clock_time_get(MONOTONIC) failed");
  return load<u64>(clockCell);
}

/**
 * `n` bytes from the host's random source (WASI `random_get`; Envoy reads its system CSPRNG).
 * Envoy allows 64 KiB per call; larger requests are split.
 */
export function randomBytes(n: i32): ArrayBuffer {
  const buf = new ArrayBuffer(n);
  let off = 0;
  while (off < n) {
    const chunk = min(n - off, 65536);
    if (abi.wasi_random_get(changetype<usize>(buf) + <usize>off, <usize>chunk) != 0)
      panic("random_get failed");
    off += chunk;
  }
  return buf;
}

const randomCell: usize = memory.data(8, 8);

/** A uniformly random u64 from the host's random source. */
export function randomU64(): u64 {
  if (abi.wasi_random_get(randomCell, 8) != 0) panic("random_get failed");
  return load<u64>(randomCell);
}

/**
 * The value of environment variable `name` as the host exposes it to the VM (Envoy:
 * `vm_config.environment_variables`, i.e. WasmPlugin `vmConfig.env`), or null when unset.
 */
export function getEnv(name: string): string | null {
  const counts = memory.data(8, 8);
  if (abi.wasi_environ_sizes_get(counts, counts + 4) != 0) return null;
  const count = <usize>load<u32>(counts);
  const bufSize = <usize>load<u32>(counts + 4);
  if (count == 0) return null;
  const ptrs = heap.alloc(count * 4);
  const buf = heap.alloc(bufSize);
  let result: string | null = null;
  if (abi.wasi_environ_get(ptrs, buf) == 0) {
    for (let i: usize = 0; i < count && result === null; i++) {
      const entry = <usize>load<u32>(ptrs + i * 4);
      // Entries are NUL-terminated `KEY=VALUE`.
      let end = entry;
      while (end < buf + bufSize && load<u8>(end) != 0) end++;
      const kv = String.UTF8.decodeUnsafe(entry, end - entry, false);
      const eq = kv.indexOf("=");
      if (eq >= 0 && kv.substring(0, eq) == name) result = kv.substring(eq + 1);
    }
  }
  heap.free(ptrs);
  heap.free(buf);
  return result;
}
