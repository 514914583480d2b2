// Issue "Deploy only what your keys signed, and follow release tags": real signatures made by `git`
// (ssh-keygen keys, gpg keys made with --batch), checked by the binary with the server's trust
// anchors. A trusted signature deploys; unsigned, an unknown key, an expired key, a principal no
// longer allowed and a forged object (its content changed, the signature kept) are refused with
// nothing changed, remembered, and the untrusted commit's own hooks never run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { envOf } from "../support/converged.ts";
import { inspect, sh } from "../support/docker.ts";
import { type KontaEnv, runKonta } from "../support/konta.ts";
import type { TestRepo } from "../support/repo.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const keys = mkdtempSync(join(tmpdir(), "konta-keys-"));
const gnupg = join(keys, "gnupg");
const anchors = mkdtempSync(join(tmpdir(), "konta-anchors-"));
const ADA = join(keys, "ada");
const EVE = join(keys, "eve");
let bob = ""; // trusted OpenPGP key's fingerprint
let mallory = ""; // an OpenPGP key the server does not trust

beforeAll(() => {
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ada", "-f", ADA]);
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "eve", "-f", EVE]);
  mkdirSync(gnupg, { mode: 0o700 });
  const gpg = (...args: string[]) => sh("gpg", ["--homedir", gnupg, "--batch", ...args]);
  gpg("--passphrase", "", "--quick-gen-key", "Bob <bob@example.org>", "ed25519", "sign", "never");
  gpg("--passphrase", "", "--quick-gen-key", "Mallory <mallory@example.org>", "ed25519", "sign", "never");
  const fprs = gpg("--list-keys", "--with-colons").split("\n").filter((l) => l.startsWith("fpr:")).map((l) => l.split(":")[9] as string);
  [bob, mallory] = fprs as [string, string];
  Bun.spawnSync(["bash", "-c", `gpg --homedir ${gnupg} --batch --export ${bob} > ${join(anchors, "trusted.gpg")}`]);
  allow(`ada@example.org namespaces="git" ${readFileSync(`${ADA}.pub`, "utf8").trim()}`);
});
afterAll(() => {
  rmSync(keys, { recursive: true, force: true });
  rmSync(anchors, { recursive: true, force: true });
});

const ALLOWED = () => join(anchors, "allowed_signers");
const WEBHOOK_SECRET = "webhook-secret-for-signed-42";

/** A folder with a `systemctl` that only records its arguments (the server box runs the real one). */
function fakeSystemctl(): string {
  const dir = join(keys, "bin");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "systemctl"), `#!/bin/bash\necho "$*" >> ${join(dir, "calls")}\n`);
  chmodSync(join(dir, "systemctl"), 0o755);
  return dir;
}
function allow(lines: string): void {
  writeFileSync(ALLOWED(), `${lines}\n`);
  chmodSync(ALLOWED(), 0o644);
}

const FILE = "apps/kt-signed/docker-compose.yml";
const app = (v: string) => compose({ services: { web: sleeper({ environment: { V: v } }) } });
// a hook of every commit: the live release's failure.sh leaves its name; an untrusted commit's must never run
const hooks = (v: string) => ({ "hooks/failure.sh": `echo ${v} >> "$KONTA_RELEASE_DIR/../../ran-failure-${v}"\n` });

