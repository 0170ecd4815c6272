// `wasmgate dev`: `up`, plus a watcher that rebuilds and reloads changed plugins without restarting Envoy.
//
// Each HTTP plugin reaches Envoy through file-based ECDS (see ecds.ts): the bootstrap only names
// .run/dev/<run>/ecds/<plugin>.yaml, and that file carries the plugin's typed_config, whose module is a
// content-addressed copy (.run/dev/<run>/wasm/<plugin>-<sha256 prefix>.wasm), so a new build always
// changes the typed_config (Envoy ignores updates whose hash is unchanged). Files are written to a
// temporary name and renamed onto the watched path, which is what Envoy's file watcher reacts to.
// A change that alters the bootstrap itself (a plugin added, removed or moved; routes; clusters) restarts
// Envoy instead.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { envoyErrorLines, parseStats, request } from "../harness";
import { renderChecked } from "./cmd-render";
import {
  buildModules,
  checkPluginsInEmulator,
  CliIo,
  Inputs,
  loadInputs,
  Reported,
  report,
  ROOT,
  say,
} from "./context";
import { ecdsResponse, typedConfigHash, withEcds } from "./ecds";
import type { ParsedArgs } from "./options";
import { display } from "./project";
import type { Json, RenderedPlugin, RenderResult } from "./render";
import { Interrupt, Interrupted, prepare, Stack, stackOptions } from "./run";
import { toYaml } from "./yaml-out";

interface Plan {
  result: RenderResult;
  bootstrap: Json;
  /** ECDS version (typed_config hash) per HTTP plugin. */
  versions: Map<string, string>;
}

const RELEVANT = /\.(ts|ya?ml|json)$/;

class DevSession {
  readonly ecdsDir: string;
  readonly wasmDir: string;
  private running: Plan | undefined;
  private ports: Record<string, number> = {};
  private busy = false;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private watchers: fs.FSWatcher[] = [];

  constructor(
    readonly io: CliIo,
    readonly args: ParsedArgs,
    readonly stack: Stack,
    readonly runDir: string,
  ) {
    this.ecdsDir = path.join(runDir, "ecds");
    this.wasmDir = path.join(runDir, "wasm");
    fs.mkdirSync(this.ecdsDir, { recursive: true });
    fs.mkdirSync(this.wasmDir, { recursive: true });
  }

  /** Content-addressed copy of a module (written once, atomically). */
  private contentAddressed(plugin: RenderedPlugin, local: string): string {
    const abs = path.resolve(ROOT, local);
    if (!fs.existsSync(abs)) return local; // Envoy (or the emulator check) reports the missing file
    const bytes = fs.readFileSync(abs);
    const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    const dest = path.join(this.wasmDir, `${plugin.name}-${hash}.wasm`);
    if (!fs.existsSync(dest)) {
      fs.writeFileSync(`${dest}.tmp`, bytes);
      fs.renameSync(`${dest}.tmp`, dest);
    }
    return dest;
  }

  private ecdsPath(name: string): string {
    return path.join(this.ecdsDir, `${name}.yaml`);
  }

  plan(inputs: Inputs): Plan {
    const result = renderChecked(this.io, inputs, {
      ...this.stack.renderOptions(this.ports),
      codePath: (p, local) => this.contentAddressed(p, local),
    });
    const bootstrap = withEcds(result.config!, result.plugins, (n) => this.ecdsPath(n));
    const versions = new Map(
      result.plugins.filter((p) => p.type === "HTTP").map((p) => [p.name, typedConfigHash(p)]),
    );
    return { result, bootstrap, versions };
  }

  /** Writes a plugin's ECDS file: temp file, then rename onto the path Envoy watches. */
  private writeEcds(plugin: RenderedPlugin, version: string): void {
    const file = this.ecdsPath(plugin.name);
    fs.writeFileSync(`${file}.tmp`, toYaml(ecdsResponse(plugin, version)));
    fs.renameSync(`${file}.tmp`, file);
  }

