// The fetch itself against `git http-backend`: a shallow pack streamed to disk and unpacked into
// loose objects. Real Git is the oracle: `git fsck` of the cache, and trees compared with the
// work tree Git committed. No Docker here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkoutTree, ensureCommit, type GitSource } from "../../lib/git/index.ts";
import { completeCommits } from "../../lib/git/objects.ts";
import { applyDelta } from "../../lib/git/pack.ts";
import { type GitServer, startGitServer } from "../support/git-server.ts";
import { TestRepo } from "../support/repo.ts";

let root: string;
let server: GitServer;
const TOKEN = "fetch-test-token";

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "konta-fetch-"));
  server = await startGitServer({ root, token: TOKEN });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const source = (name: string, ref = "main"): GitSource => ({
  url: server.repoUrl(name),
  ref,
  token: TOKEN,
  retry: { retries: 1, idleTimeoutMs: 10_000, baseDelayMs: 10, maxDelayMs: 20 },
});

function git(args: string[], cwd?: string): string {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Every file under `dir` with its content, as Git would list them. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    if (full.includes("/.git/")) continue;
    out[full.slice(dir.length + 1)] = readFileSync(full, "latin1");
  }
  return out;
}

function looseCount(gitdir: string): number {
  const objects = join(gitdir, "objects");
  return readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d)).reduce((n, d) => n + readdirSync(join(objects, d)).length, 0);
}

describe("fetching into loose objects", () => {
  test("a commit with similar files (deltas), a large file and subfolders: Git finds the cache sound and the checkout equal", async () => {
    const repo = new TestRepo(root, "deltas");
    const base = "line of a configuration file that repeats\n".repeat(400);
    const files: Record<string, string> = { "big/blob.bin": randomBytes(6 * 1024 * 1024).toString("base64") };
    for (let i = 0; i < 60; i++) files[`apps/a${i % 6}/file${i}.txt`] = `${base}${i}\n`;
    const sha = repo.write(files).commit("first");
    // the server packs with deltas where it can: make sure this pack has some
    git(["-C", repo.bare, "repack", "-adf", "--depth=50", "--window=50"]);
    const verify = git(["-C", repo.bare, "verify-pack", "-v", ...readdirSync(join(repo.bare, "objects/pack")).filter((f) => f.endsWith(".idx")).map((f) => join(repo.bare, "objects/pack", f))]);
    expect(verify).toMatch(/ blob +\d+ \d+ \d+ 1 [0-9a-f]{40}/); // a blob stored as a delta (chain length 1)

    const gitdir = join(root, "cache-deltas");
    expect(await ensureCommit(source("deltas"), gitdir, sha)).toBe(sha);
    git(["--git-dir", gitdir, "fsck", "--strict", sha]);
    expect(existsSync(join(gitdir, "incoming"))).toBe(false);

    const out = join(root, "out-deltas");
    await checkoutTree(gitdir, sha, out, ".");
    expect(tree(out)).toEqual(tree(repo.work));
  });

  test("a later commit fetches only what changed, and an annotated tag is peeled to its commit", async () => {
    const repo = new TestRepo(root, "incremental");
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`data/f${i}.txt`] = randomBytes(2000).toString("hex");
    const first = repo.write(files).commit("first");
    const gitdir = join(root, "cache-incremental");
    await ensureCommit(source("incremental"), gitdir, first);
    const before = looseCount(gitdir);
    expect(before).toBeGreaterThan(200);

    const second = repo.write({ "data/f7.txt": "changed\n" }).commit("second");
    expect(await ensureCommit(source("incremental"), gitdir, second)).toBe(second);
    // the commit, the root tree, data/ and the one blob
    expect(looseCount(gitdir) - before).toBe(4);
    expect(completeCommits(gitdir)).toEqual([first, second]);
    git(["--git-dir", gitdir, "fsck", "--strict", second]);

    repo.tag("v2");
    const tagged = await ensureCommit(source("incremental", "v2"), gitdir, second);
    expect(tagged).toBe(second);
  });

  test("a branch rewritten by a force-push is fetched whole", async () => {
    const repo = new TestRepo(root, "rewritten");
    const first = repo.write({ "a.txt": "a\n" }).commit("first");
    const gitdir = join(root, "cache-rewritten");
    await ensureCommit(source("rewritten"), gitdir, first);
    repo.git("checkout", "-q", "--orphan", "other");
    repo.write({ "a.txt": null, "b.txt": "b\n" });
    const rewritten = repo.commit("rewritten", { force: true });
    expect(await ensureCommit(source("rewritten"), gitdir, rewritten)).toBe(rewritten);
    const out = join(root, "out-rewritten");
    await checkoutTree(gitdir, rewritten, out, ".");
    expect(tree(out)).toEqual({ "b.txt": "b\n" });
  });

  test("a cache left by isomorphic-git (packs) is dropped and fetched afresh as loose objects", async () => {
    const repo = new TestRepo(root, "legacy");
    const sha = repo.write({ "a.txt": "a\n" }).commit("first");
    const gitdir = join(root, "cache-legacy");
    git(["clone", "-q", "--bare", "--depth", "1", `file://${repo.bare}`, gitdir]);
    expect(readdirSync(join(gitdir, "objects/pack")).some((f) => f.endsWith(".pack"))).toBe(true);
    await ensureCommit(source("legacy"), gitdir, sha);
    expect(existsSync(join(gitdir, "objects/pack"))).toBe(false);
    git(["--git-dir", gitdir, "fsck", "--strict", sha]);
  });

  test("a commit stored without its tree (an unpack killed half-way) is not taken as fetched", async () => {
    const repo = new TestRepo(root, "half");
    const sha = repo.write({ "a.txt": "a\n", "b/c.txt": "c\n" }).commit("first");
    const gitdir = join(root, "cache-half");
    await ensureCommit(source("half"), gitdir, sha);
    // what a kill after the commit object leaves: the objects but no completion record
    rmSync(join(gitdir, "shallow"));
    const tree = git(["--git-dir", gitdir, "rev-parse", `${sha}^{tree}`]).trim();
    rmSync(join(gitdir, "objects", tree.slice(0, 2), tree.slice(2)));
    expect(await ensureCommit(source("half"), gitdir, sha)).toBe(sha);
    git(["--git-dir", gitdir, "fsck", "--strict", sha]);
  });
});

