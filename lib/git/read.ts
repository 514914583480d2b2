// Reading the objects a fetch wrote, through isomorphic-git (the design's Git library): a commit
// with its signature and the payload it signs, a tag's, and a commit's tree written into a
// release folder blob by blob. The fetch and unpack stay Konta's own (upload-pack.ts, pack.ts):
// isomorphic-git's fetch holds a whole pack in memory. Loaded only on paths that read objects.
import * as fs from "node:fs";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import { UnreachableError } from "../base/errors.ts";
import { failpoint } from "../base/failpoint.ts";
import { ensureDir } from "../base/fsutil.ts";
import { reclaimAfter } from "../base/heap.ts";

export interface CommitInfo {
  sha: string;
  message: string;
  author: string;
  /** ISO time of the commit */
  date: string;
}

/** A signed object: its signature (the `gpgsig` header of a commit, the armored block of a tag) and the exact text it signs. */
export interface Signed {
  signature?: string;
  payload: string;
  /** unix seconds the signer put on it (the committer's or tagger's time): what valid-after/valid-before are held against */
  signedAt: number;
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

/** A commit's signature and payload (isomorphic-git's readCommit: the commit without its gpgsig header). */
export async function readSignedCommit(gitdir: string, sha: string): Promise<Signed> {
  const { commit, payload } = await git.readCommit({ fs, gitdir, oid: sha });
  return { ...(commit.gpgsig ? { signature: commit.gpgsig } : {}), payload, signedAt: commit.committer.timestamp };
}

/** An annotated tag's signature and payload; undefined for a lightweight tag (no tag object). */
export async function readSignedTag(gitdir: string, oid: string): Promise<(Signed & { object: string; name: string }) | undefined> {
  try {
    const { tag, payload } = await git.readTag({ fs, gitdir, oid });
    return { ...(tag.gpgsig ? { signature: tag.gpgsig } : {}), payload, signedAt: tag.tagger.timestamp, object: tag.object, name: tag.tag };
  } catch (err) {
    if ((err as { code?: string }).code === "ObjectTypeError") return undefined;
    throw err;
  }
}

/**
 * Write the tree of `sha` (only `subdir` when it is not ".") into `dir`, which must be empty, one
 * blob at a time, depth first.
 */
export async function checkoutTree(gitdir: string, sha: string, dir: string, subdir: string): Promise<void> {
  ensureDir(dir, 0o755);
  const only = subdir === "." ? "" : subdir.replace(/\/+$/, "");
  const wanted = (path: string) => !only || path === only || path.startsWith(`${only}/`) || only.startsWith(`${path}/`);
  const cache = {};
  const unsafe = (path: string) => new UnreachableError(`commit ${sha.slice(0, 12)} holds an unsafe path "${path}"; refusing to check it out`);
  const write = async (treeOid: string, prefix: string): Promise<void> => {
    const { tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache }).catch((err: { code?: string; data?: { filepath?: string } }) => {
      // isomorphic-git refuses to read a tree naming "..", ".git" or a path with a slash
      if (err.code === "UnsafeFilepathError") throw unsafe(err.data?.filepath ?? "?");
      throw err;
    });
    for (const entry of tree) {
      const path = prefix ? `${prefix}/${entry.path}` : entry.path;
      if (!wanted(path)) continue;
      if (path.split("/").some((part) => part === ".." || part === "." || part === ".git" || part === "")) throw unsafe(path);
      const target = join(dir, path);
      if (entry.type === "tree") {
        mkdirSync(target, { mode: 0o755 });
        await write(entry.oid, path);
        continue;
      }
      if (entry.type === "commit") continue; // a submodule: its commit is not in this repository
      const { blob } = await git.readBlob({ fs, gitdir, oid: entry.oid, cache });
      if (entry.mode === "120000") symlinkSync(Buffer.from(blob).toString("utf8"), target);
      else writeFileSync(target, blob, { mode: entry.mode === "100755" ? 0o755 : 0o644 });
      failpoint("checkout");
      reclaimAfter(blob.length);
    }
  };
  await write((await git.readCommit({ fs, gitdir, oid: sha, cache })).commit.tree, "");
}
