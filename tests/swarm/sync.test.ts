// deploy.target: swarm end to end: the compiled binary, a Git server with token auth, and a real
// three-node swarm (one manager, two workers; Konta talks to the manager's socket as it would on
// the manager). Scenarios of issue 21: two stacks spread over the nodes, a change rolled through
// with update_config, a broken image failing the gate and put back, `konta rollback`, drift
// repaired, the idle tick's cost, `konta status` while a worker is down.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../support/docker.ts";
import { type DockerProxy, startDockerProxy } from "../support/docker-proxy.ts";
import type { KontaEnv } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";
import type { TestRepo } from "../support/repo.ts";
import { removeStack, startSwarm, type Swarm, swarmApi } from "../support/swarm.ts";

// the boxes carry the test label: the rig's per-test clean-up of the host engine must not see them
const rig = useRig({ docker: false });
let swarm: Swarm;
let repo: TestRepo;
let env: KontaEnv;
let host: Record<string, string>;
const shas = { v1: "", v2: "", v4: "" };

beforeAll(async () => {
  swarm = await startSwarm(3, "kt-sync-swarm", { registry: true });
  host = { DOCKER_HOST: `unix://${swarm.socket}` };
}, 300_000);

afterAll(() => swarm?.close());

const WEB = (version: string, opts: { image?: string; site?: string; token?: string } = {}) => `services:
  web:
    image: ${opts.image ?? "konta-test/busybox:1"}
    init: true
    command: ["sh", "-c", "cp /etc/site.txt /tmp/index.html && echo ${version} >> /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    environment: { VERSION: "${version}" }
    labels: { konta.managed: "true" }
    configs:
      - source: site
        target: /etc/site.txt
    secrets: [token]
    networks: [front]
    deploy:
      replicas: 3
      placement: { max_replicas_per_node: 1 }
      update_config: { parallelism: 1, delay: 1s, order: stop-first }
      resources: { limits: { memory: 64M } }
networks:
  front: { attachable: true }
configs:
  site:
    file: ./site.txt
secrets:
  token:
    file: ./token.txt
`;

const API = (replicas: number) => `services:
  api:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    labels: { konta.managed: "true" }
    deploy: { replicas: ${replicas} }
  helper:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    labels: { konta.managed: "false" }
`;

function webFiles(version: string, opts: { image?: string; site?: string; token?: string } = {}) {
  return {
    "apps/web/docker-compose.yml": WEB(version, opts),
    "apps/web/site.txt": opts.site ?? "site v1\n",
    "apps/web/token.txt": opts.token ?? "s3cret-1\n",
  };
}

interface Task {
  NodeID: string;
  Status: { State: string };
  Spec: { ContainerSpec: { Env?: string[]; Image: string } };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
}

const tasks = async (service: string) =>
  (await swarmApi<Task[]>(swarm, `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service], "desired-state": ["running"] }))}`)).filter((t) => t.Status.State === "running");

/**
 * The gate of the deploys that must pass, in both repositories: a rolling update of three tasks,
 * one at a time with Swarm's 5 s monitor after each, took over 60 s on a loaded CI machine. A gate
 * only waits until the update converges, so a long one costs nothing when the machine is idle; the
 * tests of a failing gate keep theirs short (a task that cannot start pauses the update).
 */
const GATE_S = 180;
const RUN_MS = (GATE_S + 60) * 1000;

/** Swarm's API polled every 500 ms; 180 s by default, as the gates above. */
const until = (what: string, fn: () => Promise<boolean>, timeoutMs = 180_000) => waitFor(fn, timeoutMs, what, 500);

/**
 * The page web serves, asked of each of its tasks by address from a container on the stack's
 * overlay network (this kernel has no IPVS: no routing mesh, no VIP); every task serves the same.
 */
async function page(): Promise<string> {
  const ips = (await tasks("web_web")).map((t) => t.NetworksAttachments?.find((a) => a.Network.Spec.Name === "web_front")?.Addresses[0]?.split("/")[0]);
  const pages = await swarm.manager.sh(`for ip in ${ips.join(" ")}; do docker run --rm --network web_front konta-test/busybox:1 wget -qO- http://$ip/index.html; done`);
  const distinct = [...new Set(pages.split(/(?<=\n)(?=site)/))];
  expect(distinct.length).toBe(1);
  return distinct[0] as string;
}

