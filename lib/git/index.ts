// The Git side of a run, with isomorphic-git over HTTP(S): ask the remote for the head of the
// configured branch or tag (one request), fetch that commit shallowly into a persistent bare
// repository (a cache), and write a commit's tree into a release directory.
import * as fs from "node:fs";
import { existsSync, readdirSync, rmSync } from "node:fs";
import git, { Errors } from "isomorphic-git";
import { UnreachableError } from "../errors.ts";
import { failpoint } from "../failpoint.ts";
import { ensureDir } from "../fsutil.ts";
import { log } from "../log.ts";
import { redact } from "../redact.ts";
import { retryingHttp, TransientHttpError, type RetryPolicy } from "./http.ts";

export interface GitSource {
  url: string;
  /** branch or tag */
  ref: string;
  token?: string;
  retry: RetryPolicy;
}

export interface CommitInfo {
  sha: string;
  message: string;
  author: string;
  /** ISO time of the commit */
  date: string;
}

/** Past this many pack files the cache is dropped and fetched afresh (it only ever grows). */
const MAX_PACKS = 40;

function headers(src: GitSource): Record<string, string> {
  const h: Record<string, string> = { "user-agent": "konta" };
  // Sent up front: a 401-then-retry dance would double the requests of every idle tick.
  if (src.token) h.Authorization = `Basic ${Buffer.from(`x-access-token:${src.token}`).toString("base64")}`;
  return h;
}

function displayUrl(url: string): string {
  return redact(url);
}

/** Turn whatever isomorphic-git or the network threw into an error that says what to do. */
function gitError(err: unknown, src: GitSource, action: string): never {
  const url = displayUrl(src.url);
  if (err instanceof TransientHttpError) {
    throw new UnreachableError(`cannot ${action} ${url}: ${err.message}`, {
      hint: "the Git server is unreachable or failing; nothing was changed, the next run tries again",
    });
  }
  if (err instanceof Errors.HttpError) {
    const status = err.data.statusCode;
    if (status === 401 || status === 403 || status === 404) {
      throw new UnreachableError(`authentication failed for ${url} (HTTP ${status}) — check the token and its \`repo\` scope`, {
        hint:
          status === 404
            ? "GitHub answers 404 for a private repository without a valid token; also check the URL"
            : "set the token with `konta token set`, repository.token_file or KONTA_TOKEN",
      });
    }
    throw new UnreachableError(`cannot ${action} ${url}: HTTP ${status} ${err.data.statusMessage}`);
  }
  if (err instanceof Errors.SmartHttpError || err instanceof Errors.ParseError || err instanceof Errors.EmptyServerResponseError) {
    throw new UnreachableError(`cannot ${action} ${url}: the server's answer is not Git smart HTTP`, {
      hint: "check repository.url (it must be the HTTPS clone URL, ending in .git)",
    });
  }
  throw new UnreachableError(`cannot ${action} ${url}: ${redact((err as Error)?.message ?? String(err))}`);
}

export interface RemoteHead {
  sha: string;
  kind: "branch" | "tag";
}

/** One GET of info/refs: the commit the configured branch (or tag, peeled) points at. */
export async function remoteHead(src: GitSource): Promise<RemoteHead> {
  let info: Awaited<ReturnType<typeof git.getRemoteInfo>>;
  try {
    info = await git.getRemoteInfo({ http: retryingHttp(src.retry), url: src.url, headers: headers(src) });
  } catch (err) {
    gitError(err, src, "reach");
  }
  const heads = (info.refs?.heads ?? {}) as Record<string, string>;
  const tags = (info.refs?.tags ?? {}) as Record<string, string>;
  const branch = heads[src.ref];
  if (branch) return { sha: branch, kind: "branch" };
  const tag = tags[`${src.ref}^{}`] ?? tags[src.ref];
  if (tag) return { sha: tag, kind: "tag" };
  const known = Object.keys(heads).slice(0, 10).join(", ") || "none";
  throw new UnreachableError(`${displayUrl(src.url)} has no branch or tag "${src.ref}" (branches: ${known})`, {
    hint: "check repository.branch in the config",
  });
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
        headers: headers(src),
        onProgress: () => failpoint("fetch"),
      });
      const fetched = res.fetchHead ? await peel(gitdir, res.fetchHead) : undefined;
      if (fetched && fetched !== sha) log.info(`git: ${src.ref} moved to ${fetched.slice(0, 12)} while fetching; deploying that`);
      if (!fetched) throw new UnreachableError(`fetching ${src.ref} from ${displayUrl(src.url)} returned no commit`);
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
