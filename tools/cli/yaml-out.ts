// YAML output that Prettier leaves alone (so `npm run format` never makes a rendered file stale) and that
// Envoy's YAML 1.1 loader reads as meant: strings such as "yes"/"on" are quoted.

import { stringify } from "yaml";

/** One YAML document, with `# ` comment lines on top. */
export function toYaml(value: unknown, header: readonly string[] = []): string {
  const comments = header.map((l) => (l === "" ? "#\n" : `# ${l}\n`)).join("");
  return comments + stringify(value, { lineWidth: 0, version: "1.1", aliasDuplicateObjects: false });
}

/** Several documents separated by `---`, each with its own comment lines. */
export function toYamlStream(
  docs: readonly { value: unknown; header?: readonly string[] }[],
  header: readonly string[] = [],
): string {
  const top = header.map((l) => (l === "" ? "#\n" : `# ${l}\n`)).join("");
  return top + docs.map((d) => toYaml(d.value, d.header ?? [])).join("---\n");
}