const service = (name: string) => swarmApi<{ Version: { Index: number }; Spec: { TaskTemplate: { ContainerSpec: { Image: string; Env: string[] } }; Mode: { Replicated?: { Replicas: number } } }; UpdateStatus?: { State: string } }>(swarm, `/services/${name}`);

describe("deploy.target: swarm, through konta sync", () => {
  test("plan, then the first deploy of two stacks: tasks spread over the nodes, docker stack ls shows them, secrets and configs in place", async () => {
    repo = rig.repo();
    shas.v1 = repo.write({ ...webFiles("v1"), "apps/api/docker-compose.yml": API(2) }).commit("v1");
    env = rig.env(repo, { deploy: { target: "swarm", health_timeout: GATE_S } });

    const plan = await env.run(["plan"], { env: host });
    expect(plan.code).toBe(10);
    expect(plan.stdout).toContain("web (stack):");
    expect(plan.stdout).toContain("+ network web_front");
    expect(plan.stdout).toContain("+ create web");
    expect(plan.stdout).toContain("+ create api");
    expect(plan.stdout).not.toContain("helper");
    expect(plan.all).not.toContain("Swarm-only");

    const r = await env.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain(`deployed ${shas.v1.slice(0, 12)}`);
    expect(r.stdout).toContain("web: added web");
    const web = await tasks("web_web");
    expect(web.length).toBe(3);
    expect(new Set(web.map((t) => t.NodeID)).size).toBe(3);
    expect((await tasks("api_api")).length).toBe(2);
    expect(await swarm.manager.sh("docker stack ls --format '{{.Name}}'")).toBe("api\nweb\n");
    expect(await swarm.manager.sh("docker stack services web --format '{{.Name}} {{.Replicas}}'")).toBe("web_web 3/3 (max 1 per node)\n");
    // only konta.managed services are deployed
    expect(await swarm.manager.sh("docker service ls --format '{{.Name}}' | sort")).toBe("api_api\nweb_web\n");
    expect(await page()).toBe("site v1\nv1\n");
    // the secret, from a task on the manager
    expect(await swarm.manager.sh("docker exec $(docker ps -q -f label=com.docker.swarm.service.name=web_web | head -1) cat /run/secrets/token")).toBe("s3cret-1\n");
    const st = env.readState();
    expect(st.current.sha).toBe(shas.v1);
    expect(Object.keys(st.expected).sort()).toEqual(["api", "web"]);
    expect(st.expected.api.ignored).toEqual(["helper"]);
  }, 480_000);

  test("the idle tick: one Git request and one cheap engine call, nothing written", async () => {
    const proxy: DockerProxy = startDockerProxy(swarm.socket);
    try {
      const before = rig.git.requests.length;
      const r = await env.run(["sync"], { env: { DOCKER_HOST: proxy.host } });
      expect(r.code, r.all).toBe(0);
      expect(r.stdout).toContain(`up to date at ${shas.v1.slice(0, 12)}`);
      expect(rig.git.requests.length - before).toBe(1);
      expect(proxy.writes()).toEqual([]);
      // the version handshake, then one listing of the stacks' services
      const calls = proxy.requests.map((q) => `${q.method} ${q.path.replace(/^\/v[\d.]+/, "").split("?")[0]}`);
      expect(calls).toEqual(["HEAD /_ping", "GET /services"]);
    } finally {
      proxy.close();
    }
  }, 180_000);

});

