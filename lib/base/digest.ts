// Digests every layer uses: sha256, canonical JSON (sorted keys), and the content digest of a file
// or folder. Bottom of the import graph: no Konta imports.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
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
