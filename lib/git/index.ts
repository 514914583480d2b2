// The Git side of a deploy, with isomorphic-git over HTTP(S): fetch a commit shallowly into a
// persistent bare repository (a cache), and write a commit's tree into a release directory.
// Asking for the head (every tick) is in remote.ts.
import * as fs from "node:fs";
import { existsSync, readdirSync, rmSync } from "node:fs";
import git, { Errors } from "isomorphic-git";
import { UnreachableError } from "../errors.ts";
import { failpoint } from "../failpoint.ts";
import { ensureDir } from "../fsutil.ts";
import { log } from "../log.ts";
import { redact } from "../redact.ts";
import { retryingHttp, TransientHttpError } from "./http.ts";
import { gitHeaders, type GitSource, httpStatusError, notSmartHttp, unreachable } from "./remote.ts";

export { type GitSource, remoteHead } from "./remote.ts";

export interface CommitInfo {
  sha: string;
  message: string;
  author: string;
  /** ISO time of the commit */
  date: string;
}

/** Past this many pack files the cache is dropped and fetched afresh (it only ever grows). */
const MAX_PACKS = 40;

/** Turn whatever isomorphic-git or the network threw into an error that says what to do. */
function gitError(err: unknown, src: GitSource, action: string): never {
  if (err instanceof TransientHttpError) throw unreachable(src, action, err.message);
  if (err instanceof Errors.HttpError) throw httpStatusError(src, action, err.data.statusCode, err.data.statusMessage);
  if (err instanceof Errors.SmartHttpError || err instanceof Errors.ParseError || err instanceof Errors.EmptyServerResponseError) {
    throw notSmartHttp(src, action);
  }
  throw new UnreachableError(`cannot ${action} ${redact(src.url)}: ${redact((err as Error)?.message ?? String(err))}`);
}

async function initCache(gitdir: string, url: string): Promise<void> {
  ensureDir(gitdir);
  await git.init({ fs, gitdir, bare: true, defaultBranch: "main" });
  await git.addRemote({ fs, gitdir, remote: "origin", url, force: true });
}

function packCount(gitdir: string): number {
  const dir = `${gitdir}/objects/pack`;
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".pack")).length : 0;
}

async function hasCommit(gitdir: string, sha: string): Promise<boolean> {
  try {
    await git.readCommit({ fs, gitdir, oid: sha });
    return true;
  } catch {
    return false;
  }
}

/**
 * Make sure `sha` is in the local cache, fetching the ref with depth 1 when it is not. The cache is
 * disposable: when it is unreadable (a run killed mid-write) or too fragmented, it is rebuilt.
 */
export async function ensureCommit(src: GitSource, gitdir: string, sha: string): Promise<string> {
  if (existsSync(gitdir) && (await hasCommit(gitdir, sha))) return sha;
  if (existsSync(gitdir) && packCount(gitdir) > MAX_PACKS) rmSync(gitdir, { recursive: true, force: true });
  for (let attempt = 0; ; attempt++) {
    try {
      if (!existsSync(`${gitdir}/config`)) await initCache(gitdir, src.url);
      else await git.setConfig({ fs, gitdir, path: "remote.origin.url", value: src.url });
      const res = await git.fetch({
        fs,
        http: retryingHttp(src.retry),
        gitdir,
        url: src.url,
        ref: src.ref,
        singleBranch: true,
        depth: 1,
        tags: false,
        headers: gitHeaders(src),
        onProgress: () => failpoint("fetch"),
      });
      const fetched = res.fetchHead ? await peel(gitdir, res.fetchHead) : undefined;
      if (fetched && fetched !== sha) log.info(`git: ${src.ref} moved to ${fetched.slice(0, 12)} while fetching; deploying that`);
      if (!fetched) throw new UnreachableError(`fetching ${src.ref} from ${redact(src.url)} returned no commit`);
      return fetched;
    } catch (err) {
      const networkish = err instanceof TransientHttpError || err instanceof Errors.HttpError || err instanceof UnreachableError;
      if (networkish || attempt > 0) gitError(err, src, "fetch from");
      log.warn(`git: local cache ${gitdir} is unusable (${(err as Error).message}); rebuilding it`);
      rmSync(gitdir, { recursive: true, force: true });
    }
  }
}

/** An annotated tag's object id -> the commit it points at. */
async function peel(gitdir: string, oid: string): Promise<string> {
  let current = oid;
  for (let depth = 0; depth < 5; depth++) {
    const obj = await git.readObject({ fs, gitdir, oid: current });
    if (obj.type !== "tag") return current;
    current = (obj.object as { object: string }).object;
  }
  return current;
}

export async function commitInfo(gitdir: string, sha: string): Promise<CommitInfo> {
  const { commit } = await git.readCommit({ fs, gitdir, oid: sha });
  return {
    sha,
    message: commit.message.trim(),
    author: `${commit.author.name} <${commit.author.email}>`,
    date: new Date(commit.author.timestamp * 1000).toISOString(),
  };
}

/** Write the tree of `sha` (only `subdir` when it is not ".") into `dir`, which must be empty. */
export async function checkoutTree(gitdir: string, sha: string, dir: string, subdir: string): Promise<void> {
  ensureDir(dir, 0o755);
  // the index describes the last checkout into some other release directory: not this one
  rmSync(`${gitdir}/index`, { force: true });
  await git.checkout({
    fs,
    dir,
    gitdir,
    ref: sha,
    force: true,
    noUpdateHead: true,
    onProgress: () => failpoint("checkout"),
    filepaths: subdir === "." ? undefined : [subdir.replace(/\/+$/, "")],
  });
}
