// The Swarm oracle: one Compose file deployed by `docker stack deploy` (the Docker CLI in the
// manager) and, under another stack name, by Konta's conversion (lib/swarm/spec.ts) through the
// Engine API; then each service's stored Spec compared field by field. Normalised: the stack names,
// and the IDs and names of configs (Konta names them by content). Every other difference fails.
// On a real three-node swarm, which then also places the tasks.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import type { BindMount } from "../../lib/compose/model.ts";
import { networkSpecs, serviceSpec } from "../../lib/swarm/spec.ts";
import { startSwarm, type Swarm, swarmApi } from "../support/swarm.ts";

const COMPOSE = `version: "3.9"
services:
  web:
    image: konta-test/busybox:1
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    environment: { A: "1", B: two }
    labels: { com.example.container: c }
    init: true
    hostname: web-host
    stop_grace_period: 5s
    stop_signal: SIGINT
    healthcheck: { test: ["CMD", "true"], interval: 1s, timeout: 2s, retries: 3, start_period: 1s }
    configs:
      - source: site
        target: /etc/site.conf
    volumes:
      - data:/data
      - type: tmpfs
        target: /cache
    networks:
      front: { aliases: [www] }
    deploy:
      replicas: 3
      labels: { com.example.service: s }
      placement:
        max_replicas_per_node: 1
        constraints: ["node.platform.os == linux"]
        preferences: [{ spread: node.id }]
      update_config: { parallelism: 1, delay: 1s, order: start-first, failure_action: rollback, monitor: 2s }
      rollback_config: { parallelism: 2 }
      restart_policy: { condition: on-failure, delay: 2s, max_attempts: 3, window: 10s }
      resources:
        limits: { cpus: "0.5", memory: 64M, pids: 100 }
        reservations: { cpus: "0.1", memory: 16M }
  worker:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    restart: always
    user: "65534"
    working_dir: /tmp
    read_only: true
    cap_drop: [NET_RAW]
    ulimits: { nofile: { soft: 1024, hard: 2048 } }
    extra_hosts: ["db.internal:10.0.0.5"]
    networks: [front, back]
    deploy:
      mode: global
      endpoint_mode: dnsrr
networks:
  front: {}
  back: { attachable: true }
volumes:
  data: { labels: { com.example.volume: v } }
configs:
  site:
    file: ./site.conf
`;

let swarm: Swarm;
let work: string;

beforeAll(async () => {
  swarm = await startSwarm(3, "kt-oracle-swarm");
  work = mkdtempSync(join(tmpdir(), "konta-swarm-oracle-"));
  writeFileSync(join(work, "docker-compose.yml"), COMPOSE);
  writeFileSync(join(work, "site.conf"), "listen 80\n");
  await swarm.manager.sh("mkdir -p /tmp/oracle && cat > /tmp/oracle/docker-compose.yml", { input: COMPOSE });
  await swarm.manager.sh("cat > /tmp/oracle/site.conf", { input: "listen 80\n" });
}, 300_000);

afterAll(() => {
  swarm?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Service {
  Spec: Record<string, any>;
}

/**
 * The stored spec with the stack name replaced, networks by name (the engine stores IDs), mounts in
 * one order (Konta's model sorts them; the CLI keeps the file's), and what each side names its own
 * way (configs: Konta names them by content) left out.
 */
async function normalised(spec: Record<string, any>, stack: string): Promise<Record<string, any>> {
  for (const n of spec.TaskTemplate?.Networks ?? []) n.Target = (await swarmApi<{ Name: string }>(swarm, `/networks/${n.Target}`)).Name;
  const s = JSON.parse(JSON.stringify(spec).replaceAll(stack, "STACK"));
  s.TaskTemplate?.ContainerSpec?.Mounts?.sort((a: { Target: string }, b: { Target: string }) => a.Target.localeCompare(b.Target));
  for (const c of s.TaskTemplate?.ContainerSpec?.Configs ?? []) {
    delete c.ConfigID;
    delete c.ConfigName;
  }
  return s;
}

test("every service of a stack: Konta's spec is the one docker stack deploy stores", async () => {
  await swarm.manager.sh("cd /tmp/oracle && docker stack deploy --compose-file docker-compose.yml zzref >/dev/null");

  const project = loadProject(work, "zzkt", { repoRoot: work, processEnv: {}, passthrough: [], profiles: [] });
  const used = new Set(Object.values(project.services).flatMap((s) => Object.keys(s.networks ?? {})));
  for (const n of networkSpecs(project, used)) await swarmApi(swarm, "/networks/create", { method: "POST", body: n });
  const site = project.services.web?.configs?.[0] as BindMount;
  // Konta names a config by its content (a new content is a new object)
  const siteName = `zzkt_site.conf-${(site.digest ?? "").replace(/^sha256:/, "").slice(0, 12)}`;
  const created = await swarmApi<{ ID: string }>(swarm, "/configs/create", {
    method: "POST",
    body: { Name: siteName, Data: Buffer.from(readFileSync(join(work, "site.conf"))).toString("base64"), Labels: { "com.docker.stack.namespace": "zzkt" } },
  });
  const refs = () => ({ name: siteName, id: created.ID });
  for (const s of Object.values(project.services)) {
    await swarmApi(swarm, "/services/create", { method: "POST", body: serviceSpec(project, s, refs) });
  }

  for (const name of ["web", "worker"]) {
    const ref = await swarmApi<Service>(swarm, `/services/zzref_${name}`);
    const ours = await swarmApi<Service>(swarm, `/services/zzkt_${name}`);
    expect({ service: name, spec: await normalised(ours.Spec, "zzkt") }).toEqual({ service: name, spec: await normalised(ref.Spec, "zzref") });
  }
  // and the stack's networks
  for (const key of ["front", "back"]) {
    const ref = await swarmApi<Record<string, any>>(swarm, `/networks/zzref_${key}`);
    const ours = await swarmApi<Record<string, any>>(swarm, `/networks/zzkt_${key}`);
    // the VXLAN ID is the engine's pick
    const pick = (n: Record<string, any>, stack: string) => {
      const { "com.docker.network.driver.overlay.vxlanid_list": _vxlan, ...options } = n.Options ?? {};
      return normalised({ Driver: n.Driver, Attachable: n.Attachable, Internal: n.Internal, Labels: n.Labels, Options: options, Scope: n.Scope }, stack);
    };
    expect(await pick(ours, "zzkt")).toEqual(await pick(ref, "zzref"));
  }
}, 120_000);

test("the tasks of both stacks spread over the three nodes (max_replicas_per_node: 1)", async () => {
  for (const stack of ["zzref", "zzkt"]) {
    const nodesOf = async () => {
      const tasks = await swarmApi<{ NodeID: string; Status: { State: string } }[]>(swarm, `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [`${stack}_web`], "desired-state": ["running"] }))}`);
      return tasks.filter((t) => t.Status.State === "running").map((t) => t.NodeID);
    };
    let nodes: string[] = [];
    for (let i = 0; i < 120 && new Set(nodes).size < 3; i++) {
      nodes = await nodesOf();
      await Bun.sleep(500);
    }
    expect(new Set(nodes).size).toBe(3);
  }
}, 90_000);
