// File-based ECDS (Extension Config Discovery) for `wasmgate dev`: each HTTP Wasm filter gets its config
// from its own file, so a plugin can be swapped without restarting Envoy. Pure: builds the objects only.
//
// What Envoy 1.39 does (checked against the real binary, see tools/cli/README.md):
//   - the bootstrap needs `node.id` and `node.cluster`, or it refuses the config_discovery filter;
//   - it reacts when a file is renamed onto the watched path (write a temp file, then rename);
//   - it skips an update whose typed_config hash is unchanged, so a rebuilt module must get a new file
//     name (content-addressed), not be overwritten in place;
//   - a refused update (plugin rejects its configuration, missing file) keeps the old config and bumps
//     `extension_config_discovery.http_filter.<name>.update_rejected`; `version_text` only moves on success.

import { createHash } from "node:crypto";
import type { Json, RenderedPlugin } from "./render";
import { WASM_HTTP_TYPE } from "./render";

export const TYPED_EXTENSION_CONFIG_TYPE = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

/** A copy of `config` whose HTTP Wasm filters read their typed_config from `ecdsPath(name)`. */
export function withEcds(
  config: Json,
  plugins: readonly RenderedPlugin[],
  ecdsPath: (name: string) => string,
): Json {
  const copy = JSON.parse(JSON.stringify(config)) as Json;
  const names = new Set(plugins.filter((p) => p.type === "HTTP").map((p) => p.name));
  const listeners = (copy.static_resources as { listeners: Json[] }).listeners;
  for (const l of listeners) {
    for (const chain of l.filter_chains as { filters: Json[] }[]) {
      for (const f of chain.filters) {
        const tc = f.typed_config as { http_filters?: Json[] } | undefined;
        if (!tc?.http_filters) continue;
        tc.http_filters = tc.http_filters.map((hf) =>
          names.has(hf.name as string)
            ? {
                name: hf.name,
                config_discovery: {
                  config_source: {
                    path_config_source: { path: ecdsPath(hf.name as string) },
                    resource_api_version: "V3",
                  },
                  type_urls: [WASM_HTTP_TYPE],
                },
              }
            : hf,
        );
      }
    }
  }
  return copy;
}

/** The ECDS file of one plugin: a DiscoveryResponse with one TypedExtensionConfig named like the filter. */
export function ecdsResponse(plugin: RenderedPlugin, version: string): Json {
  return {
    version_info: version,
    resources: [
      { "@type": TYPED_EXTENSION_CONFIG_TYPE, name: plugin.name, typed_config: plugin.typedConfig },
    ],
  };
}

/** Short content hash of a plugin's typed_config: the ECDS version, and what decides "changed". */
export function typedConfigHash(plugin: RenderedPlugin): string {
  return createHash("sha256").update(JSON.stringify(plugin.typedConfig)).digest("hex").slice(0, 12);
}
