// Digests every layer uses: sha256, canonical JSON (sorted keys), and the content digest of a file
// or folder. Bottom of the import graph: no Konta imports.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";

// One string built as it goes, one sorted key list per object: the planner hashes every service of
// every project on each deploy, and the entries/filter/map arrays of the obvious version were most
// of a deploy's garbage (~36,000 arrays at 50 apps). The output is the same, byte for byte: the
// hashes are on every container's labels.
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = "[";
    // JSON.stringify(undefined) is undefined, which join() wrote as nothing
    for (let i = 0; i < value.length; i++) out += (i ? "," : "") + ((canonicalJson(value[i]) as string | undefined) ?? "");
    return `${out}]`;
  }
  if (value && typeof value === "object") {
    const object = value as Record<string, unknown>;
    // the default order is by UTF-16 code units, as `<` on strings
    const keys = Object.keys(object).sort();
    let out = "{";
    for (const key of keys) {
      const v = object[key];
      if (v === undefined) continue;
      out += `${out.length > 1 ? "," : ""}${JSON.stringify(key)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/**
 * Content digest of a file or folder (names, modes, contents, symlink targets), for bind sources in
 * the release and build contexts. `include` filters by path relative to `path`.
 */
export function contentDigest(path: string, include: (rel: string) => boolean = () => true): string {
  const h = new Bun.CryptoHasher("sha256");
  const walk = (p: string, rel: string) => {
    if (rel && !include(rel)) return;
    // the source itself is followed (Docker mounts what a symlink points to); links inside it are
    // what the container sees, link text and all
    const st = rel ? lstatSync(p) : statSync(p);
    if (st.isSymbolicLink()) h.update(`l ${rel} ${readlinkSync(p)}\0`);
    else if (st.isDirectory()) {
      h.update(`d ${rel} ${st.mode & 0o777}\0`);
      for (const name of readdirSync(p).sort()) walk(join(p, name), rel ? `${rel}/${name}` : name);
    } else {
      h.update(`f ${rel} ${st.mode & 0o777} ${st.size}\0`);
      h.update(readFileSync(p));
    }
  };
  walk(path, "");
  return `sha256:${h.digest("hex")}`;
}
