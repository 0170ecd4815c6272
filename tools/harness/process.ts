/**
 * Managed child processes for the e2e harness.
 *
 * Every child is spawned detached in its own process group, with stdout and stderr
 * going straight to `.run/logs/<name>-<pid>.log`. A process-wide registry kills every
 * child that is still running when this process exits or receives SIGINT/SIGTERM/SIGHUP,
 * and (where `setpriv` is available) children also get SIGKILL if their parent dies
 * without running any handler, so tests never leave processes behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureDir, logsDir } from "./paths";

export interface SpawnOptions {
  /** Short name used in log file names and error messages (e.g. "envoy", "httpbin"). */
  name: string;
  /** Executable; absolute paths are checked before spawning. */
  command: string;
  args?: string[];
  /** Extra environment, merged over `process.env`. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Directory for the log file (default `.run/logs`). */
  logDir?: string;
  /**
   * Keep this Node process alive while the child runs (default false: the child is
   * unref'd, so a forgotten child never keeps jest from exiting; the exit hook kills it).
   */
  keepAlive?: boolean;
  /** Ask the kernel to SIGKILL the child if this process dies abruptly (default true; needs setpriv). */
  dieWithParent?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Thrown by `waitUntil` when the watched child exits before the condition holds. */
export class ProcessExitedError extends Error {
  constructor(
    message: string,
    readonly processName: string,
    readonly pid: number,
    readonly status: ExitStatus,
    readonly logPath: string,
  ) {
    super(message);
    this.name = "ProcessExitedError";
  }
}

/** Thrown by `waitUntil` when the condition does not hold in time. */
export class WaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WaitTimeoutError";
  }
}

const TAIL_LINES = 40;
const SETPRIV = "/usr/bin/setpriv";

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** True if a process with this pid exists and is not a zombie (an exited child nobody reaped yet). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." - the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
}

/** Last `lines` lines of a text file ("" if it does not exist). Reads at most the last 256 KiB. */
export function readTail(file: string, lines: number = TAIL_LINES): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const all = buf.toString("utf8").replace(/\n$/, "").split("\n");
    return all.slice(-lines).join("\n");
  } finally {
    fs.closeSync(fd);
  }
}

export class ManagedProcess {
  readonly pid: number;
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: readonly string[],
    readonly logPath: string,
    pid: number,
    exit: Promise<ExitStatus>,
  ) {
    this.pid = pid;
    this.exited = exit.then((status) => {
      this.status = status;
      registry.delete(this);
      return status;
    });
  }

  /** Exit status, or undefined while the child runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /** Whole log (stdout + stderr) so far. */
  logs(): string {
    try {
      return fs.readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** Last `lines` lines of the log. */
  logTail(lines: number = TAIL_LINES): string {
    return readTail(this.logPath, lines);
  }

  /** Send a signal to the child's whole process group (no-op once it has exited). */
  signal(sig: NodeJS.Signals): void {
    if (this.status !== undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }

  /**
   * SIGTERM the process group, wait up to `graceMs` (default 5 s) for the child to
   * exit, then SIGKILL the group. Idempotent; concurrent calls share one stop.
   */
  stop(graceMs = 5000): Promise<void> {
    if (this.status !== undefined) return Promise.resolve();
    this.stopping ??= (async () => {
      this.signal("SIGTERM");
      const grace = sleep(graceMs);
      const exitedInTime = await Promise.race([
        this.exited.then(() => true),
        grace.promise.then(() => false),
      ]);
      grace.cancel();
      if (exitedInTime) return;
      this.signal("SIGKILL");
      const hard = sleep(5000);
      const killed = await Promise.race([this.exited.then(() => true), hard.promise.then(() => false)]);
      hard.cancel();
      if (!killed) throw new Error(`${this.name} (pid ${this.pid}) did not exit after SIGKILL`);
    })();
    return this.stopping;
  }

  /** `waitUntil` bound to this child: fails fast if it exits, and error messages carry its log tail. */
  waitUntil<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string, intervalMs?: number): Promise<T> {
    return waitUntil(fn, timeoutMs, what, { proc: this, intervalMs });
  }

  describe(): string {
    return `${this.name} (pid ${this.pid})`;
  }
}

// ---------------------------------------------------------------------------------
// Registry: kill every live child when this process goes away.

const registry = new Set<ManagedProcess>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const p of registry) {
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

let callerHandlesSignals = false;

/**
 * For long-running commands (`wasmgate up`/`dev`) that stop their children gracefully themselves on
 * Ctrl-C: from now on SIGINT/SIGTERM/SIGHUP no longer SIGKILL every child. The caller must handle those
 * signals; the exit hook and the parent-death signal still kill whatever is left.
 */
export function leaveSignalsToCaller(): void {
  callerHandlesSignals = true;
}

function onSignal(sig: NodeJS.Signals): void {
  if (callerHandlesSignals) return;
  killAllSync();
  // If nobody else handles this signal, restore the default action and re-raise it.
  if (process.listenerCount(sig) === 1) {
    process.removeListener(sig, onSignal);
    process.kill(process.pid, sig);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
}

/** Children started by this process that are still running. */
export function liveProcesses(): ManagedProcess[] {
  return [...registry];
}

/** Gracefully stop every live child. */
export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all([...registry].map((p) => p.stop(graceMs)));
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_") || "proc";
}

/** Spawn a managed child; resolves once the OS has started it (rejects if it could not be started). */
export async function spawnManaged(opts: SpawnOptions): Promise<ManagedProcess> {
  const args = opts.args ?? [];
  if (opts.command.includes("/")) {
    try {
      fs.accessSync(opts.command, fs.constants.X_OK);
    } catch {
      throw new Error(`${opts.name}: cannot execute ${opts.command}`);
    }
  }
  const dir = ensureDir(opts.logDir ?? logsDir);
  const name = safeName(opts.name);
  const tmpLog = path.join(
    dir,
    `${name}-starting-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`,
  );
  const fd = fs.openSync(tmpLog, "a");

  let file = opts.command;
  let argv = args;
  if ((opts.dieWithParent ?? true) && fs.existsSync(SETPRIV)) {
    file = SETPRIV;
    argv = ["--pdeathsig", "KILL", "--", opts.command, ...args];
  }

  installHooks();
  let child: ChildProcess;
  try {
    child = spawn(file, argv, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: ["ignore", fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }

  // Listen for exit before anything else can yield to the event loop.
  const exit = new Promise<ExitStatus>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      child.removeListener("spawn", onSpawn);
      reject(new Error(`${opts.name}: failed to start ${opts.command}: ${err.message}`));
    };
    const onSpawn = () => {
      child.removeListener("error", onError);
      resolve();
    };
    child.once("error", onError);
    child.once("spawn", onSpawn);
  }).catch((err) => {
    fs.rmSync(tmpLog, { force: true });
    throw err;
  });

  const logPath = path.join(dir, `${name}-${child.pid}.log`);
  fs.renameSync(tmpLog, logPath); // the child keeps writing to the same inode
  const proc = new ManagedProcess(opts.name, opts.command, args, logPath, child.pid!, exit);
  registry.add(proc);
  child.on("error", () => {
    // errors after spawn (e.g. failed kill) are surfaced through stop()/exit status
  });
  if (!opts.keepAlive) child.unref();
  return proc;
}

