// Issue "Operator surface": every command through the compiled binary, hooks, notifications.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, httpService, sleeper } from "../support/compose.ts";
import { engine, freePort, httpGet, inspect, waitFor } from "../support/docker.ts";
import { residentFraction } from "../support/files.ts";
import { kontaBinary, runKonta } from "../support/konta.ts";
import { TOKEN, useRig } from "../support/rig.ts";

const rig = useRig();



describe("sync output", () => {
  test("one quiet line when up to date; --json is one document", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-out/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("x");
    const env = rig.env(repo);
    const json = await env.run(["sync", "--json"]);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ result: "deployed", exitCode: 0, sha: repo.head() });
    expect(doc.summary.added).toEqual(["kt-out/s"]);
    const idle = await env.run(["sync"]);
    expect(idle.stdout.trim().split("\n")).toHaveLength(1);
    expect(idle.stderr).toBe("");
    expect((await env.run(["sync", "--quiet"])).all).toBe("");
  });
});

describe("plan", () => {
  test("exit 0 when nothing would change, 10 with the changed fields (secrets masked); nothing changes", async () => {
    const repo = rig.repo();
    const file = "apps/kt-plan/docker-compose.yml";
    const doc = (foo: string, pw: string, extra: Record<string, unknown> = {}) =>
      compose({ services: { app: sleeper({ environment: { FOO: foo, DB_PASSWORD: pw }, ...extra }), other: sleeper() } });
    repo.write({ [file]: doc("a", "old-secret") }).commit("one");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const none = await env.run(["plan"]);
    expect(none.code).toBe(0);
    repo.write({ [file]: doc("b", "new-secret", { user: "65534" }) }).commit("two");
    const before = (await inspect("kt-plan-app-1"))?.Id;
    const r = await env.run(["diff"]);
    expect(r.code).toBe(10);
    expect(r.stdout).toContain("~ recreate app (config changed)");
    expect(r.stdout).toContain('environment.FOO: "a" -> "b"');
    expect(r.stdout).toContain("environment.DB_PASSWORD: *** -> *** (changed)");
    expect(r.stdout).toContain('user: (none) -> "65534"');
    expect(r.stdout).toContain("= unchanged: other");
    expect(r.all).not.toContain("new-secret");
    const json = JSON.parse((await env.run(["plan", "--json"])).stdout);
    expect(json.changes).toBe(true);
    expect(json.plan[0].actions[0]).toMatchObject({ type: "recreate", service: "app" });
    expect((await inspect("kt-plan-app-1"))?.Id).toBe(before as string);
    expect(readlinkSync(join(env.state, "current"))).not.toContain(repo.head());
  });
});

describe("rollback, hold and resume", () => {
  test("rollback goes to the previous good release, holds timer runs, and a new commit lifts the hold", async () => {
    const port = await freePort();
    const repo = rig.repo();
    const file = "apps/kt-rb/docker-compose.yml";
    const v1 = repo.write({ [file]: compose({ services: { web: httpService(port) } }) }).commit("v1");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const v2 = repo.write({ [file]: compose({ services: { web: httpService(port, { image: "konta-test/busybox:2" }) } }) }).commit("v2");
    await env.ok(["sync"]);
    expect(await httpGet(port)).toBe("image 2\n");

    const releases = await env.ok(["releases"]);
    expect(releases.stdout).toMatch(new RegExp(`^\\* ${v2.slice(0, 12)}`, "m"));
    expect(releases.stdout).toMatch(new RegExp(`^< ${v1.slice(0, 12)}`, "m"));

    const r = await env.ok(["rollback"]);
    expect(r.stdout).toMatch(new RegExp(`rolled back to ${v1.slice(0, 12)} \\(from ${v2.slice(0, 12)}\\) in \\d+\\.\\d\\ds`));
    expect(await waitFor(() => httpGet(port), 30_000, "v1")).toBe("image 1\n");
    for (let i = 0; i < 3; i++) {
      const tick = await env.ok(["sync"]);
      expect(tick.stdout).toContain(`held at ${v1.slice(0, 12)}`);
    }
    expect(await httpGet(port)).toBe("image 1\n");
    const st = await env.ok(["status"]);
    expect(st.stdout).toContain(`held       at ${v1.slice(0, 12)}`);

    const v3 = repo.write({ [file]: compose({ services: { web: httpService(port, { image: "konta-test/busybox:2", environment: { V: "3" } }) } }) }).commit("v3");
    const next = await env.ok(["sync"]);
    expect(next.stdout).toContain(`deployed ${v3.slice(0, 12)}`);
    expect(env.readState().hold).toBeUndefined();
  });

  test("rollback to a SHA prefix, then resume deploys the branch head", async () => {
    const repo = rig.repo();
    const file = "apps/kt-rb2/docker-compose.yml";
    const shas = [1, 2, 3].map((n) => {
      const sha = repo.write({ [file]: compose({ services: { s: sleeper({ environment: { N: String(n) } }) } }) }).commit(`v${n}`);
      return sha;
    });
    const env = rig.env(repo);
    // deploy each commit in turn
    repo.git("push", "-q", "--force", repo.bare, `${shas[0]}:refs/heads/main`);
    await env.ok(["sync"]);
    repo.git("push", "-q", "--force", repo.bare, `${shas[1]}:refs/heads/main`);
    await env.ok(["sync"]);
    repo.git("push", "-q", "--force", repo.bare, `${shas[2]}:refs/heads/main`);
    await env.ok(["sync"]);
    const r = await env.ok(["rollback", (shas[0] as string).slice(0, 7)]);
    expect(r.stdout).toContain(`rolled back to ${(shas[0] as string).slice(0, 12)}`);
    expect((await inspect("kt-rb2-s-1"))?.Config.Env).toContain("N=1");
    const bad = await env.run(["rollback", "zzzz"]);
    expect(bad.code).toBe(2);
    expect((await env.ok(["resume"])).stdout).toContain("lifted");
    expect((await env.ok(["sync"])).stdout).toContain(`deployed ${(shas[2] as string).slice(0, 12)}`);
    expect((await inspect("kt-rb2-s-1"))?.Config.Env).toContain("N=3");
  });
});