  async start(inputs: Inputs): Promise<void> {
    this.ports = await this.stack.startHttpbins(inputs);
    const plan = this.plan(inputs);
    for (const p of plan.result.plugins) if (p.type === "HTTP") this.writeEcds(p, plan.versions.get(p.name)!);
    await this.stack.startEnvoy(plan.bootstrap);
    this.running = plan;
    this.stack.printReady(plan.result, [
      `  reload   on changes to filters/ and ${this.watchedFiles(inputs).join(", ")}`,
      `           ECDS files: ${display(ROOT, this.ecdsDir)}/<plugin>.yaml`,
    ]);
    this.watch(inputs);
  }

  private watchedFiles(inputs: Inputs): string[] {
    return [
      display(ROOT, inputs.gatewayFile),
      ...inputs.pluginFiles.filter((f) => !f.startsWith("filters/")),
    ];
  }

  private watch(inputs: Inputs): void {
    const filters = path.join(ROOT, "filters");
    this.watchers.push(
      fs.watch(filters, { recursive: true }, (_event, file) => {
        const f = String(file ?? "");
        if (RELEVANT.test(f) && !f.endsWith(".test.ts") && !f.split("/").some((s) => s.startsWith(".")))
          this.changed(`filters/${f}`);
      }),
    );
    const dirs = new Set(
      [inputs.gatewayFile, ...inputs.pluginFiles.map((f) => path.resolve(ROOT, f))]
        .map((f) => path.dirname(f))
        .filter((d) => !d.startsWith(filters + path.sep) && d !== filters),
    );
    for (const dir of dirs) {
      this.watchers.push(
        fs.watch(dir, (_event, file) => {
          const f = String(file ?? "");
          if (/\.ya?ml$/.test(f)) this.changed(display(ROOT, path.join(dir, f)));
        }),
      );
    }
  }

