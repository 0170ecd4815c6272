// Multi-document YAML in, plain values out, with a way back from a field path to its line.

import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type { PathSegment } from "./json-schema";
import type { Problem } from "./problems";

export interface YamlDocument {
  file: string;
  /** 1-based position of the document in the file. */
  document: number;
  /** The document as plain JSON-like data (maps → objects, sequences → arrays). */
  value: unknown;
  /** 1-based line of the node at `path`, or of its closest existing ancestor. */
  lineOf(path: readonly PathSegment[]): number | undefined;
}

/**
 * Parses every document of `text`. Syntax errors (and duplicate keys, which YAML forbids) come back as
 * problems; a document with errors is left out. Empty documents (e.g. after a trailing `---`) are skipped.
 */
export function parseYamlDocuments(
  text: string,
  file: string,
): { documents: YamlDocument[]; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  const documents: YamlDocument[] = [];
  const problems: Problem[] = [];
  list.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const line = lineCounter.linePos(e.pos[0]).line;
        problems.push({
          severity: "error",
          file,
          line,
          document,
          message: `invalid YAML: ${firstLine(e.message)}`,
        });
      }
      return;
    }
    if (doc.contents === null) return;
    const lineOf = (path: readonly PathSegment[]): number | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node = nodeAt(doc.contents as Node, path.slice(0, n));
        if (node?.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    };
    documents.push({ file, document, value: doc.toJS({ maxAliasCount: 100 }), lineOf });
  });
  return { documents, problems };
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

/** The node whose line best shows `path`: the key of a map entry (its line is where the field is named). */
function nodeAt(root: Node | null, path: readonly PathSegment[]): Node | undefined {
  let node: unknown = root;
  let shown: unknown = root;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as { value?: unknown } | null;
        return (k && typeof k === "object" && "value" in k ? k.value : k) === seg;
      });
      if (!pair) return undefined;
      node = pair.value;
      shown = pair.key ?? pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
      shown = node;
    } else {
      return undefined;
    }
  }
  return (shown as Node | undefined) ?? undefined;
}