describe("memory", () => {
  test("fetching and checking out a 60 MB pack (large blobs and many small files) never holds the pack: peak RSS well below 3 times its size", async () => {
    const repo = new TestRepo(root, "huge");
    const files: Record<string, string> = {};
    // base64 of random bytes compresses to 3/4: 4 blobs of 16 MB and 1,000 files of 24 kB, ~66 MB packed
    for (let i = 0; i < 4; i++) files[`blobs/b${i}.bin`] = randomBytes(12 * 1024 * 1024).toString("base64");
    for (let i = 0; i < 1000; i++) files[`small/${i % 10}/f${i}.txt`] = randomBytes(18 * 1024).toString("base64");
    const sha = repo.write(files).commit("huge");
    const packMb = Number(/size-pack: (\d+)/.exec(git(["-C", repo.bare, "count-objects", "-v"]))?.[1]) / 1024;
    expect(packMb).toBeGreaterThan(55);
    const script = join(root, "fetch-huge.ts");
    const lib = join(import.meta.dir, "../../lib/git/index.ts");
    writeFileSync(
      script,
      `import { checkoutTree, ensureCommit } from ${JSON.stringify(lib)};
const src = ${JSON.stringify(source("huge"))};
await ensureCommit(src, ${JSON.stringify(join(root, "cache-huge"))}, ${JSON.stringify(sha)});
await checkoutTree(${JSON.stringify(join(root, "cache-huge"))}, ${JSON.stringify(sha)}, ${JSON.stringify(join(root, "out-huge"))}, ".");
`,
    );
    // asynchronous: the Git server answers from this process
    const proc = Bun.spawn(["/usr/bin/time", "-f", "%M", process.execPath, script], { stdout: "pipe", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err: code ? err : "" }).toEqual({ code: 0, err: "" });
    const peakMb = Number(err.trim().split("\n").at(-1)) / 1024;
    console.log(`fetch and checkout of a ${packMb.toFixed(0)} MB pack: peak RSS ${peakMb.toFixed(0)} MB`);
    // isomorphic-git's fetch held the pack and its objects: 5-6 times its size
    expect(peakMb).toBeLessThan(packMb * 3);
    expect(readFileSync(join(root, "out-huge/blobs/b3.bin"), "latin1")).toBe(files["blobs/b3.bin"] as string);
    expect(readdirSync(join(root, "out-huge/small/9")).length).toBe(100);
  }, 120_000);
});

describe("deltas", () => {
  test("copies and inserts rebuild the target; a delta for another base is refused", () => {
    const base = Buffer.from("0123456789abcdef");
    // base size 16, target size 9: copy 4 bytes from offset 2, insert "XYZ", copy 2 from offset 14
    const delta = Buffer.from([16, 9, 0x80 | 0x01 | 0x10, 2, 4, 3, 88, 89, 90, 0x80 | 0x01 | 0x10, 14, 2]);
    expect(applyDelta(base, delta).toString()).toBe("2345XYZef");
    expect(() => applyDelta(Buffer.from("short"), delta)).toThrow(/base of 16 bytes/);
  });
});
