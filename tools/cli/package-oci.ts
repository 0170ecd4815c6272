// `wasmgate package`, the pure part: a .wasm module → the files of an OCI image layout
// (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) holding a Wasm image that
// Istio's agent (pkg/wasm/imagefetcher.go) and Envoy Gateway can pull. Two variants of the Wasm image
// spec (https://github.com/solo-io/wasm/tree/master/spec):
//
//   oci (default) — the "Wasm artifact" variant: config `application/vnd.module.wasm.config.v1+json`
//     (runtime-config.json) and two layers, the same runtime config and the module itself as
//     `application/vnd.module.wasm.content.layer.v1+wasm`. Istio accepts this variant only with exactly
//     two layers, one of them the wasm content layer (extractOCIArtifactImage).
//   compat — a plain image: one `application/vnd.oci.image.layer.v1.tar+gzip` layer whose tar holds
//     `plugin.wasm` (and runtime-config.json), annotation `module.wasm.image/variant: compat`
//     (extractOCIStandardImage). For registries that refuse custom media types.
//
// Everything is deterministic (tar mtime 0, no creation date), so the same module always gives the same
// manifest digest — the value for a WasmPlugin's `spec.sha256` (Istio compares it with the manifest digest).

import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const WASM_CONFIG = "application/vnd.module.wasm.config.v1+json";
export const WASM_CONTENT_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm";
export const TITLE = "org.opencontainers.image.title";
export const REF_NAME = "org.opencontainers.image.ref.name";
export const VARIANT_ANNOTATION = "module.wasm.image/variant";

export type Variant = "oci" | "compat";

export interface PackageInput {
  wasm: Uint8Array;
  /** Tag recorded in index.json (`org.opencontainers.image.ref.name`). */
  tag: string;
  /** Root context ids the module registers (runtime-config.json `config.root_ids`). */
  rootIds: string[];
  /** ABI versions the module exports (e.g. `proxy_abi_version_0_2_1`). */
  abiVersions: string[];
  variant: Variant;
  /** Extra manifest annotations (e.g. org.opencontainers.image.source). */
  annotations?: Record<string, string>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface PackageOutput {
  /** Files relative to the layout directory: oci-layout, index.json, blobs/sha256/<hex>. */
  files: Map<string, Uint8Array>;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A ustar archive of regular files (mode 0644, uid/gid 0, mtime 0), as `tar` would write it. */
export function tar(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const header = new Uint8Array(512);
    const put = (offset: number, text: string) => header.set(new TextEncoder().encode(text), offset);
    if (e.name.length > 100) throw new Error(`tar: name too long: ${e.name}`);
    put(0, e.name);
    put(100, octal(0o644, 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(e.data.length, 12));
    put(136, octal(0, 12));
    put(148, "        "); // checksum is computed with its own field as spaces
    put(156, "0");
    put(257, "ustar\0");
    put(263, "00");
    let sum = 0;
    for (const b of header) sum += b;
    put(148, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(header, e.data);
    const pad = (512 - (e.data.length % 512)) % 512;
    if (pad > 0) blocks.push(new Uint8Array(pad));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let p = 0;
  for (const b of blocks) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Reads a ustar archive written by `tar` (regular files only). */
export function untar(data: Uint8Array): { name: string; data: Uint8Array }[] {
  const out: { name: string; data: Uint8Array }[] = [];
  let p = 0;
  while (p + 512 <= data.length) {
    const header = data.subarray(p, p + 512);
    if (header.every((b) => b === 0)) break;
    const text = (o: number, n: number) =>
      new TextDecoder().decode(header.subarray(o, o + n)).replace(/\0.*$/s, "");
    const size = parseInt(text(124, 12), 8);
    out.push({ name: text(0, 100), data: data.slice(p + 512, p + 512 + size) });
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Builds the OCI image layout of one Wasm module. */
export function packageWasm(input: PackageInput): PackageOutput {
  const files = new Map<string, Uint8Array>();
  const blob = (mediaType: string, data: Uint8Array, annotations?: Record<string, string>): Descriptor => {
    const hex = sha256Hex(data);
    files.set(`blobs/sha256/${hex}`, data);
    return { mediaType, digest: `sha256:${hex}`, size: data.length, ...(annotations ? { annotations } : {}) };
  };
  const runtimeConfig = json({
    type: "envoy_proxy",
    abiVersions: input.abiVersions,
    config: { root_ids: input.rootIds },
  });

  let config: Descriptor;
  let layers: Descriptor[];
  const annotations: Record<string, string> = { ...(input.annotations ?? {}) };
  if (input.variant === "oci") {
    config = blob(WASM_CONFIG, runtimeConfig);
    layers = [
      blob(WASM_CONFIG, runtimeConfig, { [TITLE]: "runtime-config.json" }),
      blob(WASM_CONTENT_LAYER, input.wasm, { [TITLE]: "plugin.wasm" }),
    ];
  } else {
    const layerTar = tar([
      { name: "plugin.wasm", data: input.wasm },
      { name: "runtime-config.json", data: runtimeConfig },
    ]);
    const gz = new Uint8Array(gzipSync(layerTar, { level: 9 }));
    layers = [blob(OCI_LAYER_TAR_GZIP, gz)];
    config = blob(
      OCI_IMAGE_CONFIG,
      json({
        architecture: "wasm",
        os: "wasip1",
        config: {},
        rootfs: { type: "layers", diff_ids: [`sha256:${sha256Hex(layerTar)}`] },
      }),
    );
    annotations[VARIANT_ANNOTATION] = "compat";
  }
  const manifestBody = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const manifest = blob(OCI_MANIFEST, json(manifestBody));
  files.set("oci-layout", json({ imageLayoutVersion: "1.0.0" }));
  files.set(
    "index.json",
    json({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...manifest, annotations: { [REF_NAME]: input.tag } }],
    }),
  );
  return { files, manifest, config, layers };
}
