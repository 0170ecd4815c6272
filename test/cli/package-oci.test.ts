// wasmgate package: an OCI image layout whose digests, sizes and media types are right, and from which
// Istio's image fetcher (pkg/wasm/imagefetcher.go, re-implemented below) gets back the exact module.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import {
  Descriptor,
  OCI_IMAGE_CONFIG,
  OCI_INDEX,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
  packageWasm,
  PackageOutput,
  sha256Hex,
  tar,
  untar,
  Variant,
  WASM_CONFIG,
  WASM_CONTENT_LAYER,
} from "../../tools/cli/package-oci";
import { filterWasm } from "../support/wasm";

const wasm = new Uint8Array(fs.readFileSync(filterWasm("hello")));
const pack = (variant: Variant) =>
  packageWasm({ wasm, tag: "0.1.0", rootIds: ["hello"], abiVersions: ["proxy_abi_version_0_2_1"], variant });

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const blob = (out: PackageOutput, d: { digest: string }) =>
  out.files.get(`blobs/sha256/${d.digest.slice(7)}`)!;
const manifestOf = (out: PackageOutput): Json => JSON.parse(text(blob(out, out.manifest)));

/** Istio's extractOCIStandardImage (compat variant): last layer tar+gzip, file plugin.wasm. */
function istioCompat(layers: Descriptor[], get: (d: Descriptor) => Uint8Array): Uint8Array {
  const layer = layers[layers.length - 1]!;
  if (layer.mediaType !== OCI_LAYER_TAR_GZIP) throw new Error(`invalid media type ${layer.mediaType}`);
  const file = untar(gunzipSync(get(layer))).find((e) => path.basename(e.name) === "plugin.wasm");
  if (!file) throw new Error("plugin.wasm not found in the archive");
  return file.data;
}

/** Istio's extractOCIArtifactImage (oci variant): exactly two layers, one of them the wasm content layer. */
function istioArtifact(layers: Descriptor[], get: (d: Descriptor) => Uint8Array): Uint8Array {
  if (layers.length !== 2) throw new Error(`number of layers must be 2 but got ${layers.length}`);
  const layer = layers.find((l) => l.mediaType === WASM_CONTENT_LAYER);
  if (!layer) throw new Error(`could not find the layer of type ${WASM_CONTENT_LAYER}`);
  return get(layer);
}

describe.each(["oci", "compat"] as const)("%s variant", (variant) => {
  const out = pack(variant);

  test("oci-layout and index.json follow the image-layout spec", () => {
    expect(JSON.parse(text(out.files.get("oci-layout")!))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(JSON.parse(text(out.files.get("index.json")!))).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...out.manifest, annotations: { "org.opencontainers.image.ref.name": "0.1.0" } }],
    });
  });

  test("every blob is stored under its own sha256 with the size its descriptor says", () => {
    const m = manifestOf(out);
    const descriptors: Descriptor[] = [out.manifest, m.config, ...m.layers];
    for (const d of descriptors) {
      const data = blob(out, d);
      expect(d.digest).toBe(`sha256:${sha256Hex(data)}`);
      expect(d.size).toBe(data.length);
    }
    const blobs = [...out.files.keys()].filter((k) => k.startsWith("blobs/")).sort();
    expect(blobs).toEqual([...new Set(descriptors.map((d) => `blobs/sha256/${d.digest.slice(7)}`))].sort());
  });

  test("media types", () => {
    const m = manifestOf(out);
    expect(m.schemaVersion).toBe(2);
    expect(m.mediaType).toBe(OCI_MANIFEST);
    if (variant === "oci") {
      expect(m.config.mediaType).toBe(WASM_CONFIG);
      expect(m.layers.map((l: Descriptor) => [l.mediaType, l.annotations])).toEqual([
        [WASM_CONFIG, { "org.opencontainers.image.title": "runtime-config.json" }],
        [WASM_CONTENT_LAYER, { "org.opencontainers.image.title": "plugin.wasm" }],
      ]);
      expect(m.annotations).toBeUndefined();
    } else {
      expect(m.config.mediaType).toBe(OCI_IMAGE_CONFIG);
      expect(m.layers.map((l: Descriptor) => l.mediaType)).toEqual([OCI_LAYER_TAR_GZIP]);
      expect(m.annotations).toEqual({ "module.wasm.image/variant": "compat" });
    }
  });

  test("Istio's image fetcher gets the module back byte for byte", () => {
    const m = manifestOf(out);
    const extract = variant === "oci" ? istioArtifact : istioCompat;
    const other = variant === "oci" ? istioCompat : istioArtifact;
    expect(Buffer.from(extract(m.layers, (d) => blob(out, d))).equals(Buffer.from(wasm))).toBe(true);
    expect(() => other(m.layers, (d) => blob(out, d))).toThrow(); // Istio tries compat first: it must not match
  });

  test("the runtime config names the root ids and ABI", () => {
    const runtime =
      variant === "oci"
        ? JSON.parse(text(blob(out, manifestOf(out).config)))
        : JSON.parse(
            text(
              untar(gunzipSync(blob(out, manifestOf(out).layers[0]))).find(
                (e) => e.name === "runtime-config.json",
              )!.data,
            ),
          );
    expect(runtime).toEqual({
      type: "envoy_proxy",
      abiVersions: ["proxy_abi_version_0_2_1"],
      config: { root_ids: ["hello"] },
    });
  });

  test("is reproducible: same module, same manifest digest", () => {
    expect(pack(variant).manifest.digest).toBe(out.manifest.digest);
  });
});

test("compat image config lists the layer's uncompressed digest (diff_id)", () => {
  const out = pack("compat");
  const m = manifestOf(out);
  const config = JSON.parse(text(blob(out, m.config)));
  const layerTar = gunzipSync(blob(out, m.layers[0]));
  expect(config.rootfs).toEqual({ type: "layers", diff_ids: [`sha256:${sha256Hex(layerTar)}`] });
});

describe("tar", () => {
  test.each([0, 1, 511, 512, 513, 4096])(
    "round trip of a %i-byte file, readable by the system tar",
    (size) => {
      const data = new Uint8Array(size).map((_, i) => (i * 7) % 251);
      const archive = tar([
        { name: "plugin.wasm", data },
        { name: "runtime-config.json", data: new TextEncoder().encode("{}") },
      ]);
      expect(archive.length % 512).toBe(0);
      expect(
        untar(archive).map((e) => [
          e.name,
          Buffer.from(e.data).equals(Buffer.from(data)) || e.name !== "plugin.wasm",
        ]),
      ).toEqual([
        ["plugin.wasm", true],
        ["runtime-config.json", true],
      ]);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasmgate-tar-"));
      try {
        fs.writeFileSync(path.join(dir, "a.tar"), archive);
        const r = spawnSync("tar", ["-xOf", path.join(dir, "a.tar"), "plugin.wasm"]);
        expect(r.status).toBe(0);
        expect(Buffer.from(r.stdout).equals(Buffer.from(data))).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
