// Coming from the original Konta (Go): its config files, repository layout (`path: vps0/apps`,
// hooks in vps0/hooks), hooks reading `$1`, `konta.rolling`, auto-created external networks, its
// state.json; and state that heals itself when it is lost.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, httpService, sleeper } from "../support/compose.ts";
import { engine, execIn, freePort, inspect } from "../support/docker.ts";
import { startGitServer } from "../support/git-server.ts";
import { TestRepo } from "../support/repo.ts";
import { TOKEN, useRig } from "../support/rig.ts";
import { KontaEnv } from "../support/konta.ts";

const rig = useRig();

/** The three shapes the original writes or documents, with `url` and `token` filled in. */
const ORIGINAL_CONFIGS: Record<string, (url: string) => string> = {
  // what `konta bootstrap` saves (yaml.Marshal of its Config)
  bootstrap: (url) => `version: v1
repository:
  url: ${url}
  branch: main
  token: ${TOKEN}
  path: vps0/apps
  interval: 120
deploy:
  project_name_hash_mode: rolling_only
  rolling_health_timeout_second: 300
  rolling_health_retries: 1
  auto_create_external_networks: true
  self_heal:
    enable: true
  github_deployments:
    enable: true
    environment: production
logging:
  level: info
release_channel: stable
konta_updates: notify
`,
  // its README's example
  readme: (url) => `version: v1

# Connection and infrastructure directory parameters
repository:
  url: ${url}
  token: ${TOKEN}
  branch: main
  path: vps0/apps
  interval: 60

deploy:
  project_name_hash_mode: rolling_only
  rolling_health_timeout_second: 300
  rolling_health_retries: 1
  self_heal:
    enable: true
    max_retry: 0
  github_deployments:
    enable: true
    environment: production

logging:
  level: info
`,
  // its user guide's: hook file names, atomic deploys, orphans removed
  guide: (url) => `version: v1
repository:
  url: ${url}
  branch: main
  token: ${TOKEN}
  path: vps0/apps
  interval: 120
deploy:
  atomic: true
  remove_orphans: true
  parallel: true
hooks:
  started: started.sh
  pre: pre.sh
  success: success.sh
  failure: failure.sh
  post_update: post_update.sh
logging:
  level: debug
  format: text
`,
};

function originalEnv(repo: TestRepo, text: string): KontaEnv {
  const env = rig.env(repo);
  writeFileSync(env.config, text.replaceAll("URL", rig.git.repoUrl(repo.name)));
  chmodSync(env.config, 0o600);
  return env;
}