  private changed(what: string): void {
    if (!this.pending.includes(what)) this.pending.push(what);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), 250);
  }

  private async reload(): Promise<void> {
    if (this.busy) return; // the running reload picks the pending changes up when it finishes
    this.busy = true;
    try {
      while (this.pending.length > 0) {
        const what = this.pending.splice(0);
        say(this.io, `change: ${what.join(", ")}`);
        try {
          await this.apply();
        } catch (e) {
          if (e instanceof Reported)
            say(this.io, "not reloaded: fix the problems above (Envoy keeps the previous plugins)");
          else if (!(e instanceof Interrupted)) say(this.io, `reload failed: ${(e as Error).message}`);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async apply(): Promise<void> {
    const inputs = loadInputs(this.io, this.args.options.gateway);
    await buildModules(this.io, inputs.plugins);
    const check = await checkPluginsInEmulator(inputs.plugins, inputs.gateway, this.io.env, true);
    report(this.io, check.problems);
    const next = this.plan(inputs);
    const running = this.running!;
    if (JSON.stringify(next.bootstrap) !== JSON.stringify(running.bootstrap)) {
      const before = running.result.plugins.map((p) => p.name).join(", ") || "none";
      const after = next.result.plugins.map((p) => p.name).join(", ") || "none";
      say(
        this.io,
        `the bootstrap changed (plugins: ${before} → ${after}, or routes/clusters): restarting Envoy`,
      );
      for (const p of next.result.plugins)
        if (p.type === "HTTP") this.writeEcds(p, next.versions.get(p.name)!);
      await this.stack.stopEnvoy();
      await this.stack.startEnvoy(next.bootstrap);
      this.running = next;
      this.stack.printReady(next.result);
      this.prune();
      return;
    }
    const changed = next.result.plugins.filter(
      (p) => p.type === "HTTP" && next.versions.get(p.name) !== running.versions.get(p.name),
    );
    if (changed.length === 0) {
      say(this.io, "no plugin changed (nothing sent to Envoy)");
      return;
    }
    for (const p of changed) {
      const old = running.result.plugins.find((o) => o.name === p.name)!;
      const started = Date.now();
      const ok = await this.push(p, next.versions.get(p.name)!);
      if (ok) {
        const i = running.result.plugins.indexOf(old);
        running.result.plugins[i] = p;
        running.versions.set(p.name, next.versions.get(p.name)!);
        say(
          this.io,
          `reloaded ${p.name} through ECDS (${whatChanged(old, p)}) in ${Date.now() - started} ms; Envoy kept running`,
        );
      }
    }
    this.prune();
  }

  /** Hands one plugin to Envoy and waits until Envoy applied or rejected it. */
  private async push(plugin: RenderedPlugin, version: string): Promise<boolean> {
    const envoy = this.stack.envoy!;
    const prefix = `extension_config_discovery.http_filter.${plugin.name}.`;
    const stats = async () => {
      const res = await request({
        url: `${envoy.adminUrl}/stats?filter=${encodeURIComponent("^" + prefix.replace(/\./g, "\\."))}`,
      });
      const text = new Map(
        res.body
          .split("\n")
          .map((l) => l.split(": "))
          .filter((kv) => kv.length === 2)
          .map(([k, v]) => [k!.slice(prefix.length), v!.replace(/^"|"$/g, "")]),
      );
      return {
        version: text.get("version_text"),
        rejected: parseStats(res.body).get(prefix + "update_rejected") ?? 0,
      };
    };
    const before = await stats();
    const logOffset = fs.statSync(envoy.logPath).size;
    this.writeEcds(plugin, version);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const now = await stats();
      if (now.version === version) return true;
      if (now.rejected > before.rejected) {
        const log = fs.readFileSync(envoy.logPath, "utf8").slice(logOffset);
        say(this.io, `Envoy rejected the new ${plugin.name} (it keeps the previous one). Envoy said:`);
        for (const l of envoyErrorLines(log)) this.io.stderr(`  ${l}\n`);
        return false;
      }
    }
    say(
      this.io,
      `Envoy did not confirm the new ${plugin.name} within 15 s; see ${display(ROOT, envoy.logPath)}`,
    );
    return false;
  }

  /** Deletes content-addressed modules no running plugin uses any more. */
  private prune(): void {
    const used = new Set(
      (this.running?.result.plugins ?? []).map((p) => {
        const code = ((p.typedConfig.config as Json).vm_config as Json).code as
          { local?: { filename?: string } } | undefined;
        return code?.local?.filename;
      }),
    );
    for (const f of fs.readdirSync(this.wasmDir)) {
      const full = path.join(this.wasmDir, f);
      if (!used.has(full)) fs.rmSync(full, { force: true });
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}

function whatChanged(old: RenderedPlugin, next: RenderedPlugin): string {
  const a = old.typedConfig.config as Json;
  const b = next.typedConfig.config as Json;
  const parts: string[] = [];
  const code = (c: Json) => JSON.stringify((c.vm_config as Json).code);
  if (code(a) !== code(b)) parts.push("new build");
  if (JSON.stringify(a.configuration) !== JSON.stringify(b.configuration)) parts.push("pluginConfig changed");
  if (parts.length === 0) parts.push("settings changed");
  return parts.join(", ");
}

export async function devCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const interrupt = new Interrupt(io);
  const stack = new Stack(io, stackOptions(args), interrupt);
  fs.mkdirSync(path.join(ROOT, ".run", "dev"), { recursive: true });
  const runDir = fs.mkdtempSync(path.join(ROOT, ".run", "dev", `${process.pid}-`));
  const session = new DevSession(io, args, stack, runDir);
  try {
    const inputs = await prepare(io, args, interrupt, true);
    await session.start(inputs);
    const why = await Promise.race([interrupt.promise.then(() => undefined), stack.exited]);
    if (why) {
      say(io, why);
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
    session.close();
    await stack.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
    interrupt.dispose();
    if (interrupt.signal) say(io, "stopped");
  }
}