export interface WaitOptions {
  /** Child whose exit aborts the wait and whose log tail is added to errors. */
  proc?: ManagedProcess;
  intervalMs?: number;
}

function withTail(message: string, proc: ManagedProcess | undefined): string {
  if (!proc) return message;
  const tail = proc.logTail(TAIL_LINES);
  return `${message}\n--- last ${TAIL_LINES} lines of ${proc.logPath} ---\n${tail || "(empty log)"}`;
}

function exitText(status: ExitStatus): string {
  return status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
}

/**
 * Poll `fn` until it returns (or resolves to) a truthy value, and return that value.
 * Exceptions thrown by `fn` count as "not yet". Rejects with WaitTimeoutError after
 * `timeoutMs`, or with ProcessExitedError as soon as `opts.proc` exits; both messages
 * include the last ~40 lines of the child's log.
 */
export async function waitUntil<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  opts: WaitOptions = {},
): Promise<T> {
  const { proc } = opts;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const exitedErr = (status: ExitStatus) =>
    new ProcessExitedError(
      withTail(`${proc!.describe()} ${exitText(status)} while waiting for ${what}`, proc),
      proc!.name,
      proc!.pid,
      status,
      proc!.logPath,
    );

  for (;;) {
    if (proc?.exitStatus) throw exitedErr(proc.exitStatus);
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;

    const timer = sleep(remaining);
    type Outcome =
      | { kind: "value"; value: T }
      | { kind: "error"; error: unknown }
      | { kind: "timeout" }
      | { kind: "exit" };
    const racers: Promise<Outcome>[] = [
      Promise.resolve()
        .then(fn)
        .then(
          (value): Outcome => ({ kind: "value", value }),
          (error): Outcome => ({ kind: "error", error }),
        ),
      timer.promise.then((): Outcome => ({ kind: "timeout" })),
    ];
    if (proc) racers.push(proc.exited.then((): Outcome => ({ kind: "exit" })));
    const outcome = await Promise.race(racers);
    timer.cancel();

    if (outcome.kind === "value" && outcome.value) return outcome.value;
    if (outcome.kind === "error") lastError = outcome.error;
    if (outcome.kind === "exit") throw exitedErr(proc!.exitStatus!);
    if (outcome.kind === "timeout") break;

    const pause = sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    if (proc) await Promise.race([pause.promise, proc.exited]);
    else await pause.promise;
    pause.cancel();
  }

  if (proc?.exitStatus) throw exitedErr(proc.exitStatus);
  let message = `timed out after ${timeoutMs} ms waiting for ${what}`;
  if (lastError !== undefined) {
    message += ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  }
  throw new WaitTimeoutError(withTail(message, proc));
}
