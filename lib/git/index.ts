// The Git side of a deploy: fetch a commit shallowly into a persistent bare repository (a cache of
// loose objects); reading what it holds (a commit, its tree into a release directory) is read.ts,
// through isomorphic-git. Asking for the head (every tick) is in remote.ts, the fetch itself in
// upload-pack.ts and pack.ts.
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, UnreachableError } from "../base/errors.ts";
import { ensureDir } from "../base/fsutil.ts";
import { log } from "../base/log.ts";
import { redact } from "../base/redact.ts";
import { TransientHttpError } from "./http.ts";
import { completeCommits, hasObject, incomingDir, markComplete, peel } from "./objects.ts";
import { unpack } from "./pack.ts";
import { advertisement, type GitSource, resolveRef, unreachable } from "./remote.ts";
import { fetchPack } from "./upload-pack.ts";

export { remoteHead } from "./head.ts";
export type { GitSource } from "./remote.ts";
export { checkoutTree, commitInfo, type CommitInfo } from "./read.ts";

/** Past this many fetches the cache is dropped and fetched afresh (it only ever grows). */
const MAX_FETCHES = 40;
/** Commits offered as common ground: the latest few we hold. */
const HAVES = 4;

/** Turn whatever the network or the server did into an error that says what to do. */
function gitError(err: unknown, src: GitSource, action: string): never {
  if (err instanceof TransientHttpError) throw unreachable(src, action, err.message);
  if (err instanceof UnreachableError) throw err;
  throw new UnreachableError(`cannot ${action} ${redact(src.url)}: ${redact((err as Error)?.message ?? String(err))}`);
}

/** A bare repository Git itself can read (`git --git-dir <repo> log` for a person looking into it). */
function initCache(gitdir: string): void {
  for (const d of ["objects", "refs/heads", "refs/tags"]) ensureDir(join(gitdir, d), 0o755);
  writeFileSync(join(gitdir, "HEAD"), "ref: refs/heads/main\n");
  writeFileSync(join(gitdir, "config"), "[core]\n\trepositoryformatversion = 0\n\tbare = true\n");
}

/** A cache written by an older Konta's fetch (packs, read whole into memory), or one grown too large. */
function outgrown(gitdir: string): boolean {
  const packs = join(gitdir, "objects/pack");
  return (existsSync(packs) && readdirSync(packs).some((f) => f.endsWith(".pack"))) || completeCommits(gitdir).length >= MAX_FETCHES;
}

/** A commit whose fetch completed: a killed unpack may have stored the commit without its tree. */
function hasCommit(gitdir: string, sha: string): boolean {
  return completeCommits(gitdir).includes(sha) && hasObject(gitdir, sha);
}

/**
 * Make sure the commit `ref` points at is in the local cache, fetching it with depth 1 when it is
 * not; returns it (it may have moved past `sha`). The pack goes to disk and is unpacked into loose
 * objects one by one. The cache is disposable: when it is unreadable (a run killed mid-write) or
 * too large, it is rebuilt.
 */
export async function ensureCommit(src: GitSource, gitdir: string, sha: string): Promise<string> {
  if (existsSync(gitdir) && hasCommit(gitdir, sha)) return sha;
  if (existsSync(gitdir) && outgrown(gitdir)) rmSync(gitdir, { recursive: true, force: true });
  for (let attempt = 0; ; attempt++) {
    const incoming = incomingDir(gitdir);
    let session: import("./ssh.ts").SshSession | undefined;
    try {
      if (!existsSync(join(gitdir, "config"))) initCache(gitdir);
      rmSync(incoming, { recursive: true, force: true });
      ensureDir(incoming);
      // over SSH the advertisement and the fetch are one session (protocol v0 is stateful there)
      session = src.ssh ? await (await import("./ssh.ts")).SshSession.open(src) : undefined;
      const adv = session ? session.advertisement : await advertisement(src);
      const tip = resolveRef(src, adv);
      if (!hasCommit(gitdir, tip.sha)) {
        const complete = completeCommits(gitdir).filter((c) => hasObject(gitdir, c));
        const pack = join(incoming, "fetched.pack");
        const want = { want: tip.oid, haves: complete.slice(-HAVES), shallow: complete };
        const update = session ? await session.fetch(want, pack) : await fetchPack(src, adv, want, pack);
        await unpack(pack, gitdir);
        if (!hasObject(gitdir, tip.oid)) throw new UnreachableError(`fetching ${src.ref} from ${redact(src.url)} returned no commit`);
        markComplete(gitdir, [...update.shallow, peel(gitdir, tip.oid)]);
      }
      const fetched = peel(gitdir, tip.oid);
      if (fetched !== sha) log.info(`git: ${src.ref} moved to ${fetched.slice(0, 12)} while fetching; deploying that`);
      return fetched;
    } catch (err) {
      // a deploy key left readable by others is the operator's to fix, not the cache's
      if (err instanceof InputError) throw err;
      const networkish = err instanceof TransientHttpError || err instanceof UnreachableError;
      if (networkish || attempt > 0) gitError(err, src, "fetch from");
      log.warn(`git: local cache ${gitdir} is unusable (${(err as Error).message}); rebuilding it`);
      rmSync(gitdir, { recursive: true, force: true });
    } finally {
      await session?.close();
      rmSync(incoming, { recursive: true, force: true });
    }
  }
}
