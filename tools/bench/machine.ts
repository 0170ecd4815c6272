/** A description of the machine and tool versions, stored with every result. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";

export interface Machine {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  envoy: string;
  wrk: string;
  go: string;
  node: string;
  /** 1-minute load average when the run started and when it ended. */
  loadStart: number;
  loadEnd?: number;
}

function out(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
  } catch (e) {
    // wrk -v exits non-zero after printing its version
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ""}${err.stderr ?? ""}`;
  }
}

function osRelease(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync("/etc/os-release", "utf8"));
    return m ? m[1]! : os.type();
  } catch {
    return os.type();
  }
}

/** The Envoy "version:" line's build id, e.g. `.../1.39.0/Clean/RELEASE/BoringSSL`. */
export function envoyVersionOf(text: string): string {
  const m = /version:\s*(\S+)/.exec(text);
  return m ? m[1]! : (text.trim().split("\n").pop() ?? "");
}

export function describeMachine(envoyBin: string): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    os: osRelease(),
    envoy: envoyVersionOf(out(envoyBin, ["--version"])),
    wrk: (/wrk (\S+)/.exec(out("wrk", ["-v"])) ?? [])[1] ?? "unknown",
    go: out("go", ["version"]).trim(),
    node: process.version,
    loadStart: os.loadavg()[0]!,
  };
}
