// Konta reads commits, trees and blobs from its cache through isomorphic-git (lib/git/read.ts); it
// writes them itself (lib/git/objects.ts). The oracle is Git: a repository written by the `git`
// command, checked out by Konta, compared with what `git ls-tree` and `git log` say of it.
import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnreachableError } from "../../lib/base/errors.ts";
import { checkoutTree, commitInfo } from "../../lib/git/index.ts";
import { readObject, writeObject } from "../../lib/git/objects.ts";
import { sh } from "../support/docker.ts";

const root = mkdtempSync(join(tmpdir(), "konta-git-objects-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GIT_ENV = { GIT_AUTHOR_NAME: "Ada Lovelace", GIT_AUTHOR_EMAIL: "ada@example.org", GIT_AUTHOR_DATE: "1700000000 +0100", GIT_COMMITTER_NAME: "c", GIT_COMMITTER_EMAIL: "c@c", GIT_COMMITTER_DATE: "1700000000 +0100" };
const git = (cwd: string, ...args: string[]) => sh("git", args, { cwd, env: { ...process.env, ...GIT_ENV } as Record<string, string> }).trim();

function repo(name: string): string {
  const dir = join(root, name);
  sh("mkdir", ["-p", dir]);
  git(dir, "init", "-q", "-b", "main");
  return dir;
}

describe("Git objects read by Konta", () => {
  const work = repo("work");
  sh("bash", ["-c", `cd '${work}' && mkdir -p apps/web/conf 'odd dir' && printf 'services: {}\\n' > apps/web/docker-compose.yml && printf 'x\\n' > apps/web/conf/a.conf && printf '#!/bin/sh\\n' > apps/web/run.sh && chmod 755 apps/web/run.sh && ln -s conf/a.conf apps/web/link && printf 'é\\n' > 'odd dir/café.txt' && printf 'top\\n' > README`]);
  git(work, "add", "-A");
  // a submodule entry: its commit is not in this repository
  git(work, "update-index", "--add", "--cacheinfo", `160000,${"1".repeat(40)},apps/web/vendor`);
  git(work, "commit", "-q", "-m", "first line\n\nbody");
  const sha = git(work, "rev-parse", "HEAD");
  const gitdir = join(work, ".git");

  test("a commit's author, date and message are Git's", async () => {
    const info = await commitInfo(gitdir, sha);
    expect(info).toEqual({ sha, message: git(work, "log", "-1", "--format=%B"), author: git(work, "log", "-1", "--format=%an <%ae>"), date: new Date(Number(git(work, "log", "-1", "--format=%at")) * 1000).toISOString() });
  });

  test("the whole tree: every file, mode and symlink as Git lists them; a submodule is left out", async () => {
    const out = join(root, "out-all");
    await checkoutTree(gitdir, sha, out, ".");
    const listed = git(work, "ls-tree", "-r", "-z", "HEAD").split("\0").filter(Boolean);
    expect(listed.length).toBe(7);
    for (const line of listed) {
      const [meta, path] = line.split("\t") as [string, string];
      const [mode] = meta.split(" ");
      const target = join(out, path);
      if (mode === "160000") expect(() => lstatSync(target)).toThrow();
      else if (mode === "120000") expect(readlinkSync(target)).toBe(readlinkSync(join(work, path)));
      else {
        expect(readFileSync(target)).toEqual(readFileSync(join(work, path)));
        expect(statSync(target).mode & 0o777).toBe(mode === "100755" ? 0o755 : 0o644);
      }
    }
  });

  test("the checkout reads through isomorphic-git: the same tree from a cache whose objects are packed, which Konta's own loose-object reader cannot read", async () => {
    const packed = join(root, "packed.git");
    sh("cp", ["-a", gitdir, packed]);
    git(packed, "gc", "-q", "--prune=now");
    expect(sh("find", [join(packed, "objects"), "-type", "f", "-path", "*/objects/??/*"]).trim()).toBe("");
    const out = join(root, "out-packed");
    await checkoutTree(packed, sha, out, ".");
    expect(readFileSync(join(out, "apps/web/docker-compose.yml"), "utf8")).toBe("services: {}\n");
    expect((await commitInfo(packed, sha)).message).toBe("first line\n\nbody");
  });

  test("only repository.path when it is set, with the folders that lead to it", async () => {
    const out = join(root, "out-sub");
    await checkoutTree(gitdir, sha, out, "apps/web/conf/");
    expect(readFileSync(join(out, "apps/web/conf/a.conf"), "utf8")).toBe("x\n");
    expect(() => lstatSync(join(out, "README"))).toThrow();
    expect(() => lstatSync(join(out, "apps/web/docker-compose.yml"))).toThrow();
  });

  test("a tree holding '..' is refused before anything is written outside", async () => {
    const evil = repo("evil");
    writeFileSync(join(root, "evil-blob"), "pwned\n");
    const blob = git(evil, "hash-object", "-w", join(root, "evil-blob"));
    // Git's own tools refuse to write such a tree; a hostile server can still send one
    const entry = Buffer.concat([Buffer.from("100644 ..\0"), Buffer.from(blob, "hex")]);
    writeFileSync(join(root, "evil-tree"), entry);
    const tree = git(evil, "hash-object", "-w", "-t", "tree", "--literally", join(root, "evil-tree"));
    const commit = git(evil, "commit-tree", tree, "-m", "evil");
    await expect(checkoutTree(join(evil, ".git"), commit, join(root, "out-evil"), ".")).rejects.toBeInstanceOf(UnreachableError);
  });
});

describe("Git objects written by Konta", () => {
  test("are Git's: zlib with Adler-32, read by git cat-file and passed by git fsck --strict; read back by Konta", () => {
    const bare = join(root, "written.git");
    git(root, "init", "-q", "--bare", bare);
    sh("mkdir", ["-p", join(bare, "incoming")]);
    const big = new Uint8Array(3_000_000).map((_, i) => (i * 31) & 0xff); // past one Adler-32 block many times
    const small = writeObject(bare, "blob", Buffer.from("hello zlib\n"));
    const large = writeObject(bare, "blob", Buffer.from(big));
    expect(small).toBe(sh("bash", ["-c", "printf 'hello zlib\\n' | git hash-object --stdin"]).trim());
    expect(git(bare, "cat-file", "-p", small)).toBe("hello zlib");
    expect(git(bare, "cat-file", "-s", large)).toBe("3000000");
    git(bare, "fsck", "--strict", "--no-dangling");
    expect(readObject(bare, large).content.equals(Buffer.from(big))).toBe(true);
  });
});