describe("status and drift", () => {
  test("status shows the live release and services; a container removed by hand is drift that sync repairs", async () => {
    const repo = rig.repo();
    const sha = repo.write({ "apps/kt-st/docker-compose.yml": compose({ services: { a: sleeper(), b: sleeper({ labels: { "konta.managed": "true", "konta.stopped": "true" } }) } }) }).commit("status me");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const s = await env.ok(["status"]);
    expect(s.stdout).toContain(`live       ${sha.slice(0, 12)} "status me" by Konta Test <test@konta.invalid>`);
    expect(s.stdout).toMatch(/a\s+1\/1 running\s+konta-test\/busybox:1/);
    expect(s.stdout).toMatch(/kt-st-a-1\s+running up /);
    expect(s.stdout).toContain("stopped (konta.stopped)");
    expect(s.stdout).toContain("drift      none");

    await engine("/containers/kt-st-a-1", { method: "DELETE", query: { force: 1 } });
    const drifted = await env.ok(["status"]);
    expect(drifted.stdout).toContain("kt-st/a: container #1 is missing");
    const json = JSON.parse((await env.ok(["status", "--json"])).stdout);
    expect(json.drift).toEqual([{ project: "kt-st", service: "a", what: "container #1 is missing" }]);
    expect(json.live.sha).toBe(sha);

    const repair = await env.ok(["sync"]);
    expect(repair.stdout).toContain(`repaired drift at ${sha.slice(0, 12)}`);
    expect((await inspect("kt-st-a-1"))?.State.Running).toBe(true);
    expect((await env.ok(["status"])).stdout).toContain("drift      none");
  });
});

