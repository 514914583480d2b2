// YAML parsing shared by the config and Compose loaders: bounded alias expansion (no billion
// laughs), YAML 1.1 merge keys as Compose files use them, and line numbers for error messages.
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import { InputError } from "./errors.ts";

/** Hard bounds for hostile input; generous for real files. */
export const YAML_LIMITS = { maxBytes: 4 * 1024 * 1024, maxAliasCount: 10_000 } as const;

export interface ParsedYaml {
  value: unknown;
  /** key paths tagged `!reset` (removed from `value`) and `!override` (Compose's merge tags) */
  tagged: { reset: string[][]; override: string[][] };
  /** 1-based line of the node at a key path, when the parser knows it */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

// An integer with a leading 0 is octal, as go-yaml (Compose's parser) reads it: `mode: 0440` is
// r--r-----, not the decimal 440 that YAML 1.2's core schema makes of it.
const GO_OCTAL = {
  identify: (v: unknown) => typeof v === "number",
  default: true,
  tag: "tag:yaml.org,2002:int",
  test: /^[-+]?0[0-7]+$/,
  resolve: (s: string) => Number.parseInt(s, 8),
};

export function parseYaml(text: string, file: string): ParsedYaml {
  if (text.length > YAML_LIMITS.maxBytes) {
    throw new InputError(`${file} is ${text.length} bytes; Konta reads YAML files up to ${YAML_LIMITS.maxBytes} bytes`, { where: file });
  }
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false, strict: true, customTags: (tags) => [GO_OCTAL, ...tags] });
  } catch (err) {
    throw new InputError(`${file}: invalid YAML: ${(err as Error).message}`, { where: file });
  }
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new InputError(`${file}:${line}: invalid YAML: ${firstError.message.split("\n")[0]}`, { where: file });
  }
  const tagged = takeMergeTags(doc);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (err) {
    // yaml throws a ReferenceError when aliases expand beyond maxAliasCount
    throw new InputError(`${file}: YAML rejected: ${(err as Error).message} (alias expansion is bounded against "billion laughs" documents)`, {
      where: file,
    });
  }
  return {
    value,
    tagged,
    lineOf(path) {
      // the line of the key when the path ends in a mapping key, else of the value
      const parent = path.length ? doc.getIn(path.slice(0, -1), true) : undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path.at(-1)));
        if (pair && isNode(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
      }
      const node = path.length ? doc.getIn(path, true) : doc.contents;
      if (!isNode(node) || !node.range) return undefined;
      return lineCounter.linePos(node.range[0]).line;
    },
  };
}

/**
 * Compose's `!reset` (drop what earlier files set, here: remove the key) and `!override` (replace
 * instead of merging): their key paths, the `!reset` keys removed from the document. Any other
 * local tag is an error rather than a value silently read without it.
 */
function takeMergeTags(doc: Document): ParsedYaml["tagged"] {
  const tagged: ParsedYaml["tagged"] = { reset: [], override: [] };
  const walk = (node: unknown, path: string[]): void => {
    if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, String(i)]));
    if (!isMap(node)) return;
    node.items = node.items.filter((pair) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value = pair.value as { tag?: string } | null;
      const tag = isNode(value) ? value.tag : undefined;
      if (tag === "!reset") {
        tagged.reset.push([...path, key]);
        return false;
      }
      if (tag === "!override") {
        tagged.override.push([...path, key]);
        (value as { tag?: string }).tag = undefined;
      }
      walk(pair.value, [...path, key]);
      return true;
    });
  };
  walk(doc.contents, []);
  return tagged;
}
