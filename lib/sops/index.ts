// SOPS files encrypted for age recipients: recognise one by its metadata, unlock its data key with
// the host's age identities (age-encryption), decrypt its values (AES-256-GCM, node:crypto) and check
// its MAC the way `sops --decrypt` does (getsops/sops sops.go Tree.Decrypt): SHA-512 over every leaf
// in document order, decrypted; a file edited without the key, or a value moved to another key,
// fails. Formats: dotenv, YAML, JSON and "binary" (any other file, stored as JSON with one `data`).
// Comments are dropped: they never take part in the MAC.
import { createDecipheriv, createHash } from "node:crypto";

// yaml is loaded on first use: the loader (and so an idle tick) imports this module, and most
// SOPS files a deploy meets are dotenv
const yaml = (): typeof import("yaml") => require("yaml");

export type SopsFormat = "dotenv" | "yaml" | "json" | "binary";

/** An ordered tree as SOPS walks it: mappings as Maps (key order is part of the MAC). */
type Tree = Map<string, unknown>;

interface Metadata {
  age: { recipient: string; enc: string }[];
  mac: string;
  lastmodified: string;
  unencrypted_suffix?: string;
  encrypted_suffix?: string;
  unencrypted_regex?: string;
  encrypted_regex?: string;
  mac_only_encrypted?: boolean;
}

export interface SopsDocument {
  format: SopsFormat;
  tree: Tree;
  meta: Metadata;
}

export class SopsError extends Error {}

// getsops/sops sops.go MACOnlyEncryptedInitialization
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from(
  "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69",
  "hex",
);
const ENCRYPTED = /^ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:([a-z]+)\]$/;

/** Which SOPS format a file of this name is (as `sops` decides from the extension). */
function formatOfName(name: string): SopsFormat {
  if (/\.ya?ml$/i.test(name)) return "yaml";
  if (/\.json$/i.test(name)) return "json";
  if (/\.env$|(^|\/)\.env$/i.test(name)) return "dotenv";
  return "binary";
}

/** The dotenv store's file -> flat items, `\n` unescaped (getsops/sops stores/dotenv). */
function dotenvItems(text: string): [string, string][] {
  const items: [string, string][] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) throw new SopsError("a line without '=' in a SOPS dotenv file");
    items.push([line.slice(0, eq), line.slice(eq + 1).replaceAll("\\n", "\n")]);
  }
  return items;
}

/** `sops_age__list_0__map_enc` style keys back into the metadata object. */
function unflatten(flat: [string, string][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of flat) {
    const parts = key.split(/__(?=list_|map_)/);
    let node: any = out;
    let name = parts[0] as string;
    for (const part of parts.slice(1)) {
      const next = part.startsWith("list_") ? Number(part.slice(5)) : part.slice(4);
      node[name] ??= typeof next === "number" ? [] : {};
      node = node[name];
      name = next as any;
    }
    node[name] = value;
  }
  return out;
}

function metadata(raw: unknown): Metadata | undefined {
  if (!(raw instanceof Map) && (typeof raw !== "object" || raw === null)) return undefined;
  const m = (raw instanceof Map ? toPlain(raw) : raw) as Record<string, any>;
  if (typeof m.mac !== "string" || m.version === undefined) return undefined;
  if (m.key_groups !== undefined || m.shamir_threshold !== undefined) {
    throw new SopsError("key groups (Shamir secret sharing) are not supported; encrypt for age recipients without key_groups");
  }
  if (m.unencrypted_comment_regex || m.encrypted_comment_regex) {
    throw new SopsError("encrypted_comment_regex / unencrypted_comment_regex are not supported");
  }
  const age = (Array.isArray(m.age) ? m.age : []).filter((a: any) => a && typeof a.enc === "string");
  return {
    age: age.map((a: any) => ({ recipient: String(a.recipient ?? ""), enc: a.enc })),
    mac: m.mac,
    lastmodified: String(m.lastmodified ?? ""),
    ...(m.unencrypted_suffix ? { unencrypted_suffix: String(m.unencrypted_suffix) } : {}),
    ...(m.encrypted_suffix ? { encrypted_suffix: String(m.encrypted_suffix) } : {}),
    ...(m.unencrypted_regex ? { unencrypted_regex: String(m.unencrypted_regex) } : {}),
    ...(m.encrypted_regex ? { encrypted_regex: String(m.encrypted_regex) } : {}),
    ...(m.mac_only_encrypted === true || m.mac_only_encrypted === "true" ? { mac_only_encrypted: true } : {}),
  };
}

function toPlain(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

/**
 * The SOPS document in `text`, or undefined when it is not one (no SOPS metadata): a plain file
 * is used as it is. `name` decides the format as `sops` does (extension), dotenv also by content.
 */
export function parseSops(text: string, name: string): SopsDocument | undefined {
  const byName = formatOfName(name);
  if (/^sops_mac=/m.test(text)) {
    const items = dotenvItems(text);
    const meta = metadata(unflatten(items.filter(([k]) => k.startsWith("sops_")).map(([k, v]) => [k.slice(5), v])));
    if (!meta) return undefined;
    return { format: "dotenv", tree: new Map(items.filter(([k]) => !k.startsWith("sops_"))), meta };
  }
  if (byName === "dotenv") return undefined;
  if (!/\bsops\b/.test(text) || !/\bmac\b/.test(text)) return undefined;
  let doc: unknown;
  try {
    doc = yaml().parse(text, { mapAsMap: true, uniqueKeys: false });
  } catch {
    return undefined;
  }
  if (!(doc instanceof Map) || !doc.has("sops")) return undefined;
  const meta = metadata(doc.get("sops"));
  if (!meta) return undefined;
  const tree: Tree = new Map([...doc].filter(([k]) => k !== "sops").map(([k, v]) => [String(k), v]));
  // a file of another name holding a whole tree was encrypted with --input-type json/yaml
  const single = tree.size === 1 && typeof tree.get("data") === "string";
  const format = byName !== "binary" || single ? byName : text.trimStart().startsWith("{") ? "json" : "yaml";
  return { format, tree, meta };
}

/** Age identities (`AGE-SECRET-KEY-1...`, `AGE-SECRET-KEY-PQ-1...`) of an identity file. */
export function parseIdentities(text: string): string[] {
  const ids = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const id of ids) if (!id.startsWith("AGE-SECRET-KEY-")) throw new SopsError("not an age identity file (lines must be AGE-SECRET-KEY-... or # comments)");
  if (!ids.length) throw new SopsError("the age identity file holds no identity");
  return ids;
}