describe("hooks", () => {
  test("pre and success get the documented environment and a summary; no other variable leaks in", async () => {
    const out = mkdtempSync(join(tmpdir(), "konta-hook-out-"));
    const repo = rig.repo();
    const sha = repo
      .write({
        "apps/kt-hook/docker-compose.yml": compose({ services: { s: sleeper() } }),
        "hooks/pre.sh": `env | sort > ${out}/pre.env\npwd > ${out}/pre.pwd\necho "hello from pre"\n`,
        "hooks/success.sh": { content: `env | sort > ${out}/success.env\ncp "$KONTA_SUMMARY" ${out}/summary.json\n`, mode: 0o644 },
      })
      .commit("hooks");
    const env = rig.env(repo);
    const r = await env.run(["sync"], { env: { KONTA_TOKEN: TOKEN, SECRET_FROM_ENV: "must-not-leak" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("[hook pre.sh] hello from pre");
    const pre = readFileSync(join(out, "pre.env"), "utf8");
    expect(pre).toContain(`KONTA_COMMIT=${sha}\n`);
    expect(pre).toContain("KONTA_EVENT=pre\n");
    expect(pre).toContain("KONTA_PROJECTS=kt-hook\n");
    expect(pre).toContain("KONTA_PREVIOUS_COMMIT=\n");
    expect(pre).toContain(`KONTA_RELEASE_DIR=${join(env.state, "releases", sha)}\n`);
    expect(pre).not.toContain("must-not-leak");
    expect(pre).not.toContain("BUN_JSC_");
    expect(pre).not.toContain("KONTA_STARTED_AT");
    expect(pre).not.toContain(TOKEN);
    expect(readFileSync(join(out, "pre.pwd"), "utf8").trim()).toBe(join(env.state, "releases", sha));
    expect(readFileSync(join(out, "success.env"), "utf8")).toContain("KONTA_EVENT=success\n");
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ commit: sha, added: ["kt-hook/s"], updated: [], removed: [], failed: [], error: null });
  });

  test("a failing pre.sh aborts with nothing changed; failure.sh receives the error", async () => {
    const out = mkdtempSync(join(tmpdir(), "konta-hook-out-"));
    const repo = rig.repo();
    repo.write({ "apps/kt-pre/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("one");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const before = (await inspect("kt-pre-s-1"))?.Id;
    const bad = repo
      .write({
        "apps/kt-pre/docker-compose.yml": compose({ services: { s: sleeper({ environment: { X: "2" } }) } }),
        "hooks/pre.sh": "echo not today >&2\nexit 3\n",
        "hooks/failure.sh": `echo "$KONTA_EVENT|$KONTA_COMMIT|$KONTA_ERROR" > ${out}/failure\n`,
      })
      .commit("blocked");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toContain("hooks/pre.sh exited with 3; nothing was changed");
    expect((await inspect("kt-pre-s-1"))?.Id).toBe(before as string);
    expect(readFileSync(join(out, "failure"), "utf8")).toBe(`failure|${bad}|hooks/pre.sh exited with 3; nothing was changed\n`);
  });

  test("a pre.sh that times out is killed with its children and aborts the deploy", async () => {
    const out = mkdtempSync(join(tmpdir(), "konta-hook-out-"));
    const repo = rig.repo();
    repo
      .write({
        "apps/kt-slow/docker-compose.yml": compose({ services: { s: sleeper() } }),
        "hooks/pre.sh": `sleep 300 &\necho $! > ${out}/child.pid\nsleep 300\n`,
      })
      .commit("slow hook");
    const env = rig.env(repo, { hooks: { timeout: 1 } });
    const started = Date.now();
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toContain("timed out");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await inspect("kt-slow-s-1")).toBeUndefined();
    const child = Number(readFileSync(join(out, "child.pid"), "utf8"));
    // dead: gone, or a zombie its new parent (init) has not reaped yet
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${child}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 3000;
    while (alive() && Date.now() < deadline) await Bun.sleep(100);
    expect(alive()).toBe(false);
  });
});

describe("notifications", () => {
  test("success and failure are POSTed; a broken endpoint never fails a deploy", async () => {
    const received: { body: unknown; headers: Record<string, string> }[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        received.push({ body: await req.json(), headers: Object.fromEntries(req.headers.entries()) });
        return new Response("ok");
      },
    });
    try {
      const repo = rig.repo();
      const file = "apps/kt-notify/docker-compose.yml";
      const sha = repo.write({ [file]: compose({ services: { s: sleeper() } }) }).commit("n");
      const env = rig.env(repo, { notify: { url: `http://127.0.0.1:${server.port}/hook`, format: "json" } });
      await env.ok(["sync"]);
      expect(received[0]?.body).toMatchObject({ event: "success", commit: sha, projects: ["kt-notify"], host: expect.any(String) });
      env.writeConfig({ notify: { url: `http://127.0.0.1:${server.port}/hook`, format: "slack" } });
      repo.write({ [file]: compose({ services: { s: sleeper({ command: ["sh", "-c", "exit 1"], restart: "always" }) } }) }).commit("bad");
      expect((await env.run(["sync"])).code).toBe(1);
      expect((received[1]?.body as { text: string }).text).toContain("failed and was rolled back");
      env.writeConfig({ notify: { url: "http://127.0.0.1:1/unreachable", format: "discord" } });
      repo.write({ [file]: compose({ services: { s: sleeper({ environment: { OK: "1" } }) } }) }).commit("fine");
      const r = await env.run(["sync"]);
      expect(r.code).toBe(0);
      expect(r.all).toContain("notify: POST to http://127.0.0.1:1 failed");
    } finally {
      server.stop(true);
    }
  });
});

