// Git over SSH with a deploy key (issue 30), through the compiled binary against a real sshd on
// loopback that serves the rig's bare repositories through git-shell for one authorized key:
// first deploy, the idle tick's one advertisement-only session, incremental fetch, force-push,
// and each failure a person must be able to act on, with nothing deployed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, copyFileSync, existsSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { inspect, sh } from "../support/docker.ts";
import type { KontaEnv } from "../support/konta.ts";
import type { TestRepo } from "../support/repo.ts";
import { useRig } from "../support/rig.ts";
import { type SshServer, startSshServer } from "../support/ssh-server.ts";

const rig = useRig();
let ssh: SshServer;
beforeAll(async () => {
  ssh = await startSshServer();
});
afterAll(async () => ssh?.close());

const APP = "apps/kt-ssh/docker-compose.yml";
const app = (v: string) => compose({ services: { s: sleeper({ environment: { V: v } }) } });
const fingerprint = (pub: string) => /SHA256:\S+/.exec(sh("ssh-keygen", ["-l", "-E", "sha256", "-f", pub]))?.[0] as string;

/** A Konta environment reaching `repo` over SSH with its own copies of the key and known_hosts. */
function sshEnv(repo: TestRepo, url = ssh.url(repo)): KontaEnv {
  const env = rig.env(repo, { repoUrl: url, token: undefined, repository: { retries: 1 } });
  copyFileSync(ssh.key, join(env.dir, "etc/deploy_key"));
  copyFileSync(`${ssh.key}.pub`, join(env.dir, "etc/deploy_key.pub"));
  chmodSync(join(env.dir, "etc/deploy_key"), 0o600);
  copyFileSync(ssh.knownHosts, join(env.dir, "etc/known_hosts"));
  return env;
}

const live = (env: KontaEnv) => readlinkSync(join(env.state, "current")).split("/").pop();

describe("a deploy key over SSH", () => {
  let repo: TestRepo;
  let env: KontaEnv;

  test("first deploy from ssh://; status shows the transport and the key's fingerprint, never the key; the idle tick is one SSH session, the ref advertisement only, no pack asked or sent", async () => {
    repo = rig.repo();
    repo.write({ [APP]: app("1") });
    const v1 = repo.commit("v1");
    env = sshEnv(repo);
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(0);
    expect(live(env)).toBe(v1);
    expect((await inspect("kt-ssh-s-1"))?.Config.Env).toContain("V=1");
    const status = await env.run(["status"]);
    expect(status.stdout).toMatch(/transport +ssh, deploy key SHA256:\S+/);
    expect(status.stdout).toContain(fingerprint(`${ssh.key}.pub`));
    const json = JSON.parse((await env.run(["status", "--json"])).stdout);
    expect(json.repository.transport).toBe("ssh");
    expect(json.repository.key_fingerprint).toBe(fingerprint(`${ssh.key}.pub`));
    const secret = readFileSync(ssh.key, "utf8").split("\n")[1] as string;
    expect(status.all + r.all).not.toContain(secret);

    // the idle tick (in the same test: the rig clears containers after each one)
    const before = ssh.sessions().length;
    const idle = await env.run(["sync"]);
    expect(idle.code, idle.all).toBe(0);
    expect(idle.all).toContain("up to date");
    const sessions = ssh.sessions().slice(before);
    expect(sessions.length).toBe(1);
    expect(sessions[0]?.command).toBe(`git-upload-pack '${repo.bare}'`);
    expect(sessions[0]?.trace).not.toContain("want ");
    expect(sessions[0]?.trace).not.toContain("PACK");
  });

  test("a new commit is fetched incrementally (our commits offered as haves) in one session", async () => {
    repo.write({ [APP]: app("2") });
    const v2 = repo.commit("v2");
    const before = ssh.sessions().length;
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(0);
    expect(live(env)).toBe(v2);
    expect((await inspect("kt-ssh-s-1"))?.Config.Env).toContain("V=2");
    const sessions = ssh.sessions().slice(before);
    // the tick's look at the head, then the fetch
    expect(sessions.length).toBe(2);
    expect(sessions[1]?.trace).toMatch(/want [0-9a-f]{40}/);
    expect(sessions[1]?.trace).toMatch(/have [0-9a-f]{40}/);
  });

  test("a force-push is deployed like any new head", async () => {
    repo.write({ [APP]: app("3") });
    repo.git("add", "-A");
    repo.git("commit", "-q", "--amend", "-m", "v2, rewritten");
    repo.push(true);
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(0);
    expect(live(env)).toBe(repo.head());
    expect((await inspect("kt-ssh-s-1"))?.Config.Env).toContain("V=3");
  });

  test("the scp-like spelling user@host:path is taken (port 22: exit 3 naming that host, whatever runs there)", async () => {
    const scp = sshEnv(repo, `root@127.0.0.1:${repo.bare}`);
    const r = await scp.run(["sync"]);
    expect(r.code, r.all).toBe(3);
    expect(r.all).toMatch(/cannot reach 127\.0\.0\.1 over SSH|127\.0\.0\.1 is not a known host/);
  });
});

