// Issue "Secrets from where teams keep them": x-konta.secrets fetched at deploy time from an
// OpenBao/Vault KV v2 server (a stand-in written from its API documentation) and from commands
// (real scripts: one that answers, one that hangs, one that fails, one that talks on stderr; and
// the recipes of docs/secrets.md against stand-ins of op, bws, infisical and aws), through the
// binary on the real engine. No value may be found in the plan, the run's output (what the journal
// gets), state, history, status, the page, the metrics or a container label.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";
import { compose, sleeper } from "../support/compose.ts";
import { inspect, sh } from "../support/docker.ts";
import { type KontaEnv, runKonta } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";
import { startVaultStub, type VaultStub } from "../support/vault-stub.ts";

const rig = useRig();
const dir = mkdtempSync(join(tmpdir(), "konta-managed-"));
const bin = join(dir, "bin");
let vault: VaultStub;

const VALUES = { vault: "vault-Alpha-7f3e91c2", exec: "exec-Beta-2b8d44a0", rotated: "vault-Gamma-c0ffee11", recipe: "recipe-Delta-91aa03" };
const TOKEN = "hvs.konta-test-token-5e2";
const WEBHOOK_PASSWORD = "status-page-pw-31";

/** A script in the test's bin folder. */
function script(name: string, body: string): string {
  const f = join(bin, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
}

beforeAll(() => {
  mkdirSync(bin, { recursive: true });
  vault = startVaultStub();
  vault.tokens.add(TOKEN);
  vault.secrets.set("kv/shop", { db_password: VALUES.vault, user: "shop-user-7731" });
  vault.approles.set("role-1", "secret-id-1");
  // answers from a file (one "reference=value" a line), counts its runs, and talks on stderr, value included
  script("pass-get", `ref=$(cat); echo run >> ${join(dir, "pass-runs")}; v=$(grep "^$ref=" ${join(dir, "pass-store")} | cut -d= -f2-); [ -n "$v" ] || { echo "no entry $ref" >&2; exit 1; }; echo "warning: fetched $ref, which is $v" >&2; echo "$v"`);
  writeFileSync(join(dir, "pass-store"), `shop/api=${VALUES.exec}\n`);
  script("hangs", `sleep 60 & echo $! > ${join(dir, "hang-pid")}; wait; echo never`);
  script("fails", 'echo "vault locked: run unlock first" >&2; exit 4');
  // stand-ins of the managers' CLIs, answering as their documentation says they do
  script("op", `[ "$1 $2" = "read --no-newline" ] && [ "$3" = "op://Prod/shop/api-key" ] && printf %s '${VALUES.recipe}-op' || { echo "[ERROR] item not found" >&2; exit 1; }`);
  script("bws", `[ "$1 $2 $3" = "secret get be8e0ad8-d545-4017-a55a-b02f014d4158" ] || exit 1; printf '{\\n  "object": "secret",\\n  "id": "be8e0ad8-d545-4017-a55a-b02f014d4158",\\n  "key": "SES_KEY",\\n  "value": "${VALUES.recipe}-bws",\\n  "note": ""\\n}\\n'`);
  script("infisical", `[ "$1 $2 $3" = "secrets get DB_URL" ] && echo '${VALUES.recipe}-infisical' || exit 1`);
  script("aws", `[ "$1 $2" = "secretsmanager get-secret-value" ] && [ "$4" = "prod/shop/db" ] && echo '${VALUES.recipe}-aws' || exit 254`);
});
afterAll(() => {
  vault?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const providers = (extra: Record<string, unknown> = {}) => ({
  bao: { type: "bao", url: vault.url, token: TOKEN, timeout: 5 },
  pass: { command: [join(bin, "pass-get")], timeout: 5 },
  ...extra,
});
const PATH = { env: { PATH: `${bin}:${process.env.PATH}` } };

const SHOP = (v: string) =>
  compose({
    "x-konta": { secrets: { DB_PASSWORD: "bao:kv/shop#db_password", DB_USER: "bao:kv/shop#user" } },
    services: {
      web: sleeper({ environment: { DB_PASSWORD: "${DB_PASSWORD}", DB_USER: "${DB_USER}", V: v } }),
      other: sleeper({ environment: { V: v } }),
    },
  });
const API = compose({
  "x-konta": { secrets: { API_KEY: "pass:shop/api" } },
  services: { api: sleeper({ secrets: ["api_key"] }) },
  secrets: { api_key: { environment: "API_KEY" } },
});

const id = async (name: string) => ((await inspect(name)) as { Id: string } | undefined)?.Id;
const envOf = async (name: string) => ((await inspect(name)) as { Config: { Env: string[] } }).Config.Env;

/**
 * Every file under `root`, as text, but those under `except`: <state>/secrets holds the files a
 * deploy writes for Compose secrets (0444 in a 0700 folder), bind-mounted as /run/secrets/<name>:
 * the value's destination, as the container's environment is.
 */
function filesUnder(root: string, except: string[] = []): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root)) {
    const p = join(root, e);
    if (except.includes(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p, except));
    else if (st.isFile()) out.push(readFileSync(p, "latin1"));
  }
  return out;
}

