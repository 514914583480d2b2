// Issue "Git source and release store": tokens, network faults, refs, crashes, the lock, state.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { readTree } from "../support/files.ts";
import { inspect, waitFor } from "../support/docker.ts";
import { startGitServer } from "../support/git-server.ts";
import type { KontaEnv } from "../support/konta.ts";
import { TOKEN, useRig } from "../support/rig.ts";

const rig = useRig();

function appRepo(name = "kt-git") {
  const repo = rig.repo();
  repo.write({ [`apps/${name}/docker-compose.yml`]: compose({ services: { s: sleeper() } }) }).commit("app");
  return repo;
}

function tmpEntries(env: KontaEnv): string[] {
  const releases = join(env.state, "releases");
  return existsSync(releases) ? readdirSync(releases).filter((n) => n.startsWith(".tmp")) : [];
}

describe("authentication", () => {
  test("a wrong token is exit 3 with an actionable message, and the token appears nowhere", async () => {
    const repo = appRepo();
    const wrong = "ghp_wrongtoken_should_never_leak_123";
    const env = rig.env(repo, { token: wrong });
    const r = await env.run(["sync", "--verbose"]);
    expect(r.code).toBe(3);
    expect(r.all).toContain(`authentication failed for ${rig.git.repoUrl(repo.name)} (HTTP 401) — check the token and its \`repo\` scope`);
    expect(r.all).not.toContain(wrong);
    expect(r.all).not.toContain(Buffer.from(`x-access-token:${wrong}`).toString("base64"));
    expect(readTree(env.state)).not.toContain(wrong);
    // the server saw the token in the Authorization header, so it was really sent
    expect(rig.git.requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from(`x-access-token:${wrong}`).toString("base64")}`);
  });

  test("no token on a private repository is exit 3", async () => {
    const repo = appRepo();
    const env = rig.env(repo, { token: undefined });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(3);
    expect(r.all).toContain("authentication failed");
  });

  test("token sources: KONTA_TOKEN over token_file over token; token set encrypts it at rest", async () => {
    const repo = appRepo();
    const env = rig.env(repo, { token: "wrong-in-config" });
    expect((await env.run(["sync"])).code).toBe(3);
    expect((await env.run(["sync"], { env: { KONTA_TOKEN: TOKEN } })).code).toBe(0);

    const tokenFile = join(env.dir, "etc/token");
    writeFileSync(tokenFile, `${TOKEN}\n`);
    chmodSync(tokenFile, 0o644);
    env.writeConfig({ repository: { token_file: tokenFile } });
    const loose = await env.run(["sync"]);
    expect(loose.code).toBe(2);
    expect(loose.all).toContain(`chmod 600 ${tokenFile}`);
    chmodSync(tokenFile, 0o600);
    expect((await env.run(["sync"])).code).toBe(0);

    env.writeConfig({ token: undefined });
    const set = await env.run(["token", "set"], { input: `${TOKEN}\n` });
    expect(set.code).toBe(0);
    const config = readFileSync(env.config, "utf8");
    expect(config).toMatch(/token: enc:v1:[A-Za-z0-9+/=]+/);
    expect(config).not.toContain(TOKEN);
    expect(statSync(env.config).mode & 0o777).toBe(0o600);
    expect(statSync(join(env.state, "key")).mode & 0o777).toBe(0o600);
    repo.write({ "apps/kt-git/docker-compose.yml": compose({ services: { s: sleeper({ environment: { X: "1" } }) } }) }).commit("again");
    const deploy = await env.run(["sync"]);
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toContain("deployed");
    expect(readTree(env.state)).not.toContain(TOKEN);
    expect(readFileSync(join(env.state, "repo/config"), "utf8")).not.toContain(TOKEN);
  });

  test("a config holding a token that others can read is refused with the chmod to run", async () => {
    const env = rig.env(appRepo());
    chmodSync(env.config, 0o644);
    const r = await env.run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain(`chmod 600 ${env.config}`);
    expect(r.all).not.toContain(TOKEN);
  });
});

describe("network faults", () => {
  test("a server that is down: retries, then exit 3, and running containers keep running", async () => {
    const root = mkdtempSync(join(tmpdir(), "konta-git-own-"));
    const server = await startGitServer({ root, token: TOKEN });
    const { TestRepo } = await import("../support/repo.ts");
    const repo = new TestRepo(root, "down");
    repo.write({ "apps/kt-down/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("app");
    const env = rig.env(repo);
    env.writeConfig({ repoUrl: server.repoUrl("down") });
    expect((await env.run(["sync"])).code).toBe(0);
    const before = await inspect("kt-down-s-1");
    await server.close();
    const started = Date.now();
    const r = await env.run(["sync"]);
    expect(r.code).toBe(3);
    expect(r.all).toContain("connection refused");
    expect(r.all).toContain("retry 2/2");
    expect(r.all).toContain("nothing was changed");
    expect(Date.now() - started).toBeLessThan(30_000);
    const after = await inspect("kt-down-s-1");
    expect(after?.Id).toBe(before?.Id as string);
    expect(after?.State.Running).toBe(true);
    repo.dispose();
  });

  test("a server failing the first two requests is retried and succeeds", async () => {
    const repo = appRepo();
    const env = rig.env(repo);
    rig.git.inject({ kind: "status", status: 500, count: 1 });
    rig.git.inject({ kind: "status", status: 503, count: 1 });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.all).toContain("answered HTTP 500; retry 1/2");
    expect(r.all).toContain("answered HTTP 503; retry 2/2");
    expect(r.stdout).toContain("deployed");
  });

  test("connections reset every time: exit 3 after the retries", async () => {
    const env = rig.env(appRepo());
    rig.git.inject({ kind: "reset", count: 20 });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(3);
    expect(r.all).toContain("gave up after 3 attempts");
  });

  test("an answer that is not Git is exit 3, not a crash", async () => {
    const env = rig.env(appRepo());
    rig.git.inject({ kind: "garbage", count: 5 });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(3);
    expect(r.all).toContain("not Git smart HTTP");
  });
});

describe("refs and paths", () => {
  test("a branch other than main, an annotated tag, and a path inside the repository", async () => {
    const repo = rig.repo("refs", "main");
    repo.write({ "apps/kt-main/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("main");
    repo.git("checkout", "-q", "-b", "release");
    const release = repo.write({ "infra/prod/apps/kt-rel/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("release", { force: false });
    repo.git("push", "-q", repo.bare, "release");
    repo.tag("v1.0");

    const onBranch = rig.env(repo, { branch: "release", path: "infra/prod" });
    const r = await onBranch.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kt-rel: added s");
    expect(readlinkSync(join(onBranch.state, "current"))).toBe(`releases/${release}`);
    expect(existsSync(join(onBranch.state, "releases", release, "infra/prod/apps/kt-rel/docker-compose.yml"))).toBe(true);
    expect(existsSync(join(onBranch.state, "releases", release, "apps"))).toBe(false);

    await rig.env(repo).run(["sync"]); // main: kt-main only, separate state
    const onTag = rig.env(repo, { branch: "v1.0", path: "infra/prod" });
    const t = await onTag.run(["sync"]);
    expect(t.code).toBe(0);
    expect(readlinkSync(join(onTag.state, "current"))).toBe(`releases/${release}`);

    const missing = await rig.env(repo, { branch: "nope" }).run(["sync"]);
    expect(missing.code).toBe(3);
    expect(missing.all).toContain('no branch or tag "nope"');
  });

  test("a force-pushed branch deploys the new head", async () => {
    const repo = appRepo();
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    repo.git("checkout", "-q", "--orphan", "rewritten");
    const rewritten = repo.write({ "apps/kt-git/docker-compose.yml": compose({ services: { s: sleeper({ environment: { R: "1" } }) } }) }).commit("history rewritten", { force: true });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(readlinkSync(join(env.state, "current"))).toBe(`releases/${rewritten}`);
    expect((await inspect("kt-git-s-1"))?.Config.Env).toContain("R=1");
  });
});

describe("crashes and concurrency", () => {
  for (const point of ["fetch", "unpack", "checkout"] as const) {
    test(`SIGKILL during ${point}, then a normal run converges and leaves no temporary directory`, async () => {
      const repo = appRepo();
      const env = rig.env(repo);
      const killed = await env.run(["sync"], { env: { KONTA_FAILPOINT: point } });
      expect(killed.code).toBe(137);
      expect(existsSync(join(env.state, "current"))).toBe(false);
      const r = await env.run(["sync"]);
      expect(r.code).toBe(0);
      expect(tmpEntries(env)).toEqual([]);
      expect((await inspect("kt-git-s-1"))?.State.Running).toBe(true);
    });
  }

  test("two runs at once: one deploys, the other exits 4 naming the holder; --wait waits", async () => {
    const repo = appRepo();
    const env = rig.env(repo);
    rig.git.inject({ kind: "delay", ms: 1500, count: 1 });
    const asked = rig.git.requests.length;
    const first = env.run(["sync"]);
    // its request reaching the server means it holds the lock (taken before asking for the head)
    await waitFor(async () => rig.git.requests.length > asked || undefined, 60_000, "the first run's request");
    const second = await env.run(["sync"]);
    expect(second.code).toBe(4);
    expect(second.all).toMatch(/another Konta run holds .*konta\.lock \(pid \d+\)/);
    const waited = env.run(["sync", "--wait", "30"]);
    expect((await first).code).toBe(0);
    const w = await waited;
    expect(w.code).toBe(0);
    expect(w.stdout).toContain("up to date");
  });

  test("a lock left by a killed run is taken over", async () => {
    const repo = appRepo();
    const env = rig.env(repo);
    expect((await env.run(["sync"], { env: { KONTA_FAILPOINT: "state-write" } })).code).toBe(137);
    expect(readFileSync(join(env.state, "konta.lock"), "utf8")).toMatch(/^\d+\n/);
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
  });

  test("a corrupt state.json is reported, kept aside and rebuilt from the live release", async () => {
    const repo = appRepo();
    const env = rig.env(repo);
    const sha = repo.head();
    expect((await env.run(["sync"])).code).toBe(0);
    writeFileSync(join(env.state, "state.json"), '{"version": 1, "hist');
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.all).toContain("was corrupt");
    expect(readdirSync(env.state).some((n) => n.startsWith("state.json.corrupt-"))).toBe(true);
    const state = env.readState();
    expect(state.current.sha).toBe(sha);
  });
});

describe("releases", () => {
  test("keep_releases: old releases are pruned, never the live one or the rollback target", async () => {
    const repo = appRepo();
    const env = rig.env(repo, { deploy: { keep_releases: 2, min_uptime: 0.2 } });
    const shas: string[] = [repo.head()];
    expect((await env.run(["sync"])).code).toBe(0);
    for (let i = 1; i <= 4; i++) {
      shas.push(repo.write({ "apps/kt-git/docker-compose.yml": compose({ services: { s: sleeper({ environment: { N: String(i) } }) } }) }).commit(`v${i}`));
      expect((await env.run(["sync"])).code).toBe(0);
    }
    const kept = readdirSync(join(env.state, "releases")).sort();
    expect(kept).toEqual([shas[3], shas[4]].sort() as string[]);
  });

  test("a repository of 2,000 files of random data (32 MB): the first sync stays within 128 MB, the pack never in memory", async () => {
    const repo = appRepo("kt-big");
    const files: Record<string, string> = {};
    // base64 of random bytes compresses only to its 6 bits per character: a 24 MB pack
    for (let i = 0; i < 2000; i++) files[`assets/dir${i % 40}/file${i}.txt`] = randomBytes(12_600).toString("base64");
    repo.write(files).commit("big");
    const packMb = Number(/size-pack: (\d+)/.exec(spawnSync("git", ["-C", repo.bare, "count-objects", "-v"], { encoding: "utf8" }).stdout)?.[1]) / 1024;
    const env = rig.env(repo);
    const rss = join(env.dir, "rss");
    const started = Date.now();
    const out = await env.run(["sync"], { prefix: ["/usr/bin/time", "-o", rss, "-f", "%M"] });
    const elapsed = Date.now() - started;
    expect(out.stdout).toContain("deployed");
    const sha = repo.head();
    expect(readdirSync(join(env.state, "releases", sha, "assets")).length).toBe(40);
    const peakMb = Number(readFileSync(rss, "utf8").trim().split("\n").at(-1)) / 1024;
    console.log(`large repository (2000 files, ${packMb.toFixed(0)} MB pack): first sync ${elapsed} ms, peak RSS ${peakMb.toFixed(0)} MB`);
    // isomorphic-git's fetch held the pack and its objects: 370 MB here
    expect(packMb).toBeGreaterThan(20);
    expect(peakMb).toBeLessThan(128);
  });
});