describe("a second repository on the same swarm (its own Konta instance)", () => {
  let other: TestRepo;
  let otherEnv: KontaEnv;
  const FIX = join(import.meta.dir, "../fixtures/sops");
  const SEC = (check: string) => `services:
  app:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    labels: { konta.managed: "true" }
    secrets: [db_password]
    healthcheck: { test: ["CMD", ${check}], interval: 1s, timeout: 10s, retries: 3 }
    deploy: { mode: global }
  migrate:
    image: konta-test/busybox:1
    command: ["true"]
    labels: { konta.managed: "true" }
    deploy: { mode: replicated-job, replicas: 2 }
  warm:
    image: konta-test/busybox:1
    command: ["true"]
    labels: { konta.managed: "true" }
    deploy: { mode: global-job }
  paused:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    labels: { konta.managed: "true", konta.stopped: "true" }
secrets:
  db_password: { file: ./db.json }
`;

  test("registry credentials go with the service (--with-registry-auth); a task that cannot start fails the gate and the new service is removed", async () => {
    other = rig.repo();
    other.write({ "apps/reg/docker-compose.yml": "services:\n  app:\n    image: registry.invalid:5000/team/app:1\n    labels: { konta.managed: 'true' }\n" }).commit("private image");
    otherEnv = rig.env(other, { deploy: { target: "swarm", health_timeout: 5 } });
    const dockerConfig = join(otherEnv.dir, "docker");
    mkdirSync(dockerConfig);
    writeFileSync(join(dockerConfig, "config.json"), JSON.stringify({ auths: { "registry.invalid:5000": { auth: Buffer.from("bob:pw-s3cret").toString("base64") } } }));
    const proxy = startDockerProxy(swarm.socket);
    try {
      const r = await otherEnv.run(["sync"], { env: { DOCKER_HOST: proxy.host, DOCKER_CONFIG: dockerConfig }, timeoutMs: RUN_MS });
      expect(r.code, r.all).toBe(1);
      expect(r.all).toContain("not converged within 5 s");
      expect(r.all).not.toContain("pw-s3cret");
      const create = proxy.requests.find((q) => q.method === "POST" && q.path.includes("/services/create"));
      const header = create?.headers["x-registry-auth"];
      expect(header).toBeDefined();
      expect(JSON.parse(Buffer.from(header as string, "base64url").toString())).toMatchObject({ username: "bob", password: "pw-s3cret", serveraddress: "registry.invalid:5000" });
      expect(await swarm.manager.sh("docker service ls --format '{{.Name}}' | sort")).toBe("api_api\nweb_web\n");
    } finally {
      proxy.close();
    }
  }, 300_000);

  test("a global service with a SOPS-encrypted secret: a task on every node, the decrypted value inside; jobs run to completion; konta.stopped is 0 replicas; a failing healthcheck fails the gate and is put back", async () => {
    writeFileSync(join(otherEnv.dir, "etc/age.key"), `${readFileSync(join(FIX, "key.txt"), "utf8")}\n`, { mode: 0o600 });
    other.write({ "apps/reg/docker-compose.yml": null, "apps/sec/docker-compose.yml": SEC('"test", "-s", "/run/secrets/db_password"'), "apps/sec/db.json": readFileSync(join(FIX, "secret.enc.json"), "utf8") }).commit("sops secret");
    // the test before wanted a quick failure (5 s); jobs on three nodes need room on a slow machine
    otherEnv.writeConfig({ deploy: { target: "swarm", health_timeout: GATE_S } });
    const r = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    expect((await tasks("sec_app")).length).toBe(3);
    expect(await swarm.manager.sh("docker secret ls --format '{{.Name}}' | grep ^sec_")).toMatch(/^sec_db.json-[0-9a-f]{12}\n$/);
    expect(await swarm.manager.sh("docker exec $(docker ps -q -f label=com.docker.swarm.service.name=sec_app | head -1) cat /run/secrets/db_password")).toContain("this is a secret");
    const completed = async (svc: string) =>
      (await swarmApi<Task[]>(swarm, `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [svc] }))}`)).filter((t) => t.Status.State === "complete").length;
    expect(await completed("sec_migrate")).toBe(2);
    expect(await completed("sec_warm")).toBe(3);
    expect(await swarm.manager.sh("docker service ls --filter name=sec_paused --format '{{.Replicas}}'")).toBe("0/0\n");
    // a finished job is not drift, nor are the other instance's stacks
    const status = (await otherEnv.run(["status"], { env: host })).stdout;
    expect(status).toContain("drift      none");
    expect(status).toMatch(/migrate +2\/2 completed \(job\)/);
    expect(status).toMatch(/paused +stopped \(konta.stopped\)/);
    expect(status).toMatch(/app +3\/3 running/);
    expect((await otherEnv.run(["sync"], { env: host })).stdout).toContain("up to date");

    other.write({ "apps/sec/docker-compose.yml": SEC('"false"') }).commit("failing healthcheck");
    // a healthcheck that always fails never passes: the gate only has to give up
    otherEnv.writeConfig({ deploy: { target: "swarm", health_timeout: 10 } });
    const bad = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(bad.code, bad.all).toBe(1);
    expect(bad.all).toMatch(/rolled back/);
    const svc = await swarmApi<{ Spec: { TaskTemplate: { ContainerSpec: { Healthcheck: { Test: string[] } } } } }>(swarm, "/services/sec_app");
    expect(svc.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test).toEqual(["CMD", "test", "-s", "/run/secrets/db_password"]);
    await until("three healthy tasks", async () => (await tasks("sec_app")).length === 3);
    expect(await swarm.manager.sh("docker service ls --format '{{.Name}}' | sort")).toBe("api_api\nsec_app\nsec_migrate\nsec_paused\nsec_warm\nweb_web\n");
  }, 900_000);

  test("a tag is pinned to its registry digest, the same on every node; a repair keeps the digests, konta.image-updates follows its tag, a new commit takes the moved tag; konta rollback brings back the digests the older release ran", async () => {
    const ref = `${swarm.registry}/team/app:live`;
    const followed = `${swarm.registry}/team/follow:live`;
    const push = async (image: string, to: string) => (await swarm.manager.sh(`docker tag ${image} ${to} && docker push -q ${to} >/dev/null && docker inspect -f '{{index .RepoDigests 0}}' ${to}`)).trim().split("@")[1] as string;
    const [d1, f1] = [await push("konta-test/busybox:1", ref), await push("konta-test/busybox:1", followed)];
    const PIN = (v: string) => `services:
  app:
    image: ${ref}
    command: ["sleep", "3600"]
    environment: { V: "${v}" }
    labels: { konta.managed: "true" }
    deploy: { replicas: 3, placement: { max_replicas_per_node: 1 } }
  follow:
    image: ${followed}
    command: ["sleep", "3600"]
    labels: { konta.managed: "true", konta.image-updates: "true" }
`;
    otherEnv.writeConfig({ deploy: { target: "swarm", health_timeout: GATE_S, image_update_interval: 10 } });
    // (and sec back to the healthcheck that passes: the last commit's failed)
    const pinnedSha = other.write({ "apps/pin/docker-compose.yml": PIN("1"), "apps/sec/docker-compose.yml": SEC('"test", "-s", "/run/secrets/db_password"') }).commit("pinned");
    const r = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    const image = async (name = "pin_app") => (await service(name)).Spec.TaskTemplate.ContainerSpec.Image;
    expect(await image()).toBe(`${ref}@${d1}`);
    expect(await image("pin_follow")).toBe(`${followed}@${f1}`);
    // the workers pulled it from the registry: one task on each node
    expect(new Set((await tasks("pin_app")).map((t) => t.NodeID)).size).toBe(3);

    // both tags move; a repair puts back what ran, not the new images
    const [d2, f2] = [await push("konta-test/busybox:2", ref), await push("konta-test/busybox:2", followed)];
    expect(d2).not.toBe(d1);
    await swarm.manager.sh("docker service scale -d pin_app=1 >/dev/null");
    const repaired = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(repaired.code, repaired.all).toBe(0);
    expect(repaired.stdout).toContain("repaired drift");
    expect([await image(), await image("pin_follow")]).toEqual([`${ref}@${d1}`, `${followed}@${f1}`]);

    // the due check: only the followed tag is taken
    const updated = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(updated.code, updated.all).toBe(0);
    expect(updated.stdout).toContain(`updated ${followed} at`);
    expect([await image(), await image("pin_follow")]).toEqual([`${ref}@${d1}`, `${followed}@${f2}`]);

    // a broken image pushed under the followed tag: the gate fails, the service goes back to f2, the digest is not tried again
    await swarm.manager.sh(`r=$(mktemp -d) && chmod 755 $r && mkdir -p $r/bin && cp /bin/busybox $r/bin/ && ln -s busybox $r/bin/sh && tar -C $r -c . | docker import - konta-test/broken:1 >/dev/null`);
    const broken = await push("konta-test/broken:1", followed);
    await Bun.sleep(10_500); // image_update_interval
    const failed = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(failed.code, failed.all).toBe(1);
    expect(await image("pin_follow")).toBe(`${followed}@${f2}`);
    expect(otherEnv.readState().imageUpdates.failed[followed]).toBe(broken);
    await Bun.sleep(10_500);
    const skipped = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(skipped.code, skipped.all).toBe(0);
    expect(skipped.stdout).toContain("up to date");

    // a new commit resolves every tag again (docker stack deploy does the same)
    await push("konta-test/busybox:2", followed);
    other.write({ "apps/pin/docker-compose.yml": PIN("2") }).commit("pinned, v2");
    const plan = await otherEnv.run(["plan"], { env: host });
    expect(plan.stdout).toContain(`image: "${ref}@${d1}" -> "${ref}@${d2}"`);
    const next = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(next.code, next.all).toBe(0);
    expect(await image()).toBe(`${ref}@${d2}`);
    await until("three tasks of the new image", async () => (await tasks("pin_app")).filter((t) => t.Spec.ContainerSpec.Image === `${ref}@${d2}`).length === 3);

    // konta rollback to "pinned": the digests that release ran last (app d1, follow f2 after its
    // update), not what the tags point at now
    const back = await otherEnv.run(["rollback", pinnedSha], { env: host, timeoutMs: RUN_MS });
    expect(back.code, back.all).toBe(0);
    expect([await image(), await image("pin_follow")]).toEqual([`${ref}@${d1}`, `${followed}@${f2}`]);
    await until("three tasks of the image v1 ran", async () => (await tasks("pin_app")).filter((t) => t.Spec.ContainerSpec.Image === `${ref}@${d1}` && t.Spec.ContainerSpec.Env?.includes("V=1")).length === 3);
    const held = await otherEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(held.stdout).toContain(`held at ${pinnedSha.slice(0, 12)}`);
    expect(held.stdout).not.toContain("drift");
  }, 1_500_000);
});