describe("x-konta.secrets", () => {
  let env: KontaEnv;
  let repo: ReturnType<typeof rig.repo>;
  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const r = await env.run(args, PATH);
    outputs.push(r.all);
    return r;
  };

  test("deployed with values from OpenBao and from a command (one request per secret, none shown, none asked by an idle tick); a rotation recreates exactly its service; a manager down changes nothing; no value anywhere", async () => {
    repo = rig.repo();
    env = rig.env(repo, { sections: { secrets: { providers: providers() }, webhook: { secret: "webhook-secret-for-managed-1" }, status: { password: WEBHOOK_PASSWORD } } });
    // the token goes in encrypted, through the command an operator uses
    const stored = await runKonta(env.args("token", "set", "--provider", "bao"), { input: `${TOKEN}\n` });
    expect(stored.code, stored.all).toBe(0);
    expect(readFileSync(env.config, "utf8")).toMatch(/token: enc:v1:/);
    repo.write({ "apps/kt-sec-shop/docker-compose.yml": SHOP("1"), "apps/kt-sec-api/docker-compose.yml": API }).commit("shop and api");

    const plan = await run(["plan"]);
    expect(plan.code, plan.all).toBe(10);
    const runs = () => readFileSync(join(dir, "pass-runs"), "utf8").trim().split("\n").length;
    const [readsBefore, runsBefore] = [vault.requests.length, runs()];
    const r = await run(["sync"]);
    expect(r.code, r.all).toBe(0);
    expect(await envOf("kt-sec-shop-web-1")).toContain(`DB_PASSWORD=${VALUES.vault}`);
    expect(await envOf("kt-sec-shop-web-1")).toContain("DB_USER=shop-user-7731");
    expect(sh("docker", ["exec", "kt-sec-api-api-1", "cat", "/run/secrets/api_key"])).toBe(VALUES.exec);
    // one read of kv/shop for its two fields, with the token from the config; one run of the command
    const reads = vault.requests.slice(readsBefore);
    expect(reads.map((q) => [q.path, q.token])).toEqual([["/v1/kv/data/shop", TOKEN]]);
    expect(runs() - runsBefore).toBe(1);
    // what the command said on stderr is logged, the value masked
    expect(r.all).toContain("warning: fetched shop/api, which is ***");

    const before = [vault.requests.length, runs()];
    const idle = await run(["sync"]);
    expect(idle.stdout).toContain("up to date");
    expect([vault.requests.length, runs()]).toEqual(before);

    // a rotated value: an idle tick leaves it, konta sync --now recreates exactly the service that uses it
    const ids = { web: await id("kt-sec-shop-web-1"), other: await id("kt-sec-shop-other-1"), api: await id("kt-sec-api-api-1") };
    vault.secrets.set("kv/shop", { db_password: VALUES.rotated, user: "shop-user-7731" });
    expect((await run(["sync"])).stdout).toContain("up to date");
    expect(await id("kt-sec-shop-web-1")).toBe(ids.web as string);
    const now = await run(["sync", "--now"]);
    expect(now.code, now.all).toBe(0);
    expect(now.all).toContain("secrets: a value of kt-sec-shop (DB_PASSWORD, DB_USER) changed in its secret manager");
    expect(await id("kt-sec-shop-web-1")).not.toBe(ids.web as string);
    expect(await envOf("kt-sec-shop-web-1")).toContain(`DB_PASSWORD=${VALUES.rotated}`);
    expect({ other: await id("kt-sec-shop-other-1"), api: await id("kt-sec-api-api-1") }).toEqual({ other: ids.other, api: ids.api });
    // nothing changed since: --now again changes nothing
    const again = await run(["sync", "--now"]);
    expect(again.all).not.toContain("changed in its secret manager");
    expect(await id("kt-sec-shop-other-1")).toBe(ids.other as string);
    // secrets.refresh_interval: an idle tick asks again once it has passed (the clock moved on with libfaketime)
    const cfg = parseDocument(readFileSync(env.config, "utf8"));
    cfg.setIn(["secrets", "refresh_interval"], 60);
    writeFileSync(env.config, cfg.toString());
    vault.secrets.set("kv/shop", { db_password: VALUES.vault, user: "shop-user-7731" });
    const asked = vault.requests.length;
    expect((await run(["sync"])).stdout).toContain("up to date");
    expect(vault.requests.length).toBe(asked);
    const due = await env.run(["sync"], { env: { ...PATH.env, LD_PRELOAD: "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", FAKETIME: "+2m" } });
    outputs.push(due.all);
    expect(due.code, due.all).toBe(0);
    expect(due.all).toContain("secrets: a value of kt-sec-shop (DB_PASSWORD, DB_USER) changed in its secret manager");
    expect(await envOf("kt-sec-shop-web-1")).toContain(`DB_PASSWORD=${VALUES.vault}`);

    // a manager sealed, refusing the server's token, or down: exit 3, nothing changed, the commit not blamed; it goes once the manager is back
    const ids2 = { web: await id("kt-sec-shop-web-1"), api: await id("kt-sec-api-api-1") };
    const sha = repo.write({ "apps/kt-sec-shop/docker-compose.yml": SHOP("2") }).commit("v2");
    vault.sealed = true;
    const sealed = await run(["sync"]);
    expect({ code: sealed.code }).toEqual({ code: 3 });
    expect(sealed.all).toContain("is sealed");
    vault.sealed = false;
    vault.denied.add("kv/shop");
    const denied = await run(["sync"]);
    expect({ code: denied.code }).toEqual({ code: 3 });
    expect(denied.all).toContain("refused to read kv/shop: 403 permission denied");
    vault.denied.clear();
    writeFileSync(env.config, readFileSync(env.config, "utf8").replace(vault.url, "http://127.0.0.1:9"));
    const down = await run(["sync"]);
    expect({ code: down.code }).toEqual({ code: 3 });
    expect(down.all).toContain("cannot be reached");
    expect(env.readState().failed).toBeUndefined();
    expect({ web: await id("kt-sec-shop-web-1"), api: await id("kt-sec-api-api-1") }).toEqual(ids2);
    writeFileSync(env.config, readFileSync(env.config, "utf8").replace("http://127.0.0.1:9", vault.url));
    const back = await run(["sync"]);
    expect(back.code, back.all).toBe(0);
    expect(env.readState().current.sha).toBe(sha);
    expect(await id("kt-sec-api-api-1")).toBe(ids2.api as string);

    // no value anywhere: plan and run output, state dir, history, status, the page, the metrics, container labels
    const status = await run(["status", "--json"]);
    const history = await run(["history", "--json"]);
    const page = await runKonta(env.args("webhook"), { input: `GET / HTTP/1.1\r\nhost: konta\r\nauthorization: Basic ${Buffer.from(`x:${WEBHOOK_PASSWORD}`).toString("base64")}\r\n\r\n` });
    const metrics = await runKonta(env.args("webhook"), { input: `GET /metrics HTTP/1.1\r\nhost: konta\r\nauthorization: Basic ${Buffer.from(`x:${WEBHOOK_PASSWORD}`).toString("base64")}\r\n\r\n` });
    expect(page.stdout).toStartWith("HTTP/1.1 200");
    const planJson = await run(["plan", "--json"]);
    const labels = ["kt-sec-shop-web-1", "kt-sec-shop-other-1", "kt-sec-api-api-1"].map(async (n) => JSON.stringify(((await inspect(n)) as { Config: { Labels: unknown } }).Config.Labels));
    const haystacks = [...outputs, status.all, history.all, page.all, metrics.all, planJson.all, ...(await Promise.all(labels)), ...filesUnder(env.state, [join(env.state, "secrets")]), readFileSync(env.config, "utf8")];
    for (const value of [VALUES.vault, VALUES.rotated, VALUES.exec, TOKEN]) {
      expect({ value, found: haystacks.filter((h) => h.includes(value)).map((h) => h.slice(0, 120)) }).toEqual({ value, found: [] });
    }
  }, 300_000);
});

