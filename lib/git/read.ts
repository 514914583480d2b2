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
  payload: Buffer;
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

/** An object's content as stored, byte for byte (what a signature covers is bytes, not text). */
async function content(gitdir: string, oid: string): Promise<{ type: string; bytes: Buffer }> {
  const { type, object } = await git.readObject({ fs, gitdir, oid, format: "content" });
  return { type, bytes: Buffer.from(object as Uint8Array) };
}

/**
 * A commit's signature and the payload it signs: the commit without its `gpgsig` header (the
 * header line and its continuation lines), as git verifies it. (isomorphic-git's own payload
 * strips only an OpenPGP signature, not an SSH one.)
 */
export async function readSignedCommit(gitdir: string, sha: string): Promise<Signed> {
  const { type, bytes } = await content(gitdir, sha);
  if (type !== "commit") throw new Error(`object ${sha} is a ${type}, not a commit`);
  const end = bytes.indexOf("\n\n");
  const head = (end < 0 ? bytes : bytes.subarray(0, end)).toString("latin1").split("\n");
  const kept: string[] = [];
  const sig: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const line = head[i] as string;
    if (!line.startsWith("gpgsig ")) {
      kept.push(line);
      continue;
    }
    sig.push(line.slice("gpgsig ".length));
    while (head[i + 1]?.startsWith(" ")) sig.push((head[++i] as string).slice(1));
  }
  const payload = Buffer.concat([Buffer.from(kept.join("\n"), "latin1"), end < 0 ? Buffer.alloc(0) : bytes.subarray(end)]);
  const committer = /^committer .* (\d+) [+-]\d{4}$/m.exec(head.join("\n"));
  return { ...(sig.length ? { signature: `${sig.join("\n")}\n` } : {}), payload, signedAt: Number(committer?.[1] ?? 0) };
}

/** An annotated tag's signature (the armored block at the end of its message) and the payload before it; undefined for a lightweight tag. */
export async function readSignedTag(gitdir: string, oid: string): Promise<(Signed & { object: string; name: string }) | undefined> {
  const { type, bytes } = await content(gitdir, oid);
  if (type !== "tag") return undefined;
  const text = bytes.toString("latin1");
  const at = Math.max(text.lastIndexOf("-----BEGIN PGP SIGNATURE-----"), text.lastIndexOf("-----BEGIN SSH SIGNATURE-----"));
  const tagger = /^tagger .* (\d+) [+-]\d{4}$/m.exec(text);
  return {
    ...(at >= 0 ? { signature: text.slice(at) } : {}),
    payload: at >= 0 ? bytes.subarray(0, Buffer.byteLength(text.slice(0, at), "latin1")) : bytes,
    signedAt: Number(tagger?.[1] ?? 0),
    object: /^object ([0-9a-f]{40})$/m.exec(text)?.[1] ?? "",
    name: /^tag (.*)$/m.exec(text)?.[1] ?? "",
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
