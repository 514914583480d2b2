// The Git side of a deploy: fetch a commit shallowly into a persistent bare repository (a cache of
// loose objects), and write a commit's tree into a release directory. Asking
// for the head (every tick) is in remote.ts, the fetch itself in upload-pack.ts and pack.ts.
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, UnreachableError } from "../base/errors.ts";
import { failpoint } from "../base/failpoint.ts";
import { ensureDir } from "../base/fsutil.ts";
import { reclaimAfter } from "../base/heap.ts";
import { log } from "../base/log.ts";
import { redact } from "../base/redact.ts";
import { TransientHttpError } from "./http.ts";
import { completeCommits, hasObject, incomingDir, markComplete, peel, readCommit, readObject, readTree } from "./objects.ts";
import { unpack } from "./pack.ts";
import { advertisement, type GitSource, resolveRef, unreachable } from "./remote.ts";
import { fetchPack } from "./upload-pack.ts";

export { remoteHead } from "./head.ts";
export type { GitSource } from "./remote.ts";

export interface CommitInfo {
  sha: string;
  message: string;
  author: string;
  /** ISO time of the commit */
  date: string;
}

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

export async function commitInfo(gitdir: string, sha: string): Promise<CommitInfo> {
  const commit = readCommit(gitdir, sha);
  if (!commit.author) throw new Error(`commit ${sha} has no author line`);
  return {
    sha,
    message: commit.message.trim(),
    author: `${commit.author.name} <${commit.author.email}>`,
    date: new Date(commit.author.timestamp * 1000).toISOString(),
  };
}

/**
 * Write the tree of `sha` (only `subdir` when it is not ".") into `dir`, which must be empty, one
 * blob at a time, depth first.
 */
export async function checkoutTree(gitdir: string, sha: string, dir: string, subdir: string): Promise<void> {
  ensureDir(dir, 0o755);
  const only = subdir === "." ? "" : subdir.replace(/\/+$/, "");
  const wanted = (path: string) => !only || path === only || path.startsWith(`${only}/`) || only.startsWith(`${path}/`);
  const write = (treeOid: string, prefix: string) => {
    for (const entry of readTree(gitdir, treeOid)) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (!wanted(path)) continue;
      if (path.split("/").some((part) => part === ".." || part === "." || part === ".git" || part === "")) {
        throw new UnreachableError(`commit ${sha.slice(0, 12)} holds an unsafe path "${path}"; refusing to check it out`);
      }
      const target = join(dir, path);
      if (entry.mode === 0o40000) {
        mkdirSync(target, { mode: 0o755 });
        write(entry.oid, path);
        continue;
      }
      if (entry.mode === 0o160000) continue; // a submodule: its commit is not in this repository
      const { content } = readObject(gitdir, entry.oid);
      if (entry.mode === 0o120000) symlinkSync(content.toString("utf8"), target);
      else writeFileSync(target, content, { mode: entry.mode === 0o100755 ? 0o755 : 0o644 });
      failpoint("checkout");
      reclaimAfter(content.length);
    }
  };
  write(readCommit(gitdir, sha).tree, "");
}