describe("the original Konta's config files and repository layout deploy unchanged", () => {
  for (const [style, config] of Object.entries(ORIGINAL_CONFIGS)) {
    test(`${style} config, vps0/apps layout, hooks reading $1`, async () => {
      const out = mkdtempSync(join(tmpdir(), "konta-orig-hook-"));
      try {
        const repo = rig.repo();
        const sha = repo
          .write({
            "vps0/apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper() } }),
            "vps0/hooks/success.sh": { content: `#!/bin/bash\nprintf '%s' "$1" > ${out}/success\n`, mode: 0o755 },
            "vps0/hooks/failure.sh": { content: `#!/bin/bash\nprintf '%s' "$1" > ${out}/failure\n`, mode: 0o755 },
          })
          .commit("as the original lays it out");
        const env = originalEnv(repo, config("URL"));
        const r = await env.run(["sync"]);
        expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
        expect(r.all).toContain(`deployed ${sha.slice(0, 12)}`);
        expect(r.all).toContain("setting of the original Konta, ignored: logging");
        expect(r.all).toContain("repository.token is stored in plain text; run `konta token set`");
        expect(r.all).not.toContain(TOKEN);
        expect((await inspect("kt-orig-web-1"))?.State.Running).toBe(true);
        expect(JSON.parse(readFileSync(join(out, "success"), "utf8"))).toEqual({ updated: [], added: ["kt-orig"], removed: [], started: [] });

        // failure.sh gets the error as $1
        repo.write({ "vps0/apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper({ image: "konta-test/absent:1", pull_policy: "never" }) } }) }).commit("bad");
        const failed = await env.run(["sync"]);
        expect(failed.code).not.toBe(0);
        expect(readFileSync(join(out, "failure"), "utf8")).toContain("konta-test/absent:1");
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }

  test("typos stay errors; deploy.parallel: true and remove_orphans map onto today's keys", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("c");
    const env = originalEnv(repo, `version: v1\nrepository:\n  url: URL\n  token: ${TOKEN}\ndeploy:\n  remove_orphan: true\n`);
    const typo = await env.run(["plan"]);
    expect(typo.code).toBe(2);
    expect(typo.all).toContain("remove_orphan");
    writeFileSync(env.config, `version: v1\nrepository:\n  url: ${rig.git.repoUrl(repo.name)}\n  token: ${TOKEN}\ndeploy:\n  remove_orphans: false\n  parallel: true\n`);
    const ok = await env.run(["sync"]);
    expect(ok.code).toBe(0);
  });
});

describe("labels and networks as the original treats them", () => {
  test("konta.rolling: true starts the new container before the old one goes (start-first)", async () => {
    const repo = rig.repo();
    const web = (v: string) => compose({ services: { web: sleeper({ labels: { "konta.managed": "true", "konta.rolling": "true" }, environment: { V: v } }) } });
    repo.write({ "apps/kt-orig/docker-compose.yml": web("1") }).commit("v1");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    const before = (await inspect("kt-orig-web-1"))?.Id;
    repo.write({ "apps/kt-orig/docker-compose.yml": web("2") }).commit("v2");
    const plan = await env.run(["plan"]);
    expect(plan.code).toBe(10);
    expect(plan.stdout).toContain("recreate web (config changed; start-first)");
    const r = await env.run(["sync", "--now"]);
    expect(r.code).toBe(0);
    expect(r.all).toContain("start-first");
    expect((await inspect("kt-orig-web-1"))?.Id).not.toBe(before);
  });

  test("a missing external network is created (labelled as Konta's); with auto_create_external_networks: false it blocks", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper() }, networks: { default: { name: "kt-orig-shared", external: true } } }) }).commit("c");
    const off = rig.env(repo, { deploy: { auto_create_external_networks: false } });
    const blocked = await off.run(["sync"]);
    expect(blocked.code).toBe(2);
    expect(blocked.all).toContain('external network "kt-orig-shared" does not exist');
    const on = rig.env(repo);
    const r = await on.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const net = await engine<{ Labels: Record<string, string> }>("/networks/kt-orig-shared");
    expect(net.Labels).toMatchObject({ "konta.managed": "true", "konta.external": "true" });
    expect(net.Labels["com.docker.compose.project"]).toBeUndefined();
    await engine("/networks/kt-orig-shared", { method: "DELETE" }).catch(() => {});
  });

  test("six projects converging at once on one missing external network: it is created once, every project starts", async () => {
    const repo = rig.repo();
    const apps: Record<string, string> = {};
    for (let i = 0; i < 6; i++) apps[`apps/kt-orig${i}/docker-compose.yml`] = compose({ services: { web: sleeper() }, networks: { default: { name: "kt-orig-shared", external: true } } });
    repo.write(apps).commit("c");
    const r = await rig.env(repo, { deploy: { parallel: 6 } }).run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const nets = await engine<{ Name: string }[]>("/networks", { query: { filters: JSON.stringify({ name: ["kt-orig-shared"] }) } });
    expect(nets.filter((n) => n.Name === "kt-orig-shared").length).toBe(1);
    for (let i = 0; i < 6; i++) expect((await inspect(`kt-orig${i}-web-1`))?.State.Running).toBe(true);
    for (let i = 0; i < 6; i++) await engine(`/containers/kt-orig${i}-web-1?force=1`, { method: "DELETE" }).catch(() => {});
    await engine("/networks/kt-orig-shared", { method: "DELETE" }).catch(() => {});
  });
});

describe("state that heals itself", () => {
  test("lose state.json, remove a managed container by hand: the next sync restores it", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper(), db: sleeper() } }) }).commit("c");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    rmSync(join(env.state, "state.json"));
    await engine("/containers/kt-orig-db-1?force=1", { method: "DELETE" });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect((await inspect("kt-orig-db-1"))?.State.Running).toBe(true);
    // and the tick after that is idle again
    expect((await env.run(["sync"])).all).toContain("up to date");
  });

  test("the original's state.json is imported (its last deployed commit), not thrown away", async () => {
    const repo = rig.repo();
    const sha = repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("c");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    writeFileSync(join(env.state, "state.json"), JSON.stringify({ last_commit: sha, last_deploy_time: "2026-01-02T03:04:05Z", version: "0.3.1", projects: { "kt-orig": { last_commit: sha } } }));
    await engine("/containers/kt-orig-web-1?force=1", { method: "DELETE" });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect(r.all).toContain("imported the original Konta's state");
    expect(r.all).not.toContain("corrupt");
    expect((await inspect("kt-orig-web-1"))?.State.Running).toBe(true);
    const status = JSON.parse((await env.run(["status", "--json"])).stdout);
    expect(status.live.sha).toBe(sha);
    expect(existsSync(join(env.state, "state.json"))).toBe(true);
  });
});

