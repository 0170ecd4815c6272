/** Envoy's CPU time and resident memory from /proc (Linux), plus CPU pinning with taskset. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

export interface CpuTicks {
  /** utime + stime of the whole process (all threads), in clock ticks (`getconf CLK_TCK`). */
  ticks: number;
}

/**
 * utime+stime from the text of /proc/<pid>/stat. Fields are counted after the last ")" because the
 * command name (field 2) may itself contain spaces or parentheses; utime and stime are fields 14 and 15.
 */
export function parseProcStat(text: string): CpuTicks {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) {
    throw new Error(`cannot read utime/stime from /proc/<pid>/stat: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { ticks: utime + stime };
}

/** VmRSS in KiB from the text of /proc/<pid>/status. */
export function parseVmRssKb(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (!m) throw new Error("no VmRSS line in /proc/<pid>/status");
  return Number(m[1]);
}

export function readCpuTicks(pid: number): number {
  return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8")).ticks;
}

export function readRssKb(pid: number): number {
  return parseVmRssKb(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
}

let clkTck: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, almost always 100). */
export function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const out = execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim();
    clkTck = Number(out);
    if (!(clkTck > 0)) throw new Error(`getconf CLK_TCK printed ${JSON.stringify(out)}`);
  }
  return clkTck;
}

/** Pin every current thread of `pid` to `cpus` (e.g. "0"); threads created later inherit the mask. */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync("taskset", ["--all-tasks", "--cpu-list", "--pid", cpus, String(pid)], { stdio: "ignore" });
}