describe("install, version, self-update", () => {
  test("install --print passes systemd-analyze verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "konta-units-"));
    const r = await runKonta(["install", "--print", "--config", "/etc/konta/config.yaml", "--state-dir", "/var/lib/konta", "--interval", "90", "--binary", kontaBinary()]);
    expect(r.code).toBe(0);
    const [service, timer] = r.stdout.split(/^# konta\.timer$/m);
    writeFileSync(join(dir, "konta.service"), (service as string).replace(/^# konta\.service\n/, ""));
    writeFileSync(join(dir, "konta.timer"), timer as string);
    expect(timer).toContain("OnUnitInactiveSec=90s");
    const v = spawnSync("systemd-analyze", ["verify", join(dir, "konta.service"), join(dir, "konta.timer")], { encoding: "utf8" });
    expect(v.stderr).toBe("");
    expect(v.status).toBe(0);
  });

  test("install writes config, state and units (idempotent); uninstall removes them, --purge the state", async () => {
    const root = mkdtempSync(join(tmpdir(), "konta-install-"));
    const args = ["--config", join(root, "etc/konta/config.yaml"), "--state-dir", join(root, "var/lib/konta"), "--unit-dir", join(root, "units"), "--no-enable"];
    const repo = rig.repo();
    repo.write({ "apps/kt-inst/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("i");
    const first = await runKonta(["install", "--repo", rig.git.repoUrl(repo.name), "--branch", "main", "--interval", "60", ...args], { input: `${TOKEN}\n` });
    expect(first.code).toBe(0);
    const config = readFileSync(join(root, "etc/konta/config.yaml"), "utf8");
    expect(config).toContain("token: enc:v1:");
    expect(config).not.toContain(TOKEN);
    expect(statSync(join(root, "etc/konta/config.yaml")).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, "var/lib/konta")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(root, "units/konta.timer"), "utf8")).toContain("OnUnitInactiveSec=60s");
    expect(readFileSync(join(root, "units/konta.service"), "utf8")).toContain(`sync --config ${join(root, "etc/konta/config.yaml")}`);
    const again = await runKonta(["install", ...args]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("kept");
    const sync = await runKonta(["sync", ...args.slice(0, 4)]);
    expect(sync.code).toBe(0);
    const un = await runKonta(["uninstall", ...args]);
    expect(un.code).toBe(0);
    expect(existsSync(join(root, "units/konta.service"))).toBe(false);
    expect(existsSync(join(root, "var/lib/konta/state.json"))).toBe(true);
    await runKonta(["uninstall", "--purge", ...args]);
    expect(existsSync(join(root, "var/lib/konta"))).toBe(false);
  });

  test("version prints version, commit and Bun version", async () => {
    const r = await runKonta(["version"]);
    expect(r.stdout).toMatch(/^konta \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown), bun \d+\.\d+\.\d+\)\n$/);
    expect(JSON.parse((await runKonta(["version", "--json"])).stdout)).toMatchObject({ version: expect.any(String), bun: expect.any(String) });
  });

  test("self-update refuses a wrong checksum, replaces atomically, keeps .old and runs post_update.sh", async () => {
    const dir = mkdtempSync(join(tmpdir(), "konta-selfupdate-"));
    const bin = join(dir, "konta");
    copyFileSync(kontaBinary(), bin);
    chmodSync(bin, 0o755);
    const out = join(dir, "post_update.out");
    const repo = rig.repo();
    repo.write({ "apps/kt-up/docker-compose.yml": compose({ services: { s: sleeper() } }), "hooks/post_update.sh": `echo "$KONTA_EVENT $KONTA_COMMIT" > ${out}\n` }).commit("u");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const newBin = join(dir, "new-konta");
    copyFileSync(kontaBinary(), newBin);
    writeFileSync(newBin, Buffer.concat([readFileSync(newBin), Buffer.from("\n")])); // a different file that still runs
    const sum = createHash("sha256").update(readFileSync(newBin)).digest("hex");
    const before = createHash("sha256").update(readFileSync(bin)).digest("hex");
    const run = (...a: string[]) => {
      const p = spawnSync(bin, [...a, "--config", env.config, "--state-dir", env.state], { encoding: "utf8" });
      return { code: p.status, all: p.stdout + p.stderr };
    };
    const wrong = run("self-update", "--from", newBin, "--sha256", "0".repeat(64));
    expect(wrong.code).toBe(2);
    expect(wrong.all).toContain("checksum mismatch");
    expect(createHash("sha256").update(readFileSync(bin)).digest("hex")).toBe(before);
    const good = run("self-update", "--from", newBin, "--sha256", sum);
    expect(good.code).toBe(0);
    // written, then dropped from the page cache (before anything here reads it): runs map only what they read
    expect(residentFraction(bin)).toBeLessThan(0.1);
    expect(createHash("sha256").update(readFileSync(bin)).digest("hex")).toBe(sum);
    expect(createHash("sha256").update(readFileSync(`${bin}.old`)).digest("hex")).toBe(before);
    expect(readFileSync(out, "utf8")).toBe(`post_update ${repo.head()}\n`);
  });
});
