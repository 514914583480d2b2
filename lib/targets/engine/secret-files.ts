// Files a deploy writes on the host for its containers (`<state>/secrets/<project>/<name>-<digest>`):
// decrypted SOPS secrets, and secrets and configs from `content:` or `environment:`. Written just
// before a container that mounts one is created, removed once no container or deploy needs them.
// Never in the release directory, which is readable by others and kept for rollbacks.
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ServiceModel } from "../../compose/model.ts";
import { DeployError } from "../../base/errors.ts";
import { ensureDir, writeFileAtomic } from "../../base/fsutil.ts";

/** Write the files `s` mounts that the deploy writes (their text from the run's keyring), unless already there. */
export function writeSecretFiles(s: ServiceModel, files: Map<string, string> | undefined): void {
  for (const m of [...(s.secrets ?? []), ...(s.configs ?? [])]) {
    if (!m.decrypted_from && !m.written) continue;
    const what = m.decrypted_from ? `the decrypted copy of ${m.decrypted_from}` : `the file of ${m.written?.name}`;
    const text = files?.get(m.source);
    const { uid = 0, gid = 0, mode = 0o444 } = m.written ?? {};
    if (text === undefined) {
      if (existsSync(m.source)) continue;
      throw new DeployError(`${s.name}: ${what} is missing (${m.source})`, { hint: "run `konta sync --now` to write it again" });
    }
    if (existsSync(m.source) && readFileSync(m.source, "utf8") === text && owned(m.source, uid, gid, mode)) continue;
    ensureDir(dirname(dirname(m.source)), 0o700);
    ensureDir(dirname(m.source), 0o700);
    writeFileAtomic(m.source, text, 0o400);
    // what the container sees (by default root's and readable by any user; the folders above stay
    // root-only), set after the write, whatever the umask
    const st = statSync(m.source);
    if (st.uid !== uid || st.gid !== gid) {
      try {
        chownSync(m.source, uid, gid);
      } catch (err) {
        throw new DeployError(`${s.name}: cannot give ${what} the owner ${uid}:${gid}: ${(err as Error).message}`, { hint: "Konta runs as root under konta.service; run it as root, or drop uid/gid from the service's secrets/configs" });
      }
    }
    chmodSync(m.source, mode);
  }
}

function owned(path: string, uid: number, gid: number, mode: number): boolean {
  const st = statSync(path);
  return st.uid === uid && st.gid === gid && (st.mode & 0o7777) === mode;
}

/** Whether the deploys have left any file in `dir`. */
export function hasSecretFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
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
