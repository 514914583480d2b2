// Issue "Several repositories on one server": named instances through the compiled binary, beside
// the default one, on the real engine and Git server (the server-box test runs them under their
// own konta@NAME.timer).
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, httpService, sleeper } from "../support/compose.ts";
import { freePort, inspect } from "../support/docker.ts";
import { runKonta } from "../support/konta.ts";
import { TOKEN, useRig } from "../support/rig.ts";

const rig = useRig();

describe("named instances", () => {
  test("two repositories on one engine: each deploys its own; what one owns the other cannot take (exit 2 naming both); status --all; uninstall one", async () => {
    const port = await freePort();
    const infra = rig.repo();
    infra.write({ "apps/kt-inst-web/docker-compose.yml": compose({ services: { web: httpService(port, { container_name: "kt-inst-shop" }) } }) }).commit("infra");
    const client = rig.repo();
    const clientV1 = client.write({ "apps/kt-inst-client/docker-compose.yml": compose({ services: { app: sleeper() } }) }).commit("client v1");
    const main = rig.env(infra);
    // the named instance beside the default one: <config dir>/instances/client.yaml, <state dir>/client
    mkdirSync(join(main.dir, "etc/instances"));
    const clientConfig = join(main.dir, "etc/instances/client.yaml");
    writeFileSync(clientConfig, readFileSync(main.config, "utf8").replace(/url: .*/, `url: ${rig.git.repoUrl(client.name)}`));
    chmodSync(clientConfig, 0o600);
    const env = { KONTA_CONFIG: main.config, KONTA_HOME: main.state };
    const konta = (...args: string[]) => runKonta(args, { env });
    const ok = async (...args: string[]) => {
      const r = await konta(...args);
      if (r.code !== 0) throw new Error(`konta ${args.join(" ")} exited ${r.code}:\n${r.all}`);
      return r;
    };

    await ok("sync");
    await ok("sync", "--instance", "client");
    expect(readFileSync(join(main.state, "client", "state.json"), "utf8")).toContain(clientV1);
    expect((await inspect("kt-inst-client-app-1"))?.State.Running).toBe(true);
    expect((await ok("sync", "--instance", "client")).stdout).toContain("up to date");
    // KONTA_INSTANCE works like --instance
    expect(JSON.parse((await runKonta(["status", "--json"], { env: { ...env, KONTA_INSTANCE: "client" } })).stdout).live.sha).toBe(clientV1);

    const shopId = (await inspect("kt-inst-shop"))?.Id;
    // the client's repository takes the default's project, container name and host port: refused before anything changes
    const grab = client
      .write({
        "apps/kt-inst-web/docker-compose.yml": compose({ services: { other: sleeper() } }),
        "apps/kt-inst-two/docker-compose.yml": compose({ services: { a: sleeper({ container_name: "kt-inst-shop" }), b: httpService(port) } }),
      })
      .commit("takes what is not ours");
    const refused = await konta("sync", "--instance", "client");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('apps/kt-inst-web/docker-compose.yml: project "kt-inst-web" is deployed by instance "default"');
    expect(refused.stderr).toContain(`instance "client" (${clientConfig})`);
    expect(refused.stderr).toContain('container_name "kt-inst-shop"');
    expect(refused.stderr).toContain(`host port 127.0.0.1:${port}/tcp is held by kt-inst-web/web`);
    expect((await inspect("kt-inst-shop"))?.Id).toBe(shopId as string);
    expect(await inspect("kt-inst-two-a")).toBeUndefined();
    expect(JSON.parse(readFileSync(join(main.state, "client", "state.json"), "utf8")).failed.sha).toBe(grab);
    // the default instance keeps deploying
    infra.write({ "apps/kt-inst-web/docker-compose.yml": compose({ services: { web: httpService(port, { container_name: "kt-inst-shop", environment: { V: "2" } }) } }) }).commit("infra v2");
    await ok("sync");

    const all = JSON.parse((await ok("status", "--all", "--json")).stdout) as { name: string; live?: string; failed?: { sha: string }; projects: string[]; timer: string }[];
    expect(all.map((i) => [i.name, i.timer, i.projects])).toEqual([
      ["default", "konta.timer", ["kt-inst-web"]],
      ["client", "konta@client.timer", ["kt-inst-client"]],
    ]);
    expect(all[1]?.failed?.sha).toBe(grab);
    const text = (await ok("status", "--all")).stdout;
    expect(text).toContain("client  (konta@client.timer");
    expect(text).not.toContain(TOKEN);

    // the default's pruning never touches the client's project
    infra.write({ "apps/kt-inst-web/docker-compose.yml": null, "apps/kt-inst-other/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("infra: web removed");
    await ok("sync");
    expect(await inspect("kt-inst-shop")).toBeUndefined();
    expect((await inspect("kt-inst-client-app-1"))?.State.Running).toBe(true);

    // uninstall one (the units of a test dir): its files go with --purge, the other's stay
    const units = mkdtempSync(join(tmpdir(), "konta-units-"));
    await ok("install", "--instance", "client", "--unit-dir", units, "--no-enable", "--binary", "/usr/local/bin/konta");
    expect(readFileSync(join(units, "konta@.service"), "utf8")).toContain("ExecStart=/usr/local/bin/konta sync --instance %i");
    expect(readFileSync(join(units, "konta@client.timer.d/konta-install.conf"), "utf8")).toContain("OnUnitInactiveSec=");
    const un = await ok("uninstall", "--instance", "client", "--purge", "--unit-dir", units, "--no-enable");
    expect(un.stdout).toContain("left the other instances running: default");
    expect(existsSync(clientConfig)).toBe(false);
    expect(existsSync(join(main.state, "client"))).toBe(false);
    expect(existsSync(join(main.state, "state.json"))).toBe(true);
    expect((await ok("sync")).stdout).toContain("up to date");
  });

  test("one webhook socket for every instance: a push starts the unit of the instance whose repository and branch it is, with that instance's secret", async () => {
    const infra = rig.repo();
    const main = rig.env(infra);
    writeFileSync(main.config, `${readFileSync(main.config, "utf8")}webhook:\n  secret: secret-of-the-default-1\n`);
    mkdirSync(join(main.dir, "etc/instances"));
    const staging = join(main.dir, "etc/instances/staging.yaml");
    writeFileSync(staging, `${readFileSync(main.config, "utf8").replace("branch: main", "branch: staging").replace("secret-of-the-default-1", "secret-of-the-staging-2")}`, { mode: 0o600 });
    const bin = mkdtempSync(join(tmpdir(), "konta-fake-systemctl-"));
    writeFileSync(join(bin, "systemctl"), `#!/bin/bash\necho "$*" >> ${bin}/calls\n`, { mode: 0o755 });
    const push = async (secret: string, ref: string) => {
      const body = JSON.stringify({ ref, repository: { clone_url: rig.git.repoUrl(infra.name) } });
      const req = `POST / HTTP/1.1\r\nauthorization: Bearer ${secret}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      return (await runKonta(main.args("webhook"), { input: req, env: { PATH: `${bin}:${process.env.PATH}` } })).stdout.split("\r\n")[0];
    };
    expect(await push("secret-of-the-staging-2", "refs/heads/staging")).toBe("HTTP/1.1 202 Accepted");
    expect(await push("secret-of-the-default-1", "refs/heads/main")).toBe("HTTP/1.1 202 Accepted");
    // the staging secret does not deploy main, nor the default's staging
    expect(await push("secret-of-the-staging-2", "refs/heads/main")).toBe("HTTP/1.1 202 Accepted");
    expect(await push("not-a-secret-of-anyone", "refs/heads/main")).toBe("HTTP/1.1 401 Unauthorized");
    expect(readFileSync(join(bin, "calls"), "utf8")).toBe("start --no-block konta@staging.service\nstart --no-block konta.service\n");
    expect(existsSync(join(main.state, "staging", "webhook-request"))).toBe(true);
  });

  test("a name that would take the default's own files is refused; an instance that is not set up says how to", async () => {
    const main = rig.env(rig.repo());
    const env = { KONTA_CONFIG: main.config, KONTA_HOME: main.state };
    const bad = await runKonta(["status", "--instance", "releases"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"releases" is not an instance name');
    const missing = await runKonta(["sync", "--instance", "nope"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("konta install --instance nope");
  });
});