describe("x-konta.secrets refused, and the exec protocol's failures", () => {
  const APP = (ref: string) => compose({ "x-konta": { secrets: { TOKEN_X: ref } }, services: { s: sleeper({ environment: { T: "${TOKEN_X}" } }) } });

  test("a provider the server does not have, or a misspelt reference: exit 2 at the file and line, no manager asked; konta check says so too, without asking", async () => {
    const repo = rig.repo();
    const env = rig.env(repo, { sections: { secrets: { providers: providers() } } });
    repo.write({ "apps/kt-sec-bad/docker-compose.yml": APP("vault:kv/shop#db_password") }).commit("unknown provider");
    const before = vault.requests.length;
    const r = await env.run(["sync"], PATH);
    expect({ code: r.code }).toEqual({ code: 2 });
    expect(r.all).toContain('apps/kt-sec-bad/docker-compose.yml:3: x-konta.secrets.TOKEN_X: provider "vault" is not configured on this server (secrets.providers in its config; it has: bao, pass)');
    const check = await runKonta(["check", repo.work, "--config", env.config]);
    expect(check.code).toBe(2);
    expect(check.all).toContain('provider "vault" is not configured on this server');
    expect(vault.requests.length).toBe(before);
    // without a config, any provider is accepted, and the note says where the value comes from
    const loose = await runKonta(["check", repo.work]);
    expect(loose.code, loose.all).toBe(0);
    expect(loose.all).toContain("TOKEN_X is fetched from vault:kv/shop#db_password by the deploy");

    repo.write({ "apps/kt-sec-bad/docker-compose.yml": APP("bao kv/shop") }).commit("no provider");
    const malformed = await env.run(["sync"], PATH);
    expect({ code: malformed.code }).toEqual({ code: 2 });
    expect(malformed.all).toContain('x-konta.secrets.TOKEN_X: must be "<provider>:<reference>"');
  }, 120_000);

  test("a secret that is not there (404, a missing field): exit 2 naming the reference; AppRole login reads with its own token", async () => {
    const repo = rig.repo();
    const env = rig.env(repo, { sections: { secrets: { providers: providers({ bao: { type: "bao", url: vault.url, approle: { role_id: "role-1", secret_id: "secret-id-1" } } }) } } });
    repo.write({ "apps/kt-sec-404/docker-compose.yml": APP("bao:kv/nothing#x") }).commit("404");
    const missing = await env.run(["sync"], PATH);
    expect({ code: missing.code }).toEqual({ code: 2 });
    expect(missing.all).toContain("x-konta.secrets: bao:kv/nothing#x: bao has no secret at kv/nothing (404)");
    expect(vault.requests.at(-2)?.path).toBe("/v1/auth/approle/login");
    repo.write({ "apps/kt-sec-404/docker-compose.yml": APP("bao:kv/shop#nope") }).commit("no field");
    const field = await env.run(["sync"], PATH);
    expect({ code: field.code }).toEqual({ code: 2 });
    expect(field.all).toContain('has no text field "nope" (it has: db_password, user)');
    repo.write({ "apps/kt-sec-404/docker-compose.yml": APP("bao:kv/shop#user") }).commit("good");
    const good = await env.run(["sync"], PATH);
    expect(good.code, good.all).toBe(0);
    expect(await envOf("kt-sec-404-s-1")).toContain("T=shop-user-7731");
    expect(vault.requests.at(-1)?.token).toMatch(/^hvs\.approle-\d+-token$/);
  }, 120_000);

  test("a command that hangs is killed after its timeout, one that fails shows its stderr: exit 3, nothing changed", async () => {
    const repo = rig.repo();
    const env = rig.env(repo, { sections: { secrets: { providers: { slow: { command: [join(bin, "hangs")], timeout: 2 }, broken: { command: [join(bin, "fails")] } } } } });
    repo.write({ "apps/kt-sec-x/docker-compose.yml": APP("slow:anything") }).commit("hangs");
    const hung = await env.run(["sync"], PATH);
    expect({ code: hung.code }).toEqual({ code: 3 });
    expect(hung.all).toContain("could not give slow:anything: no answer within 2 s (killed)");
    // its child went with it (gone, or a zombie nobody reaped yet), not left sleeping
    const pid = readFileSync(join(dir, "hang-pid"), "utf8").trim();
    const stat = sh("sh", ["-c", `cat /proc/${pid}/stat 2>/dev/null || true`]);
    expect(stat === "" || stat.split(" ")[2] === "Z").toBe(true);
    repo.write({ "apps/kt-sec-x/docker-compose.yml": APP("broken:anything") }).commit("fails");
    const failed = await env.run(["sync"], PATH);
    expect({ code: failed.code }).toEqual({ code: 3 });
    expect(failed.all).toContain("could not give broken:anything: exited with 4: vault locked: run unlock first");
    expect(await id("kt-sec-x-s-1")).toBeUndefined();
    expect(env.readState().failed).toBeUndefined();
  }, 120_000);

  test("the recipes of docs/secrets.md (1Password, Bitwarden, Infisical, AWS) against stand-ins of their CLIs", async () => {
    const doc = readFileSync(join(import.meta.dir, "../../docs/secrets.md"), "utf8");
    const block = /<!-- recipes -->\n```yaml\n([\s\S]*?)```\n<!-- \/recipes -->/.exec(doc)?.[1] as string;
    const recipes = (parse(block) as { secrets: { providers: Record<string, unknown> } }).secrets.providers;
    expect(Object.keys(recipes).sort()).toEqual(["aws", "bws", "infisical", "op"]);
    const repo = rig.repo();
    const env = rig.env(repo, { sections: { secrets: { providers: recipes } } });
    repo
      .write({
        "apps/kt-sec-recipes/docker-compose.yml": compose({
          "x-konta": { secrets: { OP: "op:Prod/shop/api-key", BWS: "bws:be8e0ad8-d545-4017-a55a-b02f014d4158", INF: "infisical:DB_URL", AWS: "aws:prod/shop/db" } },
          services: { s: sleeper({ environment: { OP: "${OP}", BWS: "${BWS}", INF: "${INF}", AWS: "${AWS}" } }) },
        }),
      })
      .commit("recipes");
    const r = await env.run(["sync"], PATH);
    expect(r.code, r.all).toBe(0);
    const e = await envOf("kt-sec-recipes-s-1");
    for (const [k, tool] of [["OP", "op"], ["BWS", "bws"], ["INF", "infisical"], ["AWS", "aws"]]) expect(e).toContain(`${k}=${VALUES.recipe}-${tool}`);
    expect(r.all).not.toContain(VALUES.recipe);
  }, 120_000);
});