/** Commit everything, signed with an SSH key or an OpenPGP one (or not), and push. */
function commit(repo: TestRepo, message: string, sign?: { ssh: string } | { gpg: string }): string {
  repo.git("add", "-A");
  const how = !sign ? [] : "ssh" in sign ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${sign.ssh}`] : ["-c", "gpg.format=openpgp", "-c", `user.signingkey=${sign.gpg}`];
  sh("git", [...how, "commit", "-q", ...(sign ? ["-S"] : []), "-m", message], { cwd: repo.work, env: { GNUPGHOME: gnupg, GIT_AUTHOR_NAME: "Ada", GIT_AUTHOR_EMAIL: "ada@example.org", GIT_COMMITTER_NAME: "Ada", GIT_COMMITTER_EMAIL: "ada@example.org" } });
  repo.push();
  return repo.head();
}

function setUp(verify: Record<string, unknown> = { ssh_allowed_signers: ALLOWED(), gpg_keyring: join(anchors, "trusted.gpg") }): { repo: TestRepo; env: KontaEnv } {
  const repo = rig.repo();
  const env = rig.env(repo, { repository: { verify } });
  return { repo, env };
}

const running = async () => envOf((await inspect("kt-signed-web-1")) as NonNullable<Awaited<ReturnType<typeof inspect>>>, "V");

describe("signed commits", () => {
  test("a commit signed by an allowed SSH key deploys; status and history name the signer; the idle tick is still one request", async () => {
    const { repo, env } = setUp();
    repo.write({ [FILE]: app("1") });
    const v1 = commit(repo, "v1", { ssh: ADA });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect(await running()).toBe("1");
    const status = JSON.parse((await env.run(["status", "--json"])).stdout);
    expect(status.live.sha).toBe(v1);
    expect(status.live.signer).toMatch(/^ada@example\.org \(ED25519 SHA256:\S+\)$/);
    expect((await env.run(["status"])).stdout).toMatch(/^signed by  ada@example\.org \(ED25519 SHA256:/m);
    const history = JSON.parse((await env.run(["history", "--json"])).stdout);
    expect(history[0].signer).toBe(status.live.signer);
    const before = rig.git.requests.length;
    expect((await env.run(["sync"])).stdout).toContain("up to date");
    expect(rig.git.requests.length - before).toBe(1);
  });

  test("unsigned, an unknown key, an expired key, a principal no longer allowed, a forged object: exit 2, nothing changed, remembered; the live release's failure.sh runs, never the refused one's", async () => {
    const { repo, env } = setUp();
    repo.write({ [FILE]: app("1"), ...hooks("v1") });
    commit(repo, "v1", { ssh: ADA });
    expect((await env.run(["sync"])).code).toBe(0);
    const refuse = async (sha: string, reason: RegExp) => {
      const r = await env.run(["sync"]);
      expect({ sha: sha.slice(0, 12), code: r.code, all: r.all }).toMatchObject({ sha: sha.slice(0, 12), code: 2 });
      expect(r.all).toMatch(reason);
      expect(r.all).toContain(sha.slice(0, 12));
      expect(await running()).toBe("1");
      expect(env.readState().failed.sha).toBe(sha);
      // not retried by the timer
      expect((await env.run(["sync"])).all).toContain(`skipping ${sha.slice(0, 12)}`);
      // never even checked out
      expect(existsSync(join(env.state, "releases", sha))).toBe(false);
    };

    repo.write({ [FILE]: app("2"), ...hooks("v2") });
    await refuse(commit(repo, "unsigned"), /is not signed, and repository\.verify asks for a signature/);
    repo.write({ [FILE]: app("3"), ...hooks("v3") });
    await refuse(commit(repo, "eve's", { ssh: EVE }), /signed with an SSH key that .*allowed_signers does not allow/);
    repo.write({ [FILE]: app("4"), ...hooks("v4") });
    await refuse(commit(repo, "bob's key is not trusted for SSH, mallory's not at all", { gpg: mallory }), /OpenPGP key that .*trusted\.gpg does not hold/);

    // Ada's key expired before she signed (valid-before in the past)
    allow(`ada@example.org namespaces="git",valid-before="20200101" ${readFileSync(`${ADA}.pub`, "utf8").trim()}`);
    repo.write({ [FILE]: app("5"), ...hooks("v5") });
    await refuse(commit(repo, "expired", { ssh: ADA }), /does not allow \(or not at the time it was signed\)/);
    // Ada is no longer allowed at all
    allow(`bob@example.org namespaces="git" ${readFileSync(`${EVE}.pub`, "utf8").trim()}`);
    repo.write({ [FILE]: app("6"), ...hooks("v6") });
    await refuse(commit(repo, "revoked", { ssh: ADA }), /does not allow/);
    allow(`ada@example.org namespaces="git" ${readFileSync(`${ADA}.pub`, "utf8").trim()}`);

    // a forged object: a signed commit's message and tree changed, its signature kept
    repo.write({ [FILE]: app("7"), ...hooks("v7") });
    const good = commit(repo, "good", { ssh: ADA });
    repo.write({ [FILE]: app("evil"), ...hooks("evil") });
    repo.git("add", "-A");
    const evilTree = repo.git("write-tree");
    const raw = repo.git("cat-file", "commit", good).replace(/^tree [0-9a-f]{40}$/m, `tree ${evilTree}`).replace(/\n\ngood$/, "\n\ngood, but not what was signed");
    writeFileSync(join(repo.work, ".git", "forged"), `${raw}\n`);
    const forged = repo.git("hash-object", "-w", "-t", "commit", join(repo.work, ".git", "forged"));
    repo.git("update-ref", "HEAD", forged);
    repo.push(true);
    await refuse(forged, /signature does not match its content/);

    // through everything, only the live release's failure.sh ran (once per refusal)
    const ran = (v: string) => existsSync(join(env.state, `ran-failure-${v}`));
    expect(ran("v1")).toBe(true);
    expect(["v2", "v3", "v4", "v5", "v6", "v7", "evil"].filter(ran)).toEqual([]);
    // a trusted commit after all that deploys
    repo.write({ [FILE]: app("8"), ...hooks("v8") });
    commit(repo, "v8", { ssh: ADA });
    expect((await env.run(["sync"])).code).toBe(0);
    expect(await running()).toBe("8");
  }, 180_000);

  test("OpenPGP: a commit signed by a key of the keyring deploys; the signer is the key", async () => {
    const { repo, env } = setUp({ gpg_keyring: join(anchors, "trusted.gpg") });
    repo.write({ [FILE]: app("1") });
    commit(repo, "v1", { gpg: bob });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect(env.readState().current.signer).toBe(`Bob <bob@example.org> (${bob})`);
    // an SSH signature with no allowed-signers file configured: refused, saying so
    repo.write({ [FILE]: app("2") });
    commit(repo, "v2", { ssh: ADA });
    expect((await env.run(["sync"])).all).toContain("the server trusts no such key (repository.verify.ssh_allowed_signers is not set)");
  });

  test("a webhook-triggered run verifies the same way", async () => {
    const { repo, env } = setUp();
    writeFileSync(env.config, `${readFileSync(env.config, "utf8")}webhook:\n  secret: ${WEBHOOK_SECRET}\n`);
    repo.write({ [FILE]: app("1") });
    commit(repo, "v1", { ssh: ADA });
    expect((await env.run(["sync"])).code).toBe(0);
    repo.write({ [FILE]: app("2") });
    const unsigned = commit(repo, "unsigned");
    // a signed push, as GitHub sends it: konta webhook starts the unit (a stand-in systemctl here)
    // and leaves its mark for the run, which then goes as any other
    const push = { ref: "refs/heads/main", after: unsigned };
    const body = JSON.stringify(push);
    const sig = `sha256=${new Bun.CryptoHasher("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
    const hook = await runKonta(env.args("webhook"), {
      input: `POST /hook HTTP/1.1\r\nhost: konta\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-hub-signature-256: ${sig}\r\n\r\n${body}`,
      env: { PATH: `${fakeSystemctl()}:${process.env.PATH}` },
    });
    expect(hook.stdout).toStartWith("HTTP/1.1 202 ");
    expect((await env.run(["sync"])).code).toBe(2);
    const history = JSON.parse((await env.run(["history", "--json"])).stdout);
    expect(history[0]).toMatchObject({ kind: "failure", trigger: "webhook", sha: unsigned });
    expect(await running()).toBe("1");
  });

  test("konta rollback to a release that was not verified is refused; the trust anchors may not be inside the state dir", async () => {
    const repo = rig.repo();
    const env = rig.env(repo);
    repo.write({ [FILE]: app("1") });
    const v1 = commit(repo, "v1 (before verification)");
    expect((await env.run(["sync"])).code).toBe(0);
    env.writeConfig({ repository: { verify: { ssh_allowed_signers: ALLOWED() } } });
    repo.write({ [FILE]: app("2") });
    commit(repo, "v2", { ssh: ADA });
    expect((await env.run(["sync"])).code).toBe(0);
    const rb = await env.run(["rollback", v1.slice(0, 12)]);
    expect(rb.code).toBe(2);
    expect(rb.all).toContain(`release ${v1.slice(0, 12)} was not verified`);
    expect(await running()).toBe("2");

    const inside = join(env.state, "allowed_signers");
    writeFileSync(inside, readFileSync(ALLOWED()));
    env.writeConfig({ repository: { verify: { ssh_allowed_signers: inside } } });
    repo.write({ [FILE]: app("3") });
    commit(repo, "v3", { ssh: ADA });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain("is inside the state dir");
  });
});

