// The release store: releases/<sha>/ holds one commit's tree and appears only complete (written
// under a temporary name, then renamed); `current` is a symlink switched with rename(2), so at no
// instant is it missing or dangling.
import { chmodSync, existsSync, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { basename, join, normalize } from "node:path";
import { ensureDir, fsyncDir } from "../base/fsutil.ts";
import { log } from "../base/log.ts";
import type { StatePaths } from "../base/paths.ts";

const SHA = /^[0-9a-f]{40}$/;
const TMP_PREFIX = ".tmp-";

export interface ReleaseInfo {
  sha: string;
  dir: string;
  createdAt: Date;
}

export class ReleaseStore {
  constructor(
    readonly paths: StatePaths,
    /** repository.path: the folder inside the tree that holds apps/ and hooks/ */
    readonly subdir: string = ".",
  ) {}

  dir(sha: string): string {
    return join(this.paths.releases, sha);
  }

  /** The folder holding apps/ and hooks/ inside a release. */
  root(sha: string): string {
    return normalize(join(this.dir(sha), this.subdir));
  }

  has(sha: string): boolean {
    return existsSync(this.dir(sha));
  }

  /** Remove what killed runs left: temporary release directories and a temporary `current` link. */
  cleanTemporaries(): void {
    if (!existsSync(this.paths.releases)) return;
    for (const name of readdirSync(this.paths.releases)) {
      if (name.startsWith(TMP_PREFIX)) {
        log.debug(`releases: removing leftover ${name}`);
        rmSync(join(this.paths.releases, name), { recursive: true, force: true });
      }
    }
    for (const name of readdirSync(this.paths.root)) {
      if (name.startsWith(".current.tmp-")) rmSync(join(this.paths.root, name), { force: true });
    }
  }

  /** Create releases/<sha> by letting `write` fill a temporary directory, then renaming it in place. */
  async create(sha: string, write: (tmpDir: string) => Promise<void>): Promise<string> {
    if (!SHA.test(sha)) throw new Error(`not a commit SHA: ${sha}`);
    const final = this.dir(sha);
    if (existsSync(final)) return final;
    ensureDir(this.paths.releases, 0o755);
    const tmp = join(this.paths.releases, `${TMP_PREFIX}${sha}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    try {
      await write(tmp);
      normalizeModes(tmp);
      renameSync(tmp, final);
      fsyncDir(this.paths.releases);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return final;
  }

  /** SHA that `current` points at; undefined when there is none or it dangles (reported, not fatal). */
  current(): string | undefined {
    let target: string;
    try {
      target = readlinkSync(this.paths.current);
    } catch {
      return undefined;
    }
    const sha = basename(target);
    if (!SHA.test(sha) || !existsSync(this.dir(sha))) {
      log.warn(`releases: ${this.paths.current} points at ${target}, which is not a kept release; treating it as no live release`);
      return undefined;
    }
    return sha;
  }

  /** Point `current` at a release: new link under a temporary name, then rename(2) over the old one. */
  switchTo(sha: string): void {
    if (!this.has(sha)) throw new Error(`release ${sha} does not exist`);
    const tmp = join(this.paths.root, `.current.tmp-${process.pid}`);
    rmSync(tmp, { force: true });
    symlinkSync(join("releases", sha), tmp);
    renameSync(tmp, this.paths.current);
    fsyncDir(this.paths.root);
  }

  list(): ReleaseInfo[] {
    if (!existsSync(this.paths.releases)) return [];
    return readdirSync(this.paths.releases)
      .filter((name) => SHA.test(name))
      .map((sha) => ({ sha, dir: this.dir(sha), createdAt: statSync(this.dir(sha)).mtime }))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  /**
   * Keep the newest `keep` releases plus every protected one (live, rollback target, anything a
   * container still bind-mounts). Returns the SHAs removed.
   */
  prune(keep: number, protect: Set<string>): string[] {
    const removed: string[] = [];
    const all = this.list();
    let kept = 0;
    for (const r of all) {
      if (protect.has(r.sha) || kept < keep) {
        kept += 1;
        continue;
      }
      rmSync(r.dir, { recursive: true, force: true });
      removed.push(r.sha);
    }
    return removed;
  }
}

/**
 * Give a checked-out tree git's modes whatever the umask Konta runs with (the unit's UMask=0077
 * would make every file 0600): directories 0755, files 0644, executables 0755. Containers running
 * as another user read relative bind mounts, build contexts carry these modes into images, and
 * content digests include them, so a release must look the same whoever checked it out.
 */
export function normalizeModes(dir: string | Buffer): void {
  chmodSync(dir, 0o755);
  // names as bytes: a repository may hold file names that are not UTF-8
  for (const name of readdirSync(dir, { encoding: "buffer" })) {
    const path = Buffer.concat([Buffer.from(dir), Buffer.from("/"), name]);
    const st = lstatSync(path);
    if (st.isDirectory()) normalizeModes(path);
    else if (st.isFile()) chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}