describe("any Git host over HTTPS", () => {
  test("repository.username is the HTTP Basic user sent with the token (GitLab's oauth2)", async () => {
    const root = mkdtempSync(join(tmpdir(), "konta-git-user-"));
    const git = await startGitServer({ root, token: TOKEN, username: "oauth2" });
    const repo = new TestRepo(root, "gl");
    try {
      repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("c");
      const env = new KontaEnv({ repoUrl: git.repoUrl("gl"), token: TOKEN });
      const refused = await env.run(["sync"]);
      expect(refused.code).toBe(3);
      expect(refused.all).toContain("authentication failed");
      env.writeConfig({ repository: { username: "oauth2" } });
      const r = await env.run(["sync"]);
      expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
      expect(r.all).not.toContain(TOKEN);
      expect(r.all).not.toContain(Buffer.from(`oauth2:${TOKEN}`).toString("base64"));
      env.dispose();
    } finally {
      await git.close();
      repo.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("found in review", () => {
  test("a managed service that needs an unmanaged one is refused with exit 2, naming both and the remedy", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper({ depends_on: ["db"] }), db: sleeper({ labels: {} }) } }) }).commit("c");
    const env = rig.env(repo);
    const r = await env.run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain('service "web" needs service "db" (depends_on), which is not labelled konta.managed');
    expect(r.all).toContain('label "db" konta.managed: "true", or remove the dependency');
    expect(await inspect("kt-orig-web-1")).toBeUndefined();
  });

  test("a host port moved from one project to another in one commit deploys, whatever their names", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const repo = rig.repo();
    repo.write({ "apps/kt-orig-zz/docker-compose.yml": compose({ services: { web: httpService(p1) } }) }).commit("zz on p1");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    repo
      .write({
        "apps/kt-orig-aa/docker-compose.yml": compose({ services: { web: httpService(p1) } }),
        "apps/kt-orig-zz/docker-compose.yml": compose({ services: { web: httpService(p2) } }),
      })
      .commit("aa takes p1, zz moves to p2");
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect((await inspect("kt-orig-aa-web-1"))?.State.Running).toBe(true);
    expect((await inspect("kt-orig-zz-web-1"))?.State.Running).toBe(true);
  });

  test("two projects asking for the same container_name: exit 2 before anything changes", async () => {
    const repo = rig.repo();
    repo
      .write({
        "apps/kt-orig-a/docker-compose.yml": compose({ services: { web: sleeper({ container_name: "kt-orig-shared-name" }) } }),
        "apps/kt-orig-b/docker-compose.yml": compose({ services: { web: sleeper({ container_name: "kt-orig-shared-name" }) } }),
      })
      .commit("same name twice");
    const r = await rig.env(repo).run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain('container name "kt-orig-shared-name" is asked for by kt-orig-a too');
    expect(await inspect("kt-orig-shared-name")).toBeUndefined();
  });

  test("start-first services applied in parallel: each old container stays until its own replacement is healthy", async () => {
    const repo = rig.repo();
    const rolling = { "konta.managed": "true", "konta.rolling": "true" };
    const app = (v: string) =>
      compose({
        services: {
          slow: sleeper({
            labels: rolling,
            environment: { V: v },
            command: ["sh", "-c", "sleep 3; touch /tmp/ready; exec sleep 3600"],
            healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: "500ms", retries: 30 },
          }),
          fast: sleeper({ labels: rolling, environment: { V: v } }),
        },
      });
    repo.write({ "apps/kt-race/docker-compose.yml": app("1") }).commit("v1");
    const env = rig.env(repo, { deploy: { parallel: 4 } });
    expect((await env.run(["sync"])).code).toBe(0);
    const oldSlow = (await inspect("kt-race-slow-1"))?.Id as string;
    repo.write({ "apps/kt-race/docker-compose.yml": app("2") }).commit("v2");
    const run = env.run(["sync"]);
    let done = false;
    const violations: string[] = [];
    run.then(() => (done = true));
    while (!done) {
      const list = await engine<{ Id: string; State: string; Status: string; Labels: Record<string, string> }[]>("/containers/json", {
        query: { all: 1, filters: JSON.stringify({ label: ["com.docker.compose.project=kt-race", "com.docker.compose.service=slow"] }) },
      });
      const old = list.find((c) => c.Id === oldSlow);
      const fresh = list.find((c) => c.Id !== oldSlow);
      if (!old && fresh && !fresh.Status.includes("(healthy)")) violations.push(fresh.Status);
      await Bun.sleep(50);
    }
    expect((await run).code).toBe(0);
    expect(violations).toEqual([]);
    expect((await inspect("kt-race-slow-1"))?.State.Health?.Status).toBe("healthy");
  });

  test("a failed deploy whose previous release no longer loads is still recorded as failed", async () => {
    const repo = rig.repo();
    const v1 = repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("v1");
    const env = rig.env(repo, { deploy: { health_timeout: 30 } });
    expect((await env.run(["sync"])).code).toBe(0);
    // the live release damaged on disk: the automatic rollback cannot load it
    writeFileSync(join(env.state, "releases", v1, "apps/kt-orig/docker-compose.yml"), "services: [broken\n");
    const v2 = repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper({ command: ["sh", "-c", "exit 3"] }) } }) }).commit("v2");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toContain("automatic rollback impossible");
    const status = JSON.parse((await env.run(["status", "--json"])).stdout);
    expect(status.failed?.sha).toBe(v2);
  });
});