describe("deploy.target: swarm, through konta sync (continued)", () => {
  test("a change rolls through with update_config; plan shows the changed fields; the old config and secret are removed", async () => {
    const configsBefore = await swarm.manager.sh("docker config ls --format '{{.Name}}' | grep ^web_");
    shas.v2 = repo.write(webFiles("v2", { site: "site v2\n", token: "s3cret-2\n" })).commit("v2");
    const plan = await env.run(["plan"], { env: host });
    expect(plan.code).toBe(10);
    expect(plan.stdout).toContain("~ update web (spec changed)");
    expect(plan.stdout).toContain('environment.VERSION: "v1" -> "v2"');
    expect(plan.stdout).toContain("+ config web_site.txt-");
    expect(plan.stdout).not.toContain("api (stack)");

    const r = await env.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("web: updated web");
    const svc = await service("web_web");
    expect(svc.UpdateStatus?.State).toBe("completed");
    const web = await tasks("web_web");
    expect(web.length).toBe(3);
    for (const t of web) expect(t.Spec.ContainerSpec.Env).toContain("VERSION=v2");
    expect(await page()).toBe("site v2\nv2\n");
    const configsAfter = (await swarm.manager.sh("docker config ls --format '{{.Name}}' | grep ^web_")).trim().split("\n");
    expect(configsAfter.length).toBe(1);
    expect(configsBefore).not.toContain(configsAfter[0] as string);
    expect((await swarm.manager.sh("docker secret ls --format '{{.Name}}' | grep ^web_")).trim().split("\n").length).toBe(1);
  }, 480_000);

  test("a broken image fails the gate: web is put back to v2 and still serves, exit 1, the commit is remembered", async () => {
    const bad = repo.write(webFiles("v3", { image: "konta-test/nope:1", site: "site v2\n", token: "s3cret-2\n" })).commit("broken image");
    const r = await env.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(1);
    expect(r.all).toMatch(/rolled back/);
    const svc = await service("web_web");
    expect(svc.Spec.TaskTemplate.ContainerSpec.Image).toBe("konta-test/busybox:1");
    expect(svc.Spec.TaskTemplate.ContainerSpec.Env).toContain("VERSION=v2");
    await until("three v2 tasks", async () => (await tasks("web_web")).length === 3);
    expect(await page()).toBe("site v2\nv2\n");
    const st = env.readState();
    expect(st.failed.sha).toBe(bad);
    expect(st.current.sha).toBe(shas.v2);
    // a timer run does not retry it
    const again = await env.run(["sync"], { env: host });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`skipped ${bad.slice(0, 12)}`);
    // what Konta put back is not drift
    expect(again.stdout).toContain(`up to date at ${shas.v2.slice(0, 12)}`);
  }, 480_000);

  test("konta rollback to v1 puts the services of v1 back and holds there", async () => {
    const r = await env.run(["rollback", shas.v1], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    await until("three v1 tasks", async () => (await tasks("web_web")).every((t) => t.Spec.ContainerSpec.Env?.includes("VERSION=v1")) && (await tasks("web_web")).length === 3);
    expect(await page()).toBe("site v1\nv1\n");
    const st = env.readState();
    expect(st.current.sha).toBe(shas.v1);
    expect(st.hold.sha).toBe(shas.v1);
    const idle = await env.run(["sync"], { env: host });
    expect(idle.code).toBe(0);
    expect(idle.stdout).toContain(`held at ${shas.v1.slice(0, 12)}`);
    // a new commit lifts the hold
    shas.v4 = repo.write(webFiles("v4", { site: "site v2\n", token: "s3cret-2\n" })).commit("v4");
    const next = await env.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(next.code, next.all).toBe(0);
    expect(await page()).toBe("site v2\nv4\n");
  }, 720_000);

  test("drift: api scaled by hand, then changed by hand: status shows it, the next sync repairs it", async () => {
    await swarm.manager.sh("docker service scale -d api_api=1 >/dev/null");
    const status = await env.run(["status"], { env: host });
    expect(status.stdout).toContain("api/api: api_api: scaled to 1, should be 2");
    const r = await env.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("repaired drift");
    expect((await service("api_api")).Spec.Mode.Replicated?.Replicas).toBe(2);
    await until("two api tasks", async () => (await tasks("api_api")).length === 2);

    await swarm.manager.sh("docker service update -d --env-add BY_HAND=1 api_api >/dev/null");
    const plan = await env.run(["plan"], { env: host });
    expect(plan.code).toBe(10);
    expect(plan.stdout).toContain("drift api/api: api_api: changed by hand");
    const repaired = await env.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(repaired.code, repaired.all).toBe(0);
    expect((await service("api_api")).Spec.TaskTemplate.ContainerSpec.Env ?? []).not.toContain("BY_HAND=1");
    const idle = await env.run(["sync"], { env: host });
    expect(idle.stdout).toContain("up to date");
  }, 720_000);

  test("a worker stops: Swarm moves its api task, konta status shows the node down and where the tasks run; no drift", async () => {
    // a worker that runs one of api's tasks
    const nodes = await swarmApi<{ ID: string; Description: { Hostname: string }; Spec: { Role: string } }[]>(swarm, "/nodes");
    const withApi = new Set((await tasks("api_api")).map((t) => t.NodeID));
    const node = nodes.find((n) => n.Spec.Role === "worker" && withApi.has(n.ID));
    if (!node) throw new Error("no worker runs an api task");
    const worker = swarm.byName.get(node.Description.Hostname) as (typeof swarm.nodes)[number];
    try {
      Bun.spawnSync(["docker", "pause", worker.name]);
      await until(`${worker.name} down`, async () => (await swarmApi<{ Description: { Hostname: string }; Status: { State: string } }[]>(swarm, "/nodes")).some((n) => n.Description.Hostname === worker.name && n.Status.State === "down"), 180_000);
      await until("api rescheduled off the worker", async () => {
        const running = await tasks("api_api");
        return running.length === 2 && running.every((t) => t.NodeID !== node.ID);
      }, 180_000);
      const status = await env.run(["status"], { env: host });
      expect(status.code, status.all).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`node +${worker.name} +worker, down`));
      expect(status.stdout).toMatch(/api +2\/2 running/);
      expect(status.stdout).toMatch(/api_api\.\d+ +running on kt-sync-swarm-\d/);
      expect(status.stdout).not.toMatch(new RegExp(`api_api\\.\\d+ +running on ${worker.name}`));
      expect(status.stdout).toContain("drift      none");
      const json = JSON.parse((await env.run(["status", "--json"], { env: host })).stdout);
      expect(json.target).toBe("swarm");
      expect(json.nodes.find((n: { name: string }) => n.name === worker.name).state).toBe("down");
    } finally {
      Bun.spawnSync(["docker", "unpause", worker.name]);
    }
  }, 300_000);

  test("an app folder deleted from Git: its stack goes; a Swarm-incompatible key is an error naming file and key", async () => {
    repo.write({ "apps/api/docker-compose.yml": null }).commit("api gone");
    const r = await env.run(["sync", "--verbose"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("api: removed api");
    expect(await swarm.manager.sh("docker stack ls --format '{{.Name}}'")).toBe("pin\nsec\nweb\n");

    repo.write({ "apps/bad/docker-compose.yml": "services:\n  b:\n    image: konta-test/busybox:1\n    container_name: fixed\n    labels: { konta.managed: 'true' }\n" }).commit("bad");
    const bad = await env.run(["sync"], { env: host });
    expect(bad.code).toBe(2);
    expect(bad.all).toContain("apps/bad/docker-compose.yml:4: services.b.container_name: a Swarm names the tasks of a service itself");
  }, 480_000);
});