/** The document's 32-byte data key, from the first age stanza one of the identities opens. */
export async function unlockDataKey(doc: SopsDocument, identities: string[]): Promise<Uint8Array> {
  if (!doc.meta.age.length) throw new SopsError("the file is not encrypted for any age recipient (only age is supported)");
  // loaded only when a file needs it: the age module is large for an idle tick
  const { armor, Decrypter } = await import("age-encryption");
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  for (const { enc } of doc.meta.age) {
    try {
      const key = await d.decrypt(armor.decode(enc), "uint8array");
      if (key.length === 32) return key;
    } catch {
      // another stanza may be for one of our identities
    }
  }
  const to = doc.meta.age.map((a) => a.recipient).filter(Boolean);
  throw new SopsError(`none of the age identities can open it${to.length ? ` (it is encrypted for ${to.map((r) => r.slice(0, 16) + "…").join(", ")})` : ""}`);
}

function aesOpen(value: string, key: Uint8Array, aad: string): { text: string; type: string } {
  const m = ENCRYPTED.exec(value);
  if (!m) throw new SopsError("a value that should be encrypted is not in SOPS's ENC[AES256_GCM,...] form");
  const [, data, iv, tag, type] = m as unknown as [string, string, string, string, string];
  try {
    const d = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(tag, "base64"));
    const text = Buffer.concat([d.update(Buffer.from(data, "base64")), d.final()]).toString("utf8");
    return { text, type };
  } catch {
    throw new SopsError("a value fails authentication (the file was altered, or a value was moved to another key)");
  }
}

/** A decrypted leaf as `sops` holds it: typed (int/float/bool), else the string. */
function typed(text: string, type: string): unknown {
  switch (type) {
    case "str":
    case "bytes":
    case "time":
      return text;
    case "int":
    case "float":
      return Number(text);
    case "bool":
      return /^(1|t|true)$/i.test(text);
    default:
      throw new SopsError(`unknown SOPS value type "${type}"`);
  }
}

/** The bytes a leaf adds to the MAC (getsops/sops ToBytes). */
function macBytes(v: unknown): string {
  if (typeof v === "boolean") return v ? "True" : "False";
  return String(v);
}

function encryptedAt(path: string[], meta: Metadata): boolean {
  let enc = true;
  if (meta.unencrypted_suffix && path.some((p) => p.endsWith(meta.unencrypted_suffix as string))) enc = false;
  if (meta.encrypted_suffix) enc = path.some((p) => p.endsWith(meta.encrypted_suffix as string));
  if (meta.unencrypted_regex && path.some((p) => new RegExp(meta.unencrypted_regex as string).test(p))) enc = false;
  if (meta.encrypted_regex) enc = path.some((p) => new RegExp(meta.encrypted_regex as string).test(p));
  return enc;
}

/** Decrypt every value and check the MAC: the plain tree (same order) and the values that were encrypted. */
export function decryptDocument(doc: SopsDocument, key: Uint8Array): { tree: Tree; secrets: string[] } {
  const secrets: string[] = [];
  const hash = createHash("sha512");
  if (doc.meta.mac_only_encrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const leaf = (v: unknown, path: string[]): unknown => {
    if (v === null || v === undefined) return v;
    const encrypted = encryptedAt(path, doc.meta);
    let out: unknown = v;
    if (encrypted) {
      if (typeof v !== "string") throw new SopsError(`${path.join(".")}: expected an encrypted value`);
      if (v !== "") {
        const { text, type } = aesOpen(v, key, `${path.join(":")}:`);
        secrets.push(text);
        out = typed(text, type);
      }
    }
    if (!doc.meta.mac_only_encrypted || encrypted) hash.update(macBytes(out));
    return out;
  };
  const walk = (v: unknown, path: string[]): unknown => {
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [String(k), walk(x, [...path, String(k)])]));
    if (Array.isArray(v)) return v.map((x) => walk(x, path));
    return leaf(v, path);
  };
  const plain = walk(doc.tree, []) as Tree;
  const mac = aesOpen(doc.meta.mac, key, doc.meta.lastmodified).text;
  if (hash.digest("hex").toUpperCase() !== mac.toUpperCase()) {
    throw new SopsError("MAC mismatch: the file was changed after it was encrypted (edit it with `sops`, not by hand)");
  }
  return { tree: plain, secrets };
}

/** The plaintext file `sops --decrypt` would print (YAML and JSON re-serialised, comments gone). */
export function plaintextOf(doc: SopsDocument, tree: Tree): string {
  switch (doc.format) {
    case "binary":
      return String(tree.get("data"));
    case "dotenv":
      return [...tree].map(([k, v]) => `${k}=${String(v).replaceAll("\n", "\\n")}\n`).join("");
    case "json":
      return `${JSON.stringify(toPlain(tree), null, "\t")}\n`;
    case "yaml":
      return yaml().stringify(tree);
  }
}
