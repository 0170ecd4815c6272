/** Start go-httpbin on loopback as an upstream for e2e tests. */
import { request } from "./httpclient";
import { findHttpbinBinary } from "./paths";
import { freePort, LOOPBACK } from "./ports";
import { ManagedProcess, ProcessExitedError, spawnManaged } from "./process";

export interface HttpbinOptions {
  /** Port to listen on (default: a free port; retried on a bind race). */
  port?: number;
  /** Name used for the log file (default "httpbin"). */
  name?: string;
  /** How long to wait for `GET /get` to answer 200 (default 15 s). */
  timeoutMs?: number;
  keepAlive?: boolean;
}

export interface HttpbinInstance {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:40123 */
  url: string;
  host: string;
  port: number;
  pid: number;
  logPath: string;
  process: ManagedProcess;
  logs(): string;
  stop(): Promise<void>;
}

export async function startHttpbin(opts: HttpbinOptions = {}): Promise<HttpbinInstance> {
  const bin = findHttpbinBinary();
  const attempts = opts.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const url = `http://${LOOPBACK}:${port}`;
    const proc = await spawnManaged({
      name: opts.name ?? "httpbin",
      command: bin,
      args: ["-host", LOOPBACK, "-port", String(port)],
      keepAlive: opts.keepAlive,
    });
    try {
      await proc.waitUntil(
        async () => (await request({ url: `${url}/get`, timeoutMs: 2000 })).status === 200,
        opts.timeoutMs ?? 15_000,
        `go-httpbin to answer GET ${url}/get with 200`,
      );
    } catch (err) {
      await proc.stop();
      const bindRace = err instanceof ProcessExitedError && /address already in use/i.test(proc.logs());
      if (bindRace && attempt < attempts) continue;
      throw err;
    }
    return {
      url,
      host: LOOPBACK,
      port,
      pid: proc.pid,
      logPath: proc.logPath,
      process: proc,
      logs: () => proc.logs(),
      stop: () => proc.stop(),
    };
  }
}