describe("deploy.target: swarm, published ports (issue 27)", () => {
  const EDGE = (version: string) => `services:
  web:
    image: konta-test/busybox:1
    command: ["sh", "-c", "echo ${version} > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    labels: { konta.managed: "true" }
    ports: ["8080:80"]
    networks: [front]
    deploy:
      replicas: 3
      update_config: { parallelism: 1, delay: 1s }
  edge:
    image: konta-test/busybox:1
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    labels: { konta.managed: "true" }
    ports:
      - { target: 80, published: 9090, mode: host }
      - { target: 81, published: 8081, mode: ingress }
      - { target: 53, published: 5353, protocol: udp }
    networks: [front]
    deploy: { mode: global }
networks:
  front: { attachable: true }
`;
  type Endpoint = { Spec: { EndpointSpec: unknown } };
  const pages = async () => {
    const ips = (await tasks("edge_web")).map((t) => t.NetworksAttachments?.find((a) => a.Network.Spec.Name === "edge_front")?.Addresses[0]?.split("/")[0]);
    return (await swarm.manager.sh(`for ip in ${ips.join(" ")}; do docker run --rm --network edge_front konta-test/busybox:1 wget -qO- http://$ip/index.html; done`)).trim().split("\n");
  };

  test("replicas behind one ingress port, and host- and ingress-mode long syntax: EndpointSpec as docker stack deploy stores it, every task serves, an update rolls through; the engine target still refuses the file", async () => {
    // what docker stack deploy (the CLI in the manager) stores for the same file, then gone again
    await swarm.manager.sh("mkdir -p /tmp/edge-ref && cat > /tmp/edge-ref/docker-compose.yml", { input: `version: "3.9"\n${EDGE("v1")}` });
    await swarm.manager.sh("cd /tmp/edge-ref && docker stack deploy -c docker-compose.yml edgeref >/dev/null");
    const reference = { web: (await swarmApi<Endpoint>(swarm, "/services/edgeref_web")).Spec.EndpointSpec, edge: (await swarmApi<Endpoint>(swarm, "/services/edgeref_edge")).Spec.EndpointSpec };
    await removeStack(swarm, "edgeref");

    const edgeRepo = rig.repo();
    edgeRepo.write({ "apps/edge/docker-compose.yml": EDGE("v1") }).commit("edge v1");
    const edgeEnv = rig.env(edgeRepo, { deploy: { target: "swarm", health_timeout: 120 } });
    const r = await edgeEnv.run(["sync"], { env: host, timeoutMs: 180_000 });
    expect(r.code, r.all).toBe(0);
    expect((await swarmApi<Endpoint>(swarm, "/services/edge_web")).Spec.EndpointSpec).toEqual(reference.web);
    expect((await swarmApi<Endpoint>(swarm, "/services/edge_edge")).Spec.EndpointSpec).toEqual(reference.edge);
    expect((await tasks("edge_web")).length).toBe(3);
    expect((await tasks("edge_edge")).length).toBe(3);
    expect(await pages()).toEqual(["v1", "v1", "v1"]);

    edgeRepo.write({ "apps/edge/docker-compose.yml": EDGE("v2") }).commit("edge v2");
    const updated = await edgeEnv.run(["sync"], { env: host, timeoutMs: 180_000 });
    expect(updated.code, updated.all).toBe(0);
    expect(await pages()).toEqual(["v2", "v2", "v2"]);
    expect((await swarmApi<Endpoint>(swarm, "/services/edge_web")).Spec.EndpointSpec).toEqual(reference.web);

    // another service of another instance asking for the same ingress port: refused, nothing changed
    const otherRepo = rig.repo();
    otherRepo.write({ "apps/clash/docker-compose.yml": 'services:\n  w:\n    image: konta-test/busybox:1\n    labels: { konta.managed: "true" }\n    ports: ["8080:80"]\n' }).commit("clash");
    const clash = await rig.env(otherRepo, { deploy: { target: "swarm" } }).run(["sync"], { env: host });
    expect(clash.code, clash.all).toBe(2);
    expect(clash.all).toContain("apps/clash/docker-compose.yml:5: services.w.ports: port 8080/tcp is published on every node of the swarm already, by service edge_web");
    expect(await swarm.manager.sh("docker service ls -q -f name=clash_w")).toBe("");

    // one engine: the rule of one container per host port still holds, with today's message
    const engine = await rig.env(edgeRepo).run(["sync", "--dry-run"]);
    expect(engine.code, engine.all).toBe(2);
    expect(engine.all).toContain("apps/edge/docker-compose.yml:6: services.web.ports: host port 8080 can be bound by one container only, but 3 replicas are asked for");
  }, 600_000);
});

