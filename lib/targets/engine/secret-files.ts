// Decrypted SOPS secret files on the host (`<state>/secrets/<project>/<name>-<digest>`): written
// just before a container that mounts one is created, removed once no container or deploy needs
// them. Never in the release directory, which is readable by others and kept for rollbacks.
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ServiceModel } from "../../compose/model.ts";
import { DeployError } from "../../base/errors.ts";
import { ensureDir, writeFileAtomic } from "../../base/fsutil.ts";

/** Write the decrypted secret files `s` mounts (from the run's keyring), unless already there. */
export function writeSecretFiles(s: ServiceModel, files: Map<string, string> | undefined): void {
  for (const m of s.secrets ?? []) {
    if (!m.decrypted_from) continue;
    const text = files?.get(m.source);
    if (text === undefined) {
      if (existsSync(m.source)) continue;
      throw new DeployError(`${s.name}: the decrypted copy of ${m.decrypted_from} is missing (${m.source})`, { hint: "run `konta sync --now` to decrypt it again" });
    }
    if (existsSync(m.source) && readFileSync(m.source, "utf8") === text) continue;
    ensureDir(dirname(dirname(m.source)), 0o700);
    ensureDir(dirname(m.source), 0o700);
    writeFileAtomic(m.source, text, 0o400);
    // readable by any user in the container (the folders above stay root-only); set after the
    // write, whatever the umask
    chmodSync(m.source, 0o444);
  }
}

/** Remove decrypted secret files that no path in `keep` names, and project folders left empty. */
export function pruneSecretFiles(dir: string, keep: Set<string>): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const project of readdirSync(dir)) {
    const pdir = join(dir, project);
    for (const f of readdirSync(pdir)) {
      const path = join(pdir, f);
      if (keep.has(path)) continue;
      rmSync(path, { force: true });
      removed.push(path);
    }
    if (!readdirSync(pdir).length) rmSync(pdir, { recursive: true, force: true });
  }
  return removed;
}
