// The pure side of the Swarm conversion (lib/swarm/spec.ts); its agreement with `docker stack
// deploy` is checked on a real swarm in tests/swarm/spec-oracle.test.ts.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import { serviceHash } from "../../lib/compose/hash.ts";
import { serviceSpec, SwarmKeyError } from "../../lib/swarm/spec.ts";

const dir = mkdtempSync(join(tmpdir(), "konta-swarm-spec-"));
mkdirSync(join(dir, "html"));
writeFileSync(join(dir, "html/index.html"), "hi\n");
writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(service: string) {
  writeFileSync(join(dir, "docker-compose.yml"), `services:\n  app:\n    image: konta-test/busybox:1\n${service.replace(/^/gm, "    ")}\n`);
  const project = loadProject(dir, "st", { repoRoot: dir, processEnv: {}, passthrough: [], profiles: [] });
  return { project, app: project.services.app as NonNullable<(typeof project.services)[string]> };
}

test("keys a Swarm cannot apply are refused, naming the service and the key", () => {
  for (const [extra, key] of [
    ["container_name: x", "container_name"],
    ["privileged: true", "privileged"],
    ["network_mode: host", "network_mode"],
    ["build: .", "build"],
    ["volumes: ['./html:/www']", "volumes"],
    ["ports: ['8000-8010:80']", "ports"],
  ] as const) {
    const { project, app } = load(extra);
    const convert = () => serviceSpec(project, app, () => ({ name: "x", id: "x" }));
    expect(convert).toThrow(SwarmKeyError);
    expect(convert).toThrow(`services.app.${key}`);
  }
});

test("the stack's labels, mode and the Swarm-only keys land where docker stack deploy puts them", () => {
  const { project, app } = load(`command: ["sleep", "1"]
deploy:
  mode: global
  labels: { team: a }
  placement: { constraints: ["node.role == worker"], max_replicas_per_node: 2 }
  update_config: { parallelism: 2, delay: 3s }
  resources: { reservations: { cpus: "0.25" } }`);
  const spec = serviceSpec(project, app, () => ({ name: "x", id: "x" }));
  expect(spec.Name).toBe("st_app");
  expect(spec.Labels).toEqual({ team: "a", "com.docker.stack.namespace": "st", "com.docker.stack.image": "konta-test/busybox:1" });
  expect(spec.Mode).toEqual({ Global: {} });
  expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ["node.role == worker"], MaxReplicas: 2 });
  expect(serviceSpec(project, { ...app, cap_add: ["net_admin", "CAP_SYS_TIME"], cap_drop: ["net_raw", "NET_ADMIN"] }, () => ({ name: "x", id: "x" })).TaskTemplate.ContainerSpec).toMatchObject({
    CapabilityAdd: ["CAP_NET_ADMIN", "CAP_SYS_TIME"],
    CapabilityDrop: ["CAP_NET_RAW"],
  });
  expect(spec.UpdateConfig).toEqual({ Parallelism: 2, Delay: 3e9, Monitor: 0, MaxFailureRatio: 0 });
  expect((spec.TaskTemplate.Resources as { Reservations: unknown }).Reservations).toEqual({ NanoCPUs: 250_000_000 });
  expect((spec.TaskTemplate.ContainerSpec as { Args: string[] }).Args).toEqual(["sleep", "1"]);
});

test("the Swarm-only keys stay out of the single engine's config hash: adding them recreates nothing", () => {
  const plain = load(`command: ["sleep", "1"]`).app;
  const swarm = load(`command: ["sleep", "1"]
deploy:
  placement: { constraints: ["node.role == worker"] }
  update_config: { parallelism: 2 }`).app;
  expect(swarm.swarm).toBeDefined();
  expect(serviceHash(swarm)).toBe(serviceHash(plain));
});