describe("deploy.target: swarm, stacks in dependency order (issue 56)", () => {
  test("x-konta.depends_on: a stack converges after the stack it depends on (which creates its overlay network); a prerequisite that fails its gate holds it on its spec", async () => {
    const BASE = (v: string, check = "/tmp/ready") => `services:
  db:
    image: konta-test/busybox:1
    init: true
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 3600"]
    environment: { V: "${v}" }
    labels: { konta.managed: "true" }
    networks: [shared]
    healthcheck: { test: ["CMD", "test", "-f", "${check}"], interval: 1s, retries: 3 }
networks:
  shared: { name: kt-dep-shared, driver: overlay, attachable: true }
`;
    const USER = (v: string) => `x-konta:
  depends_on: [base]
services:
  app:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    environment: { V: "${v}" }
    labels: { konta.managed: "true" }
    networks: [shared]
networks:
  shared: { name: kt-dep-shared, external: true }
`;
    const depRepo = rig.repo();
    depRepo.write({ "apps/base/docker-compose.yml": BASE("1"), "apps/user/docker-compose.yml": USER("1") }).commit("base and user");
    const depEnv = rig.env(depRepo, { deploy: { target: "swarm", health_timeout: GATE_S } });
    const plan = await depEnv.run(["plan"], { env: host });
    expect(plan.stdout).toContain("user (stack):\n  after base (each past its health gate)");

    const r = await depEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(r.code, r.all).toBe(0);
    // base's task became running only once healthy; user's service was created after that
    const running = (await swarmApi<{ Status: { State: string; Timestamp: string } }[]>(swarm, `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ["base_db"] }))}`)).find((t) => t.Status.State === "running");
    const user = await swarmApi<{ CreatedAt: string; Version: { Index: number } }>(swarm, "/services/user_app");
    expect(Date.parse(user.CreatedAt)).toBeGreaterThan(Date.parse(running?.Status.Timestamp as string));

    depRepo.write({ "apps/base/docker-compose.yml": BASE("2", "/tmp/never"), "apps/user/docker-compose.yml": USER("2") }).commit("base broken, user changed");
    depEnv.writeConfig({ deploy: { target: "swarm", health_timeout: 15 } });
    const bad = await depEnv.run(["sync"], { env: host, timeoutMs: RUN_MS });
    expect(bad.code, bad.all).toBe(1);
    expect(bad.all).toContain("held back, on their previous version: user (waits for base, which failed)");
    const after = await swarmApi<{ Version: { Index: number }; Spec: { TaskTemplate: { ContainerSpec: { Env: string[] } } } }>(swarm, "/services/user_app");
    expect(after.Version.Index).toBe(user.Version.Index);
    expect(after.Spec.TaskTemplate.ContainerSpec.Env).toContain("V=1");
    for (const stack of ["user", "base"]) await removeStack(swarm, stack);
  }, 600_000);
});