describe("repository.tag", () => {
  const tag = (repo: TestRepo, name: string, sign?: string, at = "HEAD") => {
    sh("git", [...(sign ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${sign}`] : []), "tag", ...(sign ? ["-s"] : ["-a"]), "-m", name, name, at], { cwd: repo.work, env: { GIT_COMMITTER_NAME: "Ada", GIT_COMMITTER_EMAIL: "ada@example.org" } });
    repo.git("push", "-q", "--force", repo.bare, `refs/tags/${name}`);
  };

  test("the newest tag in the range deploys, a pre-release is passed over, a new one is taken by the next tick; rollback by tag name; a deleted tag is no order to go back", async () => {
    const repo = rig.repo();
    const env = rig.env(repo, { repository: { tag: ">=1.0.0" }, branch: undefined });
    const write = (v: string) => {
      repo.write({ [FILE]: app(v) });
      return repo.commit(v);
    };
    write("0.9.0");
    tag(repo, "v0.9.0");
    write("1.0.0");
    tag(repo, "v1.0.0");
    const c12 = write("1.2.0");
    tag(repo, "v1.2.0");
    write("2.0.0-rc.1");
    tag(repo, "v2.0.0-rc.1");
    write("main moved on");
    expect((await env.run(["sync"])).code).toBe(0);
    expect(await running()).toBe("1.2.0");
    expect(env.readState().current).toMatchObject({ sha: c12, tag: "v1.2.0" });
    expect((await env.run(["status"])).stdout).toMatch(/^tag        v1\.2\.0$/m);
    expect((await env.run(["sync"])).stdout).toContain("up to date");

    const c13 = write("1.3.0");
    tag(repo, "v1.3.0");
    expect((await env.run(["sync"])).code).toBe(0);
    expect(await running()).toBe("1.3.0");
    const history = JSON.parse((await env.run(["history", "--json"])).stdout);
    expect(history[0]).toMatchObject({ kind: "deploy", sha: c13, tag: "v1.3.0" });

    const rb = await env.run(["rollback", "v1.2.0"]);
    expect({ code: rb.code, all: rb.all }).toMatchObject({ code: 0 });
    expect(await running()).toBe("1.2.0");
    expect((await env.run(["resume"])).code).toBe(0);
    expect((await env.run(["sync"])).code).toBe(0);
    expect(await running()).toBe("1.3.0");

    // v1.3.0 deleted: the newest left (v1.2.0) is older than what runs; nothing goes back
    repo.git("push", "-q", repo.bare, ":refs/tags/v1.3.0");
    const after = await env.run(["sync"]);
    expect(after.code).toBe(0);
    expect(after.all).toContain("tag v1.3.0 that runs is no longer selected; the newest that is, v1.2.0, is older: staying at v1.3.0");
    expect(await running()).toBe("1.3.0");
    // a tag moved to another commit (force-pushed): that commit is deployed
    const moved = write("1.3.0 again");
    repo.git("tag", "-f", "-a", "-m", "v1.3.0", "v1.3.0");
    repo.git("push", "-q", "--force", repo.bare, "refs/tags/v1.3.0");
    expect((await env.run(["sync"])).code).toBe(0);
    expect(env.readState().current).toMatchObject({ sha: moved, tag: "v1.3.0" });
  });

  test("verify.mode tag: a signed annotated tag deploys; unsigned, lightweight, unknown key, expired, revoked or forged tags are refused", async () => {
    const repo = rig.repo();
    const env = rig.env(repo, { repository: { tag: "release-*", verify: { ssh_allowed_signers: ALLOWED(), mode: "tag" } }, branch: undefined });
    repo.write({ [FILE]: app("1") });
    repo.commit("1");
    tag(repo, "release-1", ADA);
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect(env.readState().current.signer).toMatch(/^ada@example\.org/);
    repo.write({ [FILE]: app("2") });
    repo.commit("2");
    tag(repo, "release-2");
    const unsigned = await env.run(["sync"]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.all).toContain("tag release-2");
    expect(unsigned.all).toContain("is not signed");
    repo.write({ [FILE]: app("3") });
    repo.commit("3");
    repo.git("tag", "release-3");
    repo.git("push", "-q", repo.bare, "refs/tags/release-3");
    const light = await env.run(["sync"]);
    expect(light.code).toBe(2);
    expect(light.all).toContain("tag release-3 is a lightweight tag");
    expect(await running()).toBe("1");

    const refused = async (n: number, reason: RegExp) => {
      const r = await env.run(["sync"]);
      expect({ n, code: r.code, all: r.all }).toMatchObject({ n, code: 2 });
      expect(r.all).toContain(`tag release-${n}`);
      expect(r.all).toMatch(reason);
      expect(await running()).toBe("1");
    };
    const next = (n: number) => {
      repo.write({ [FILE]: app(String(n)) });
      repo.commit(String(n));
    };
    next(4);
    tag(repo, "release-4", EVE);
    await refused(4, /SSH key that .*allowed_signers does not allow/);
    allow(`ada@example.org namespaces="git",valid-before="20200101" ${readFileSync(`${ADA}.pub`, "utf8").trim()}`);
    next(5);
    tag(repo, "release-5", ADA);
    await refused(5, /not at the time it was signed/);
    allow(`bob@example.org namespaces="git" ${readFileSync(`${EVE}.pub`, "utf8").trim()}`);
    next(6);
    tag(repo, "release-6", ADA);
    await refused(6, /does not allow/);
    allow(`ada@example.org namespaces="git" ${readFileSync(`${ADA}.pub`, "utf8").trim()}`);

    // a forged tag object: release-1's signed tag, pointed at another commit, its signature kept
    next(7);
    const raw = repo.git("cat-file", "tag", "release-1").replace(/^object [0-9a-f]{40}$/m, `object ${repo.head()}`).replace(/^tag release-1$/m, "tag release-7");
    writeFileSync(join(repo.work, ".git", "forged-tag"), `${raw}\n`);
    const forged = repo.git("hash-object", "-w", "-t", "tag", join(repo.work, ".git", "forged-tag"));
    repo.git("update-ref", "refs/tags/release-7", forged);
    repo.git("push", "-q", "--force", repo.bare, "refs/tags/release-7");
    await refused(7, /signature does not match its content/);

    // a signed tag by a trusted key after all that deploys
    next(8);
    tag(repo, "release-8", ADA);
    expect((await env.run(["sync"])).code).toBe(0);
    expect(await running()).toBe("8");
  }, 180_000);
});
