// The SDK's one place for fatal errors. Internal: filters use the public `log` and status-returning APIs.
//
// An AssemblyScript `throw` (and any failed runtime check) calls `abort`, which traps and kills the
// worker's VM; Envoy then applies the plugin's failure policy. So the SDK throws nowhere: expected host
// statuses become values in ../hostcalls.ts, and only an unexpected status reaches `fail`, which logs
// at critical naming the host call and the status, then traps.

import { proxy_log, wasi_random_get } from "../abi/imports";
import { LogLevel } from "../abi/enums";

// A static buffer for fatal messages: `abort` may run because memory is exhausted, so it must not allocate.
const FATAL_CAP: usize = 1024;
const fatalBuf: usize = memory.data(<i32>FATAL_CAP);
let fatalLen: usize = 0;

function fatalPut(s: string | null): void {
  if (s === null) return;
  const ptr = changetype<usize>(s);
  const n = <usize>s.length;
  for (let i: usize = 0; i < n && fatalLen < FATAL_CAP; i++) {
    const c = load<u16>(ptr + (i << 1));
    store<u8>(fatalBuf + fatalLen++, c < 0x80 ? <u8>c : <u8>0x3f); // non-ASCII as '?'
  }
}

function fatalPutU32(v: u32): void {
  // Decimal without allocating.
  let digits: u32 = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  if (fatalLen + digits > FATAL_CAP) return;
  let p = fatalLen + digits;
  let x = v;
  do {
    store<u8>(fatalBuf + --p, <u8>(0x30 + (x % 10)));
    x /= 10;
  } while (x != 0);
  fatalLen += digits;
}

// The spec names of the statuses, 0..12, in one string (one data segment instead of thirteen).
const STATUS_NAMES =
  "OK NOT_FOUND BAD_ARGUMENT SERIALIZATION_FAILURE PARSE_FAILURE BAD_EXPRESSION INVALID_MEMORY_ACCESS EMPTY " +
  "CAS_MISMATCH RESULT_MISMATCH INTERNAL_FAILURE BROKEN_CONNECTION UNIMPLEMENTED";

/** Writes the spec name of `status` (or `UNKNOWN_STATUS`) without allocating. */
function fatalPutStatusName(status: u32): void {
  let start = 0;
  for (let i: u32 = 0; i < status && start >= 0; i++) {
    start = STATUS_NAMES.indexOf(" ", start);
    if (start >= 0) start++;
  }
  if (start < 0) {
    fatalPut("UNKNOWN_STATUS");
    return;
  }
  const p = changetype<usize>(STATUS_NAMES);
  for (let i = start; i < STATUS_NAMES.length && fatalLen < FATAL_CAP; i++) {
    const c = load<u16>(p + ((<usize>i) << 1));
    if (c == 0x20) break;
    store<u8>(fatalBuf + fatalLen++, <u8>c);
  }
}

/**
 * Logs at critical that `hostcall` returned an unexpected `status`, then traps.
 * The message reads `wasmgate: proxy_get_buffer_bytes returned BAD_ARGUMENT (2)`.
 */
export function fail(hostcall: string, status: u32): void {
  fatalLen = 0;
  fatalPut("wasmgate: ");
  fatalPut(hostcall);
  fatalPut(" returned ");
  fatalPutStatusName(status);
  fatalPut(" (");
  fatalPutU32(status);
  fatalPut(")");
  proxy_log(LogLevel.Critical, fatalBuf, fatalLen);
  unreachable();
}

/** Logs `wasmgate: <message>` at critical, then traps. For broken SDK invariants only. */
export function panic(message: string): void {
  fatalLen = 0;
  fatalPut("wasmgate: ");
  fatalPut(message);
  proxy_log(LogLevel.Critical, fatalBuf, fatalLen);
  unreachable();
}

/**
 * Replaces AssemblyScript's `env.abort` (asconfig `"use": ["abort=..."]`): a throw or failed check logs
 * `abort: <message> at <file>:<line>:<column>` at critical through `proxy_log`, then traps.
 */
export function abortHandler(message: string | null, fileName: string | null, line: u32, column: u32): void {
  fatalLen = 0;
  fatalPut("abort: ");
  fatalPut(message !== null ? message : "(no message)");
  fatalPut(" at ");
  fatalPut(fileName !== null ? fileName : "?");
  fatalPut(":");
  fatalPutU32(line);
  fatalPut(":");
  fatalPutU32(column);
  proxy_log(LogLevel.Critical, fatalBuf, fatalLen);
  unreachable();
}

/** Replaces AssemblyScript's `env.trace`: logs the message at debug. */
export function traceHandler(
  message: string,
  n: i32 = 0,
  a0: f64 = 0,
  a1: f64 = 0,
  a2: f64 = 0,
  a3: f64 = 0,
  a4: f64 = 0,
): void {
  fatalLen = 0;
  fatalPut("trace: ");
  fatalPut(message);
  proxy_log(LogLevel.Debug, fatalBuf, fatalLen);
}

/** Replaces AssemblyScript's `env.seed` (used by Math.random) with 8 bytes from WASI `random_get`. */
export function seedHandler(): f64 {
  const cell = memory.data(8, 8);
  wasi_random_get(cell, 8);
  return reinterpret<f64>(load<u64>(cell) & 0x7fefffffffffffff); // a finite double, never NaN
}
