// `wasmgate up` as a person runs it: a child process on free ports, curl /headers through the plugins,
// Ctrl-C (SIGINT), and neither Envoy nor httpbin is left running. A failed Envoy start shows Envoy's own
// error lines, not a stack trace, and stops httpbin again.

import * as net from "node:net";
import { freePort, httpbinHeaders, isRunning, request, waitUntil } from "../../tools/harness";
import { CliChild, LAUNCHERS } from "./cli-child";

jest.setTimeout(60_000);

let child: CliChild | undefined;
afterEach(async () => {
  // A failed test must not leave processes: SIGTERM (relayed by tsx, handled by wasmgate), then SIGKILL.
  if (!child) return;
  await child.stop();
  child = undefined;
});

describe.each(LAUNCHERS)("wasmgate up through $name", ({ command, args }) => {
  test("serves /headers through the plugins and stops everything on Ctrl-C", async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    child = new CliChild(command, [
      ...args,
      "up",
      "--port",
      String(port),
      "--admin-port",
      String(adminPort),
      "--httpbin-port",
      "0",
      "--concurrency",
      "1",
      "--no-build",
    ]);
    const ready = await child.ready();
    expect(ready.gatewayUrl).toBe(`http://127.0.0.1:${port}`);
    expect(ready.adminUrl).toBe(`http://127.0.0.1:${adminPort}`);
    expect(child.err).toMatch(/^\[wasmgate\] reading envoy\/gateway\.yaml and its WasmPlugins$/m);
    expect(child.err).toMatch(/^\[wasmgate\] starting Envoy \(1 worker thread\)$/m);

    const res = await request({ url: `${ready.gatewayUrl}/headers` });
    expect(res.status).toBe(200);
    expect(httpbinHeaders(res.body)["x-wasmgate-hello"]).toEqual(["hello from wasmgate"]);
    // One of the gateway's httpbins answered (the routing plugin sends a share of requests to httpbin_v2).
    expect(ready.httpbinUrls.map((u) => new URL(u).host)).toContain(res.headers["x-upstream-host"]);
    expect((await request({ url: `${ready.adminUrl}/ready` })).body.trim()).toBe("LIVE");

    const pids = [ready.envoyPid, ...ready.httpbinPids];
    expect(pids.every(isRunning)).toBe(true);
    child.child.kill("SIGINT");
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.err).toMatch(/\[wasmgate\] stopping Envoy and httpbin\n\[wasmgate\] stopped\n$/);
    expect(pids.filter(isRunning)).toEqual([]);
  });
});

test("a failed Envoy start shows Envoy's own error lines and leaves nothing running", async () => {
  // Hold the listener port so Envoy cannot bind it.
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    child = new CliChild(LAUNCHERS[0].command, [
      ...LAUNCHERS[0].args,
      "up",
      "--port",
      String(port),
      "--admin-port",
      "0",
      "--httpbin-port",
      "0",
      "--concurrency",
      "1",
      "--no-build",
    ]);
    const exit = await child.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(child.err).toContain("[wasmgate] Envoy failed to start. Envoy said:\n");
    expect(child.err).toContain(`cannot bind '127.0.0.1:${port}': Address already in use`);
    expect(child.err).toContain(
      "[wasmgate] pick other ports with --port / --admin-port (0 = any free port)\n",
    );
    expect(child.err).toMatch(/\[wasmgate\] full log: \.run\/logs\/envoy-\d+\.log\n/);
    expect(child.err).not.toMatch(/^\s+at /m); // no stack trace
    const started = [...child.err.matchAll(/starting httpbin for cluster \S+ on 127\.0\.0\.1:(\d+)/g)].map(
      (m) => Number(m[1]),
    );
    expect(started.length).toBeGreaterThan(0);
    // httpbin was stopped again: its ports are free.
    for (const p of started) {
      await waitUntil(
        () =>
          new Promise<boolean>((resolve) => {
            const s = net.connect({ host: "127.0.0.1", port: p });
            s.once("connect", () => (s.destroy(), resolve(false)));
            s.once("error", () => resolve(true));
          }),
        5000,
        `port ${p} to be closed`,
      );
    }
  } finally {
    blocker.close();
  }
});
