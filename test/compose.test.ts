// compose.yaml is correct by construction: it mounts exactly the rendered config and the built modules the
// local runs use, pins the same Envoy and httpbin versions as tools/setup.sh, and publishes the ports the
// rendered config listens on; each Envoy cluster is a compose service on the port go-httpbin listens on.

import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { loadGateway } from "../tools/cli/project";
import { validateEnvoyConfig } from "../tools/harness";

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, "..");
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const compose = parseYaml(fs.readFileSync(path.join(ROOT, "compose.yaml"), "utf8")) as Json;
const gateway = loadGateway(ROOT, path.join(ROOT, "envoy/gateway.yaml")).gateway!;
const composeTarget = gateway.targets.compose!;
const rendered = parseYaml(fs.readFileSync(path.join(ROOT, composeTarget.output!), "utf8")) as Json;
const setup = fs.readFileSync(path.join(ROOT, "tools/setup.sh"), "utf8");
const setupVar = (name: string) => new RegExp(`^${name}=(\\S+)`, "m").exec(setup)![1]!;
const envoy = compose.services.envoy as Json;
/** go-httpbin's default listen port in the image (no `command` overrides it below). */
const HTTPBIN_CONTAINER_PORT = 8080;

function configPath(): string {
  const i = (envoy.command as string[]).indexOf("-c");
  return envoy.command[i + 1];
}

function mounts(): { source: string; target: string; mode: string }[] {
  return (envoy.volumes as string[]).map((v) => {
    const [source, target, mode] = v.split(":");
    return { source: path.normalize(source!), target: target!, mode: mode ?? "rw" };
  });
}

const hcm = () => rendered.static_resources.listeners[0].filter_chains[0].filters.at(-1).typed_config;
const wasmFiles = (): string[] =>
  (hcm().http_filters as Json[])
    .filter((f) => f.typed_config?.config?.vm_config)
    .map((f) => f.typed_config.config.vm_config.code.local.filename);

describe("compose.yaml", () => {
  test("Envoy image is the wheel's version", () => {
    expect(envoy.image).toBe(`envoyproxy/envoy:v${setupVar("ENVOY_VERSION")}`);
  });

  test.each(Object.keys(compose.services).filter((s) => s !== "envoy"))(
    "%s runs the pinned go-httpbin",
    (name) => {
      expect(compose.services[name].image).toBe(`mccutchen/go-httpbin:${setupVar("HTTPBIN_VERSION")}`);
      expect(compose.services[name].command).toBeUndefined();
    },
  );

  test("Envoy reads the rendered compose config, mounted read-only", () => {
    expect(mounts()).toContainEqual({
      source: path.normalize(`./${composeTarget.output}`),
      target: configPath(),
      mode: "ro",
    });
  });

  test("the built modules are mounted read-only where file:// URLs point", () => {
    const local = gateway.targets.local!.wasmDir;
    expect(mounts()).toContainEqual({
      source: path.normalize(`./${local}`),
      target: gateway.wasmMountPath,
      mode: "ro",
    });
    expect(composeTarget.wasmDir).toBe(gateway.wasmMountPath);
  });

  test("every module the config loads is under the mount and is built locally", () => {
    const files = wasmFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      expect(f.startsWith(gateway.wasmMountPath + "/")).toBe(true);
      const local = path.join(
        ROOT,
        gateway.targets.local!.wasmDir,
        f.slice(gateway.wasmMountPath.length + 1),
      );
      expect(fs.existsSync(local) ? local : `missing ${local}`).toBe(local);
    }
  });

  test("the listener and admin ports are published on loopback, container port = config port", () => {
    const listener = rendered.static_resources.listeners[0].address.socket_address;
    const admin = rendered.admin.address.socket_address;
    expect([listener.address, admin.address]).toEqual(["0.0.0.0", "0.0.0.0"]);
    expect(envoy.ports).toEqual([
      `127.0.0.1:${listener.port_value}:${listener.port_value}`,
      `127.0.0.1:${admin.port_value}:${admin.port_value}`,
    ]);
  });

  test.each(gateway.clusters.map((c) => c.name))(
    "cluster %s is a compose service on go-httpbin's port",
    (name) => {
      const cluster = (rendered.static_resources.clusters as Json[]).find((c) => c.name === name)!;
      const sa = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
      expect(cluster.type).toBe("STRICT_DNS");
      expect(Object.keys(compose.services)).toContain(sa.address);
      expect(sa.port_value).toBe(HTTPBIN_CONTAINER_PORT);
      expect(envoy.depends_on).toContain(sa.address);
      const published = (compose.services[sa.address].ports as string[]).map((p) => p.split(":"));
      for (const [host] of published) expect(host).toBe("127.0.0.1");
      expect(published.map((p) => Number(p[2]))).toEqual([HTTPBIN_CONTAINER_PORT]);
    },
  );

  test("the compose config passes envoy --mode validate (with the mount mapped to build/)", async () => {
    const text = fs.readFileSync(path.join(ROOT, composeTarget.output!), "utf8");
    const local = path.join(ROOT, gateway.targets.local!.wasmDir);
    const mapped = parseYaml(text.split(gateway.wasmMountPath + "/").join(local + "/")) as object;
    const r = await validateEnvoyConfig(mapped);
    expect(r.errorLines).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