describe("failures a person can act on: exit 3 (2 for a key file), nothing deployed", () => {
  let repo: TestRepo;
  let env: KontaEnv;
  let round = 0;
  let liveSha = "";

  beforeAll(() => {
    repo = rig.repo();
  });

  /** A fresh environment that deployed "live-N"; a newer commit then waits on the server. */
  const deployed = async () => {
    round++;
    repo.write({ [APP]: app(`live-${round}`) });
    liveSha = repo.commit(`live ${round}`);
    env = sshEnv(repo);
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(0);
    repo.write({ [APP]: app(`next-${round}`) });
    repo.commit(`next ${round}`);
  };
  const unchanged = async () => {
    expect(live(env)).toBe(liveSha);
    const c = await inspect("kt-ssh-s-1");
    expect(c?.State.Running).toBe(true);
    expect(c?.Config.Env).toContain(`V=live-${round}`);
  };

  test("a key the server does not know: refused, with its fingerprint and where to add it", async () => {
    await deployed();
    const other = join(env.dir, "other_key");
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    env.writeConfig({ repoUrl: ssh.url(repo), token: undefined, repository: { retries: 1, ssh_key_file: other } });
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(3);
    expect(r.all).toContain(`refused the deploy key ${fingerprint(`${other}.pub`)}`);
    expect(r.all).toContain("Deploy keys");
    expect(r.all).not.toContain(readFileSync(other, "utf8").split("\n")[1] as string);
    await unchanged();
  });

  test("a key file others can read: exit 2 with the chmod, no connection made", async () => {
    await deployed();
    chmodSync(join(env.dir, "etc/deploy_key"), 0o644);
    const before = ssh.sessions().length;
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(2);
    expect(r.all).toContain(`chmod 600 ${join(env.dir, "etc/deploy_key")}`);
    expect(ssh.sessions().length).toBe(before);
    await unchanged();
  });

  test("an unknown host: not trusted on first use; the offered fingerprint and the remedy", async () => {
    await deployed();
    writeFileSync(join(env.dir, "etc/known_hosts"), "");
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(3);
    expect(r.all).toContain(`127.0.0.1:${ssh.port} is not a known host in ${join(env.dir, "etc/known_hosts")}`);
    expect(r.all).toMatch(/offers ED25519 SHA256:\S+/);
    expect(r.all).toContain("konta install --ssh");
    // nothing was added behind the operator's back
    expect(readFileSync(join(env.dir, "etc/known_hosts"), "utf8")).toBe("");
    await unchanged();
  });

  test("the host key changed (another sshd on the same port): nothing deployed, the live release serving", async () => {
    await deployed();
    await ssh.stop();
    await ssh.start({ newHostKey: true });
    try {
      const offered = /SHA256:\S+/.exec(sh("bash", ["-c", `ssh-keyscan -p ${ssh.port} 127.0.0.1 2>/dev/null | ssh-keygen -l -E sha256 -f -`]))?.[0] as string;
      const r = await env.run(["sync"]);
      expect(r.code, r.all).toBe(3);
      expect(r.all).toContain(`the host key of 127.0.0.1:${ssh.port} is not the one pinned in ${join(env.dir, "etc/known_hosts")}; it now offers ED25519 ${offered}`);
      await unchanged();
    } finally {
      // the rest of the file trusts the new key
      writeFileSync(ssh.knownHosts, sh("ssh-keyscan", ["-p", String(ssh.port), "127.0.0.1"]));
    }
  });

  test("the server down: retried with backoff, then exit 3; the next tick tries again", async () => {
    await deployed();
    await ssh.stop();
    try {
      const r = await env.run(["sync"]);
      expect(r.code, r.all).toBe(3);
      expect(r.all).toContain(`cannot reach 127.0.0.1:${ssh.port} over SSH`);
      expect(r.all).toContain("retrying");
      await unchanged();
    } finally {
      await ssh.start();
    }
    const again = await env.run(["sync"]);
    expect(again.code, again.all).toBe(0);
  });

  test("a repository the server does not have", async () => {
    await deployed();
    env.writeConfig({ repoUrl: `ssh://root@127.0.0.1:${ssh.port}/srv/nope.git`, token: undefined, repository: { retries: 1 } });
    const r = await env.run(["sync"]);
    expect(r.code, r.all).toBe(3);
    expect(r.all).toContain(`has no repository /srv/nope.git`);
    await unchanged();
  });
});

