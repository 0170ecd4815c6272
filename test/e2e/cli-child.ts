// Runs the wasmgate CLI as a child process for the e2e tests (the way a person runs it), and reads what it
// prints: the ready block of `up`/`dev` gives the URLs and the pids of Envoy and httpbin.

import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

/** How to start the CLI: the `wasmgate` bin, or `tsx tools/cli/bin.ts` as `npm start` does. */
export const LAUNCHERS = [
  { name: "the wasmgate bin", command: process.execPath, args: [path.join(ROOT, "tools/bin/wasmgate.js")] },
  {
    name: "tsx tools/cli/bin.ts (npm start)",
    command: path.join(ROOT, "node_modules/.bin/tsx"),
    args: ["tools/cli/bin.ts"],
  },
] as const;

export interface Ready {
  gatewayUrl: string;
  adminUrl: string;
  httpbinUrls: string[];
  envoyPid: number;
  httpbinPids: number[];
}

export class CliChild {
  out = "";
  err = "";
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on("data", (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  /** Resolves when `pattern` shows up in stdout+stderr; rejects on timeout or exit, with the output. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.exited.then(() => (done = true));
    for (;;) {
      const m = pattern.exec(this.out + this.err);
      if (m) return m;
      if (done || Date.now() > deadline) {
        throw new Error(
          `${done ? "exited" : "timed out"} waiting for ${pattern}\n--- stdout\n${this.out}\n--- stderr\n${this.err}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async ready(timeoutMs = 45_000): Promise<Ready> {
    await this.waitFor(/Press Ctrl-C to stop\./, timeoutMs);
    const one = (re: RegExp) => re.exec(this.out)![1]!;
    const all = (re: RegExp) => [...this.out.matchAll(re)].map((m) => m[1]!);
    return {
      gatewayUrl: one(/^ {2}gateway +(http:\S+)/m),
      adminUrl: one(/^ {2}admin +(http:\S+)/m),
      httpbinUrls: all(/^ {2}httpbin +(http:\S+)/gm),
      envoyPid: Number(one(/Envoy \S+ \(pid (\d+)\)/)),
      httpbinPids: all(/httpbin \S+\.log \(pid (\d+)\)/g).map(Number),
    };
  }

  /** SIGTERM (tsx relays it; wasmgate stops its children), then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    this.kill("SIGKILL");
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
