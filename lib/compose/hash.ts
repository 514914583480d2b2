// Config hashes: sha256 over canonical JSON (sorted keys). A service's hash covers everything that
// shapes its container and nothing that does not (replica count, start order, pull policy, build
// recipe: the image ID covers that), so an unchanged service is never recreated.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { ServiceModel } from "./model.ts";

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

const NOT_IN_HASH = ["replicas", "depends_on", "pull_policy", "build", "update_order", "managed", "stopped"] as const;

export function serviceHash(service: ServiceModel): string {
  const subject: Record<string, unknown> = { ...service };
  for (const key of NOT_IN_HASH) delete subject[key];
  // konta.stopped only decides running or not: toggling it stops or starts, never recreates
  if (service.labels?.["konta.stopped"] !== undefined) {
    const { "konta.stopped": _stopped, ...labels } = service.labels;
    subject.labels = labels;
  }
  return sha256(canonicalJson(subject));
}

/**
 * Content digest of a file or folder (names, modes, contents, symlink targets), for bind sources in
 * the release and build contexts. `include` filters by path relative to `path`.
 */
export function contentDigest(path: string, include: (rel: string) => boolean = () => true): string {
  const h = new Bun.CryptoHasher("sha256");
  const walk = (p: string, rel: string) => {
    if (rel && !include(rel)) return;
    const st = lstatSync(p);
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