describe("two Konta instances on one engine", () => {
  test("each prunes only what it deployed, and says when a project belongs to the other", async () => {
    const a = rig.repo();
    const b = rig.repo();
    a.write({ "apps/kt-insta/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("a");
    b.write({ "apps/kt-instb/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("b");
    const envA = rig.env(a);
    const envB = rig.env(b);
    expect((await envA.run(["sync"])).code).toBe(0);
    const rb = await envB.run(["sync"]);
    expect({ code: rb.code, all: rb.all }).toMatchObject({ code: 0 });
    expect(rb.all).toContain("kt-insta: deployed by another Konta instance");
    expect((await inspect("kt-insta-web-1"))?.State.Running).toBe(true);
    expect((await inspect("kt-instb-web-1"))?.Config.Labels["konta.instance"]).toMatch(/^[0-9a-f]{12}$/);
    // idle runs of either leave the other's project alone
    expect((await envB.run(["sync"])).all).toContain("up to date");
    expect((await envA.run(["sync"])).all).toContain("up to date");
    // A drops its app: A removes it, B's stays
    a.write({ "apps/kt-insta": null, "apps/kt-insta2/docker-compose.yml": compose({ services: { web: sleeper() } }) }).commit("a2");
    expect((await envA.run(["sync"])).code).toBe(0);
    expect(await inspect("kt-insta-web-1")).toBeUndefined();
    expect((await inspect("kt-instb-web-1"))?.State.Running).toBe(true);
  });
});

describe("data across recreates", () => {
  test("a service's anonymous volume is carried into the recreated container, as Docker Compose does", async () => {
    const repo = rig.repo();
    const svc = (v: string) =>
      compose({ services: { db: sleeper({ command: ["sh", "-c", "[ -f /data/keep ] || echo written-by-v1 > /data/keep; exec sleep 3600"], volumes: ["/data"], environment: { V: v } }) } });
    repo.write({ "apps/kt-anon/docker-compose.yml": svc("1") }).commit("v1");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    const before = await inspect("kt-anon-db-1");
    const volume = before?.Mounts.find((m) => m.Destination === "/data")?.Name;
    expect(volume).toMatch(/^[0-9a-f]{64}$/);
    expect(await execIn("kt-anon-db-1", ["cat", "/data/keep"])).toContain("written-by-v1");

    repo.write({ "apps/kt-anon/docker-compose.yml": svc("2") }).commit("v2: a config change recreates db");
    expect((await env.run(["sync"])).code).toBe(0);
    const after = await inspect("kt-anon-db-1");
    expect(after?.Id).not.toBe(before?.Id);
    expect(after?.Mounts.find((m) => m.Destination === "/data")?.Name).toBe(volume);
    expect(await execIn("kt-anon-db-1", ["cat", "/data/keep"])).toContain("written-by-v1");
    await engine(`/containers/kt-anon-db-1?force=1&v=1`, { method: "DELETE" }).catch(() => {});
    // The recreated container mounts the carried volume by name, so v=1 keeps it, and it has no
    // label for the rig's cleanup to find.
    await engine(`/volumes/${volume}`, { method: "DELETE", query: { force: 1 } }).catch(() => {});
  });
});

describe("DESIGN §8 names", () => {
  test("deploy.target: swarm on an engine that is no Swarm manager is a clear exit 2; target: engine, image_update_interval and konta.image-updates are accepted", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-orig/docker-compose.yml": compose({ services: { web: sleeper({ labels: { "konta.managed": "true", "konta.image-updates": "true" } }) } }) }).commit("c");
    const swarm = rig.env(repo, { deploy: { target: "swarm" } });
    const refused = await swarm.run(["plan"]);
    expect(refused.code).toBe(2);
    expect(refused.all).toContain("deploy.target is swarm, but the engine at /var/run/docker.sock is not a Swarm manager");
    expect(refused.all).toContain("set deploy.target: engine");
    const env = rig.env(repo, { deploy: { target: "engine", image_update_interval: 3600 } });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect(r.all).not.toMatch(/image_update_interval|image-updates|deploy\.target/);
  });
});
