// Issue "Reliability and security suite": the token never appears in logs, errors, state, hook
// environments, /proc/<pid>/cmdline or the Git remote stored on disk; files holding secrets are
// 0600 and state dirs 0700; hooks get the documented environment and nothing else.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { envOf } from "../support/converged.ts";
import { execIn, projectContainers, waitFor } from "../support/docker.ts";
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
    const asked = rig.git.requests.length;
    const inflight = run(["sync", "--verbose"]);
    // held at the server for 1.5 s from here: the process is certainly alive
    await waitFor(async () => rig.git.requests.length > asked || undefined, 60_000, "the run's request");
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
    // the Git cache keeps no remote at all: the URL lives in the config only
    const remote = readFileSync(join(env.state, "repo/config"), "utf8");
    expect(remote).not.toContain("url");
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

describe("SOPS-encrypted files in Git (files written by the real sops, tests/fixtures/sops)", () => {
  const FIX = join(import.meta.dir, "../fixtures/sops");
  const fixture = (f: string) => readFileSync(join(FIX, f), "utf8");
  const PLAIN = "this is a secret"; // the humphd fixtures' secret value
  const app = (secretFile: string) =>
    compose({
      services: { web: sleeper({ env_file: ["app.env"], environment: { FROM_DOTENV: "${secret}" }, secrets: ["db_password"] }) },
      secrets: { db_password: { file: `./${secretFile}` } },
    });

  test("decrypted at deploy with the server's age key: values reach the container, never the release; tampering or a missing key is exit 2 and changes nothing", async () => {
    const repo = rig.repo();
    repo.write({
      "apps/kt-sops/docker-compose.yml": app("db.json"),
      "apps/kt-sops/.env": fixture("secret.enc.env"),
      "apps/kt-sops/app.env": fixture("flux/envs-env.env"),
      "apps/kt-sops/db.json": fixture("secret.enc.json"),
    }).commit("encrypted");
    const env = rig.env(repo);
    const keyFile = join(env.dir, "etc/age.key");
    writeFileSync(keyFile, `${fixture("key.txt")}\n${fixture("flux/keys-age.txt")}`, { mode: 0o600 });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const web = (await projectContainers("kt-sops")).get("kt-sops-web-1");
    expect(web && envOf(web, "FROM_DOTENV")).toBe(PLAIN);
    expect(web && envOf(web, "key")).toBe("value");
    // the secret file (0444: a non-root user in the container reads it too)
    const inside = await execIn("kt-sops-web-1", ["cat", "/run/secrets/db_password"]);
    expect(inside).toContain(`"secret": "${PLAIN}"`);
    const source = web?.Mounts.find((m) => m.Destination === "/run/secrets/db_password")?.Source ?? "";
    expect(source.startsWith(join(env.state, "secrets/kt-sops/db_password-"))).toBe(true);
    expect(statSync(join(env.state, "secrets")).mode & 0o777).toBe(0o700);
    expect(statSync(join(env.state, "secrets/kt-sops")).mode & 0o777).toBe(0o700);
    expect(statSync(source).mode & 0o777).toBe(0o444);
    // plain values are nowhere in the releases, the state files or Konta's output
    expect(readTree(join(env.state, "releases"))).not.toContain(PLAIN);
    for (const f of ["state.json", "compose.cache.json"]) if (existsSync(join(env.state, f))) expect(readFileSync(join(env.state, f), "utf8")).not.toContain(PLAIN);
    expect(r.all).not.toContain(PLAIN);

    // an env_file edited without sops: exit 2 naming it; the container is not touched
    const tampered = fixture("flux/envs-env.env").replace("sops_version=", "EXTRA_unencrypted=1\nsops_version=");
    repo.write({ "apps/kt-sops/app.env": tampered, "apps/kt-sops/docker-compose.yml": app("db.json").replace("sleep", "sleep ") }).commit("tampered");
    const bad = await env.run(["sync"]);
    expect(bad.code).toBe(2);
    expect(bad.all).toContain("env file ./app.env is SOPS-encrypted: MAC mismatch");
    expect((await projectContainers("kt-sops")).get("kt-sops-web-1")?.Id).toBe(web?.Id);

    // the key gone: exit 2 naming the file and the key's path
    rmSync(keyFile);
    repo.write({ "apps/kt-sops/app.env": fixture("flux/envs-env.env") }).commit("repaired, key missing");
    const nokey = await env.run(["sync"]);
    expect(nokey.code).toBe(2);
    expect(nokey.all).toContain(`is SOPS-encrypted: the age identity file ${keyFile} does not exist`);
    expect((await projectContainers("kt-sops")).get("kt-sops-web-1")?.Id).toBe(web?.Id);

    // the key back, another secret file: recreated with it; the old decrypted copy is removed
    writeFileSync(keyFile, `${fixture("key.txt")}\n${fixture("flux/keys-age.txt")}`, { mode: 0o600 });
    repo.write({ "apps/kt-sops/docker-compose.yml": app("db_password.txt"), "apps/kt-sops/db_password.txt": fixture("flux/files-file.txt") }).commit("binary secret");
    const plan = await env.run(["plan"]);
    expect(plan.code).toBe(10);
    expect(plan.all).not.toContain(PLAIN);
    const again = await env.run(["sync"]);
    expect({ code: again.code, all: again.all }).toMatchObject({ code: 0 });
    const after = (await projectContainers("kt-sops")).get("kt-sops-web-1");
    expect(after?.Id).not.toBe(web?.Id);
    expect(await execIn("kt-sops-web-1", ["cat", "/run/secrets/db_password"])).toContain("value");
    expect(existsSync(source)).toBe(false);
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
