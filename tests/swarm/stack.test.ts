// Stacks on a real three-node swarm through lib/swarm/stack.ts (the reconciler the swarm target
// is being built on; `konta sync` does not drive it yet): first deploy spread over the nodes, a
// change rolled through, a config versioned by content, a broken image put back, a service scaled
// by hand repaired, and the service answering from inside the overlay network.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import { DockerClient } from "../../lib/docker/client.ts";
import { applyStack, observeServices, observeStackObjects, planStack, pruneObjects, type StackPlan } from "../../lib/swarm/stack.ts";
import { startSwarm, type Swarm, swarmApi } from "../support/swarm.ts";

let swarm: Swarm;
let docker: DockerClient;
let work: string;

beforeAll(async () => {
  swarm = await startSwarm(3, "kt-stack-swarm");
  docker = await DockerClient.connect(swarm.socket);
  work = mkdtempSync(join(tmpdir(), "konta-swarm-stack-"));
}, 300_000);

afterAll(() => {
  swarm?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const WEB = (version: string, image = "konta-test/busybox:1", site = "site v1\n") => ({
  "docker-compose.yml": `services:
  web:
    image: ${image}
    init: true
    command: ["sh", "-c", "cp /etc/site.txt /tmp/index.html && echo ${version} >> /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    environment: { VERSION: "${version}" }
    labels: { konta.managed: "true" }
    configs:
      - source: site
        target: /etc/site.txt
    networks: [front]
    deploy:
      replicas: 3
      placement: { max_replicas_per_node: 1 }
      update_config: { parallelism: 1, delay: 1s, order: stop-first }
  job:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    labels: { konta.managed: "false" }
networks:
  front: { attachable: true }
configs:
  site:
    file: ./site.txt
`,
  "site.txt": site,
});

const API = `services:
  api:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    labels: { konta.managed: "true" }
    deploy: { replicas: 2 }
`;

function project(stack: string, files: Record<string, string>) {
  const dir = join(work, stack);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return loadProject(dir, stack, { repoRoot: dir, processEnv: {}, passthrough: [], profiles: [] });
}

async function plan(stack: string, files: Record<string, string>): Promise<{ p: ReturnType<typeof project>; plan: StackPlan }> {
  const p = project(stack, files);
  const { networks, objects } = await observeStackObjects(docker, stack);
  return { p, plan: planStack(p, await observeServices(docker), networks, objects) };
}

async function deploy(stack: string, files: Record<string, string>, timeoutMs = 60_000): Promise<StackPlan> {
  const { p, plan: stackPlan } = await plan(stack, files);
  await applyStack(docker, p, stackPlan, { timeoutMs });
  await pruneObjects(docker, stack);
  return stackPlan;
}

interface Task {
  NodeID: string;
  Status: { State: string };
  Spec: { ContainerSpec: { Env?: string[] } };
}

const runningTasks = async (service: string) =>
  (await swarmApi<Task[]>(swarm, `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service], "desired-state": ["running"] }))}`)).filter((t) => t.Status.State === "running");

/**
 * The page web serves, asked of each of its tasks by address from a container on the stack's
 * overlay network (no routing mesh on this kernel); every task must serve the same one.
 */
async function page(): Promise<string> {
  const tasks = await swarmApi<{ Status: { State: string }; NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[] }[]>(
    swarm,
    `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ["web_web"], "desired-state": ["running"] }))}`,
  );
  const ips = tasks.filter((t) => t.Status.State === "running").map((t) => t.NetworksAttachments?.find((a) => a.Network.Spec.Name === "web_front")?.Addresses[0]?.split("/")[0]);
  const pages = await swarm.manager.sh(`for ip in ${ips.join(" ")}; do docker run --rm --network web_front konta-test/busybox:1 wget -qO- http://$ip/index.html; done`);
  const distinct = [...new Set(pages.split(/(?<=\n)(?=site)/))];
  expect(distinct.length).toBe(1);
  return distinct[0] as string;
}

describe("stacks on a three-node swarm", () => {
  test("first deploy of two stacks: every task running, web spread over the three nodes; docker stack ls shows both", async () => {
    const web = await deploy("web", WEB("v1"));
    expect(web.steps.map((s) => `${s.op} ${s.service}`)).toEqual(["create web"]);
    await deploy("api", { "docker-compose.yml": API });
    const tasks = await runningTasks("web_web");
    expect(tasks.length).toBe(3);
    expect(new Set(tasks.map((t) => t.NodeID)).size).toBe(3);
    expect((await runningTasks("api_api")).length).toBe(2);
    expect(await swarm.manager.sh("docker stack ls --format '{{.Name}}'")).toBe("api\nweb\n");
    // a service without konta.managed is not Konta's
    expect((await observeServices(docker)).map((s) => s.name).sort()).toEqual(["api_api", "web_web"]);
    expect(await page()).toBe("site v1\nv1\n");
    // nothing changed: nothing to do
    const again = await plan("web", WEB("v1"));
    expect({ steps: again.plan.steps.length, objects: again.plan.objects.length, networks: again.plan.networks.length }).toEqual({ steps: 0, objects: 0, networks: 0 });
  }, 120_000);

  test("a change rolls through (update_config); a changed config file is a new config, the old one removed", async () => {
    const before = (await observeStackObjects(docker, "web")).objects;
    const stackPlan = await deploy("web", WEB("v2", "konta-test/busybox:1", "site v2\n"));
    expect(stackPlan.steps.map((s) => (s.op === "update" ? `update ${s.service} (${s.cause})` : s.op))).toEqual(["update web (spec changed)"]);
    expect(stackPlan.objects.length).toBe(1);
    const tasks = await runningTasks("web_web");
    expect(tasks.length).toBe(3);
    for (const t of tasks) expect(t.Spec.ContainerSpec.Env).toContain("VERSION=v2");
    expect(await page()).toBe("site v2\nv2\n");
    const after = (await observeStackObjects(docker, "web")).objects;
    expect(after.size).toBe(1);
    expect([...after].some((n) => before.has(n))).toBe(false);
  }, 120_000);

  test("a broken image fails the gate and web is put back to its previous spec, still serving", async () => {
    await expect(deploy("web", WEB("v3", "konta-test/nope:1"), 15_000)).rejects.toThrow(/not converged|update paused/);
    const service = await swarmApi<{ Spec: { TaskTemplate: { ContainerSpec: { Image: string; Env: string[] } } } }>(swarm, "/services/web_web");
    expect(service.Spec.TaskTemplate.ContainerSpec.Image).toBe("konta-test/busybox:1");
    expect(service.Spec.TaskTemplate.ContainerSpec.Env).toContain("VERSION=v2");
    for (let i = 0; i < 60 && (await runningTasks("web_web")).length < 3; i++) await Bun.sleep(500);
    expect((await runningTasks("web_web")).length).toBe(3);
    expect(await page()).toBe("site v2\nv2\n");
  }, 120_000);

  test("drift: api scaled by hand to 1 is planned as changed by hand and put back to 2", async () => {
    await swarm.manager.sh("docker service scale -d api_api=1 >/dev/null");
    const stackPlan = await deploy("api", { "docker-compose.yml": API });
    expect(stackPlan.steps.map((s) => (s.op === "update" ? `update ${s.service} (${s.cause})` : s.op))).toEqual(["update api (changed by hand)"]);
    expect((await runningTasks("api_api")).length).toBe(2);
  }, 120_000);

  test("a service removed from the file is removed from the stack", async () => {
    const stackPlan = await deploy("api", { "docker-compose.yml": "services:\n  other:\n    image: konta-test/busybox:1\n    command: [sleep, '3600']\n    labels: { konta.managed: 'true' }\n" });
    expect(stackPlan.steps.map((s) => `${s.op} ${s.service}`).sort()).toEqual(["create other", "remove api"]);
    expect((await observeServices(docker)).map((s) => s.name).sort()).toEqual(["api_other", "web_web"]);
  }, 120_000);
});