test("konta install --ssh: a deploy key made, the host key pinned and shown to compare, the public key printed; a re-run keeps both; once the key is added, sync deploys", async () => {
  const repo = rig.repo();
  repo.write({ [APP]: app("installed") });
  const sha = repo.commit("installed");
  const env = rig.env(repo, { repoUrl: ssh.url(repo), token: undefined });
  rmSync(env.config);
  const key = join(env.dir, "etc/deploy_key");
  const units = join(env.dir, "units");
  const first = await env.run(["install", "--repo", ssh.url(repo), "--ssh", "--unit-dir", units, "--no-enable"]);
  expect(first.code, first.all).toBe(0);
  expect(statSync(key).mode & 0o777).toBe(0o600);
  const offered = /SHA256:\S+/.exec(sh("bash", ["-c", `ssh-keyscan -p ${ssh.port} 127.0.0.1 2>/dev/null | ssh-keygen -l -E sha256 -f -`]))?.[0] as string;
  expect(first.stdout).toContain(`made the deploy key ${key} (${fingerprint(`${key}.pub`)})`);
  expect(first.stdout).toContain(`pinned host key of 127.0.0.1:${ssh.port} in ${join(env.dir, "etc/known_hosts")}: ED25519 ${offered}`);
  expect(first.stdout).toContain(readFileSync(`${key}.pub`, "utf8").trim());
  expect(first.stdout).toContain("Deploy keys");
  expect(readFileSync(join(env.dir, "etc/known_hosts"), "utf8")).toContain(`[127.0.0.1]:${ssh.port} ssh-ed25519 `);
  expect(readFileSync(env.config, "utf8")).not.toContain("token:");
  expect(existsSync(join(units, "konta.service"))).toBe(true);

  const again = await env.run(["install", "--ssh", "--unit-dir", units, "--no-enable"]);
  expect(again.code, again.all).toBe(0);
  expect(again.stdout).toContain(`kept the deploy key ${key}`);
  expect(again.stdout).toContain(`kept the pinned host key of 127.0.0.1:${ssh.port}`);
  expect(readFileSync(join(env.dir, "etc/known_hosts"), "utf8").trim().split("\n").length).toBe(1);

  const refused = await env.run(["sync"]);
  expect(refused.code, refused.all).toBe(3);
  expect(refused.all).toContain(`refused the deploy key ${fingerprint(`${key}.pub`)}`);

  // the person pastes the public key into the Git host
  appendFileSync(join(ssh.dir, "authorized_keys"), `restrict,command="${join(ssh.dir, "git-only.sh")}" ${readFileSync(`${key}.pub`, "utf8")}`);
  const r = await env.run(["sync"]);
  expect(r.code, r.all).toBe(0);
  expect(live(env)).toBe(sha);
});
