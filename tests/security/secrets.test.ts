// Issue "Reliability and security suite": the token never appears in logs, errors, state, hook
// environments, /proc/<pid>/cmdline or the Git remote stored on disk; files holding secrets are
// 0600 and state dirs 0700; hooks get the documented environment and nothing else.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { envOf } from "../support/converged.ts";
import { projectContainers } from "../support/docker.ts";
import { readTree } from "../support/files.ts";
import { kontaBinary } from "../support/konta.ts";
import { TOKEN, useRig } from "../support/rig.ts";

const rig = useRig();

/** The token in the encodings it could leak in. */
const FORMS = [TOKEN, encodeURIComponent(TOKEN), Buffer.from(`x-access-token:${TOKEN}`).toString("base64")];
const expectNoToken = (text: string, where: string) => {
  for (const f of FORMS) expect({ where, leaks: text.includes(f) }).toEqual({ where, leaks: false });
};

const HOOK = 'env | sort > "$KONTA_RELEASE_DIR/../../hook-env-$KONTA_EVENT"\n';

describe("the token", () => {
  test("is nowhere: output of every command, failures, state, hook environments, cmdline, the stored remote", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-secret/docker-compose.yml": compose({ services: { web: sleeper() } }), "hooks/pre.sh": HOOK, "hooks/success.sh": HOOK, "hooks/failure.sh": HOOK }).commit("v1");
    const env = rig.env(repo, { token: undefined });
    expect((await env.run(["token", "set"], { input: `${TOKEN}\n` })).code).toBe(0);
    let output = "";
    const run = async (args: string[], extraEnv: Record<string, string> = {}) => {
      const r = await env.run(args, { env: { SECRET_OF_THE_HOST: "hunter2", ...extraEnv } });
      output += r.all;
      return r;
    };

    // a run in flight: its command line
    rig.git.inject({ kind: "delay", ms: 1500, count: 1 });
    const inflight = run(["sync", "--verbose"]);
    await Bun.sleep(500);
    const bin = kontaBinary();
    let sawProcess = false;
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      const cmdline = (() => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "latin1");
        } catch {
          return "";
        }
      })();
      if (!cmdline.startsWith(bin)) continue;
      sawProcess = true;
      expectNoToken(cmdline, `/proc/${pid}/cmdline`);
    }
    expect(sawProcess).toBe(true);
    expect((await inflight).code).toBe(0);

    // a failure: a hook that fails, and KONTA_TOKEN in Konta's own environment
    repo.write({ "apps/kt-secret/docker-compose.yml": compose({ services: { web: sleeper({ image: "konta-test/missing:1", pull_policy: "never" }) } }) }).commit("broken");
    expect((await run(["sync", "--now", "--verbose"], { KONTA_TOKEN: TOKEN })).code).toBe(1);
    // an authentication failure names the problem, not the token
    const wrong = await run(["sync"], { KONTA_TOKEN: `${TOKEN}x` });
    expect(wrong.code).toBe(3);
    for (const args of [["status"], ["status", "--json"], ["plan"], ["plan", "--json"], ["releases", "--json"], ["sync", "--dry-run", "--json"]]) await run(args);

    expectNoToken(output, "command output");
    expectNoToken(readTree(env.state), "state dir");
    expectNoToken(readFileSync(env.config, "utf8"), "config");
    const remote = readFileSync(join(env.state, "repo/config"), "utf8");
    expect(remote).toContain(`url = ${rig.git.repoUrl(repo.name)}`);
    expectNoToken(remote, "repo/config");

    // hook environments: the documented variables, nothing of Konta's environment
    for (const event of ["pre", "success", "failure"]) {
      const file = join(env.state, `hook-env-${event}`);
      expect(existsSync(file)).toBe(true);
      const hookEnv = readFileSync(file, "utf8");
      expectNoToken(hookEnv, `${event}.sh environment`);
      expect(hookEnv).not.toContain("hunter2");
      const names = hookEnv.trim().split("\n").map((l) => l.split("=")[0]).filter((n) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(n as string));
      const documented = ["HOME", "KONTA_COMMIT", "KONTA_ERROR", "KONTA_EVENT", "KONTA_PREVIOUS_COMMIT", "KONTA_PROJECTS", "KONTA_RELEASE_DIR", "KONTA_SUMMARY", "LANG", "PATH"];
      expect(names.filter((n) => !documented.includes(n as string))).toEqual([]);
    }
  });
});

describe("host-side secrets", () => {
  test("reach the container, never the state dir; the compose cache keeps only projects without host inputs", async () => {
    const repo = rig.repo();
    const withSecret = sleeper({ environment: { DB_PASSWORD: "${DB_PASSWORD:?set it in the host env file}", VERSION: "1" } });
    repo.write({
      "apps/kt-hostsec/docker-compose.yml": compose({ services: { web: withSecret } }),
      "apps/kt-plain/docker-compose.yml": compose({ services: { web: sleeper({ environment: { VERSION: "1" } }) } }),
    }).commit("v1");
    const env = rig.env(repo);
    env.writeHostEnv("kt-hostsec", "DB_PASSWORD=hunter2-of-the-host\n");
    expect((await env.run(["sync"])).code).toBe(0);
    const before = (await projectContainers("kt-hostsec")).get("kt-hostsec-web-1");
    expect(before && envOf(before, "DB_PASSWORD")).toBe("hunter2-of-the-host");
    const cached = () => Object.keys(JSON.parse(readFileSync(join(env.state, "compose.cache.json"), "utf8")).entries);
    expect(cached()).toEqual(["kt-plain"]);

    // a commit changing the other project: the one with host inputs is loaded again, not recreated
    repo.write({ "apps/kt-plain/docker-compose.yml": compose({ services: { web: sleeper({ environment: { VERSION: "2" } }) } }) }).commit("v2");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect((await projectContainers("kt-hostsec")).get("kt-hostsec-web-1")?.Id).toBe(before?.Id);
    const plain = (await projectContainers("kt-plain")).get("kt-plain-web-1");
    expect(plain && envOf(plain, "VERSION")).toBe("2");
    expect(cached()).toEqual(["kt-plain"]);
    expect(readTree(env.state)).not.toContain("hunter2-of-the-host");
  });
});

describe("file modes", () => {
  test("secrets 0600, state dirs 0700", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-modes/docker-compose.yml": compose({ services: { web: sleeper() } }), "hooks/success.sh": "true\n" }).commit("v1");
    const env = rig.env(repo, { token: undefined });
    expect((await env.run(["token", "set"], { input: `${TOKEN}\n` })).code).toBe(0);
    expect((await env.run(["sync"])).code).toBe(0);
    expect((await env.run(["sync"])).code).toBe(0); // writes the config cache
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    expect({
      config: mode(env.config),
      stateDir: mode(env.state),
      key: mode(join(env.state, "key")),
      state: mode(join(env.state, "state.json")),
      cache: mode(join(env.state, "config.cache.json")),
      composeCache: mode(join(env.state, "compose.cache.json")),
      runDir: mode(join(env.state, "run")),
      summary: mode(join(env.state, "run/summary.json")),
    }).toEqual({ config: "600", stateDir: "700", key: "600", state: "600", cache: "600", composeCache: "600", runDir: "700", summary: "600" });
  });
});
