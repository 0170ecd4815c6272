/** Loopback port helpers. */
import * as net from "node:net";

export const LOOPBACK = "127.0.0.1";

/**
 * Ask the kernel for a free TCP port on `host` (listen on port 0, read the port, close).
 * The port is free at the time of the call; another process may still grab it
 * before it is used, so callers that can should prefer port 0 + discovery.
 */
export function freePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const addr = server.address();
      if (addr === null || typeof addr === "string") {
        server.close();
        reject(new Error("could not determine the port of a listening socket"));
        return;
      }
      const port = addr.port;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Try one TCP connection to host:port; resolves true if it was accepted. */
export function canConnect(port: number, host: string = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface WaitForPortOptions {
  host?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/** Resolve once something accepts TCP connections on host:port; reject after `timeoutMs` (default 10 s). */
export async function waitForPort(port: number, opts: WaitForPortOptions = {}): Promise<void> {
  const host = opts.host ?? LOOPBACK;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port, host, Math.min(1000, timeoutMs))) return;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port} to accept connections`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
