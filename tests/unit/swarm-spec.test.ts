// The pure side of the Swarm conversion (lib/targets/swarm/spec.ts); its agreement with `docker stack
// deploy` is checked on a real swarm in tests/swarm/spec-oracle.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject, SopsKeyring } from "../../lib/compose/index.ts";
import { serviceHash } from "../../lib/compose/hash.ts";
import { serviceSpec, SwarmKeyError, type SwarmServiceSpec } from "../../lib/targets/swarm/spec.ts";
import { swarmDrift } from "../../lib/targets/swarm/drift.ts";
import { desiredSpecs, type EngineService, type EngineTask, gateStatus, objectName, type ObservedService, planStack, planStackRemoval, removedStacks, SPEC_HASH } from "../../lib/targets/swarm/stack.ts";

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
    try {
      convert();
    } catch (err) {
      expect((err as SwarmKeyError).path).toEqual(["services", "app", key]);
    }
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

function loadFile(text: string) {
  writeFileSync(join(dir, "docker-compose.yml"), text);
  return loadProject(dir, "st", { repoRoot: dir, processEnv: {}, passthrough: [], profiles: [] });
}

describe("planStack: what to do for one stack, from the project and what the engine has", () => {
  const file = (replicas: number, env = "1") => `services:
  web:
    image: konta-test/busybox:1
    environment: { V: "${env}" }
    labels: { konta.managed: "true" }
    configs: [{ source: site, target: /etc/site.conf }]
    networks: [front]
    deploy: { replicas: ${replicas} }
  side:
    image: konta-test/busybox:1
networks:
  front: {}
configs:
  site: { file: ./site.conf }
`;
  /** what the engine would report for a spec Konta sent (its own defaults filled in) */
  const stored = (spec: SwarmServiceSpec, replicas?: number): ObservedService => {
    const copy = structuredClone(spec) as SwarmServiceSpec & Record<string, unknown>;
    copy.TaskTemplate = { ...copy.TaskTemplate, ForceUpdate: 0, Runtime: "container" };
    if (replicas !== undefined) copy.Mode = { Replicated: { Replicas: replicas } };
    return { id: "id1", name: spec.Name, spec: copy, specDigest: `d-${replicas ?? ""}`, hash: spec.Labels[SPEC_HASH], managed: true };
  };

  test("nothing there: create web (not the unmanaged side), its network and its config named by content", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const project = loadFile(file(2));
    const plan = planStack(project, [], new Set(), new Set());
    expect(plan.steps.map((s) => `${s.op} ${s.service}`)).toEqual(["create web"]);
    expect(plan.networks.map((n) => n.Name)).toEqual(["st_front"]);
    expect(plan.objects).toEqual([{ kind: "config", name: expect.stringMatching(/^st_site\.conf-[0-9a-f]{12}$/), file: join(dir, "./site.conf") }]);
  });

  test("the same spec running: nothing; scaled by hand: update (changed by hand); a new env or a new file content: update (spec changed)", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const project = loadFile(file(2));
    const spec = desiredSpecs(project).get("web") as SwarmServiceSpec;
    const have = new Set(["st_front"]);
    const objects = new Set([objectName("st", project.services.web?.configs?.[0] as never)]);
    expect(planStack(project, [stored(spec)], have, objects).steps).toEqual([]);
    expect(planStack(project, [stored(spec, 1)], have, objects).steps.map((s) => (s.op === "update" ? s.cause : s.op))).toEqual(["changed by hand"]);
    expect(planStack(loadFile(file(2, "2")), [stored(spec)], have, objects).steps.map((s) => (s.op === "update" ? s.cause : s.op))).toEqual(["spec changed"]);
    writeFileSync(join(dir, "site.conf"), "b\n");
    const changedFile = planStack(loadFile(file(2)), [stored(spec)], have, objects);
    expect(changedFile.steps.map((s) => (s.op === "update" ? s.cause : s.op))).toEqual(["spec changed"]);
    expect(changedFile.objects.length).toBe(1);
  });

  test("a managed service gone from the file is removed; one of another stack is left alone", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const project = loadFile(file(2));
    const spec = desiredSpecs(project).get("web") as SwarmServiceSpec;
    const gone = { ...stored(spec), id: "id2", name: "st_old", spec: { ...stored(spec).spec, Name: "st_old" } };
    const other = { ...stored(spec), id: "id3", name: "other_web", spec: { ...stored(spec).spec, Name: "other_web", Labels: { ...spec.Labels, "com.docker.stack.namespace": "other" } } };
    const steps = planStack(project, [stored(spec), gone, other], new Set(["st_front"]), new Set([objectName("st", project.services.web?.configs?.[0] as never)])).steps;
    expect(steps.map((s) => `${s.op} ${s.service}`)).toEqual(["remove old"]);
  });

  test("a spec in the engine other than the one the last deploy left is a change by hand (docker service update); an unmanaged service of the same name blocks", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const project = loadFile(file(2));
    const spec = desiredSpecs(project).get("web") as SwarmServiceSpec;
    const have = new Set(["st_front"]);
    const objects = new Set([objectName("st", project.services.web?.configs?.[0] as never)]);
    expect(planStack(project, [stored(spec)], have, objects, { specDigests: { web: "d-" } }).steps).toEqual([]);
    expect(planStack(project, [stored(spec)], have, objects, { specDigests: { web: "d-old" } }).steps.map((s) => (s.op === "update" ? s.cause : s.op))).toEqual(["changed by hand"]);
    const foreign = { ...stored(spec), managed: false, hash: undefined };
    const blocked = planStack(project, [foreign], have, objects);
    expect(blocked.steps).toEqual([]);
    expect(blocked.blockers).toEqual([expect.stringContaining("service st_web exists and is not managed by Konta")]);
  });

  test("the instance label is in the spec (and its hash); konta.stopped is zero replicas", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const spec = desiredSpecs(loadFile(file(2)), { instance: "abc123" }).get("web") as SwarmServiceSpec;
    expect(spec.Labels["konta.instance"]).toBe("abc123");
    expect(spec.Labels[SPEC_HASH]).not.toBe((desiredSpecs(loadFile(file(2))).get("web") as SwarmServiceSpec).Labels[SPEC_HASH]);
    const stopped = desiredSpecs(loadFile(file(2).replace('konta.managed: "true"', 'konta.managed: "true", konta.stopped: "true"'))).get("web") as SwarmServiceSpec;
    expect(stopped.Mode).toEqual({ Replicated: { Replicas: 0 } });
  });

  test("removed stacks: only this instance's (or known from state); their managed services removed", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const spec = desiredSpecs(loadFile(file(2)), { instance: "me" }).get("web") as SwarmServiceSpec;
    const of = (stack: string, instance: string | undefined, managed = true): ObservedService => ({
      ...stored(spec),
      name: `${stack}_web`,
      managed,
      instance,
      spec: { ...spec, Name: `${stack}_web`, Labels: { ...spec.Labels, "com.docker.stack.namespace": stack } },
    });
    const observed = [of("st", "me"), of("gone", "me"), of("theirs", "other"), of("hand", undefined, false), of("known", undefined)];
    expect(removedStacks(observed, new Set(["st"]), "me", new Set(["known"]))).toEqual(["gone", "known"]);
    expect(planStackRemoval("gone", observed).steps.map((s) => `${s.op} ${s.service}`)).toEqual(["remove web"]);
  });

  test("drift from state and one listing: missing, scaled, changed by hand, foreign spec, not in the release, removed app", () => {
    writeFileSync(join(dir, "site.conf"), "a\n");
    const spec = desiredSpecs(loadFile(file(2)), { instance: "me" }).get("web") as SwarmServiceSpec;
    const hash = spec.Labels[SPEC_HASH] as string;
    const expected = { st: { services: { web: { hash, image: "konta-test/busybox:1", replicas: 2, stopped: false, job: false, engineSpec: "d-" } }, hostInputs: "h" } };
    const running = { ...stored(spec), instance: "me" };
    const opts = { prune: true, instance: "me" };
    expect(swarmDrift(expected, [running], opts)).toEqual([]);
    expect(swarmDrift(expected, [], opts).map((d) => d.what)).toEqual(["service st_web is missing"]);
    expect(swarmDrift(expected, [stored(spec, 1)], opts).map((d) => d.what)).toEqual(["st_web: scaled to 1, should be 2"]);
    expect(swarmDrift(expected, [{ ...running, specDigest: "d-changed" }], opts).map((d) => d.what)).toEqual(["st_web: changed by hand (docker service update)"]);
    expect(swarmDrift(expected, [{ ...running, hash: "x" }], opts).map((d) => d.what)).toEqual(["st_web: its spec is not the one Konta deployed"]);
    const extra = { ...running, name: "st_extra" };
    expect(swarmDrift(expected, [running, extra], opts).map((d) => d.what)).toEqual(["service st_extra is not in the live release"]);
    const old = { ...running, name: "old_web", spec: { ...running.spec, Labels: { ...running.spec.Labels, "com.docker.stack.namespace": "old" } } };
    expect(swarmDrift(expected, [running, old], opts).map((d) => `${d.project}: ${d.what}`)).toEqual(["old: app folder is not in the live release; its services are still there"]);
    expect(swarmDrift(expected, [running], { ...opts, hostInputs: () => "changed" }).map((d) => d.what)).toEqual(["host-side variables changed (env file or allowed process variables)"]);
  });
});

describe("gateStatus: has a service converged (pure, over the service and its tasks)", () => {
  const template = { ContainerSpec: { Image: "konta-test/busybox:1" } };
  const old = { ContainerSpec: { Image: "konta-test/busybox:0" } };
  const service = (mode: Record<string, unknown>, extra: Partial<EngineService> = {}): EngineService => ({
    ID: "s1",
    Version: { Index: 3 },
    Spec: { Name: "st_web", Labels: {}, TaskTemplate: { ...template, Runtime: "container" }, Mode: mode, EndpointSpec: {} },
    ...extra,
  });
  const task = (state: string, spec: unknown = template, desired = "running"): EngineTask => ({ Status: { State: state }, DesiredState: desired, Spec: spec });
  const replicated = (n: number) => ({ Replicated: { Replicas: n } });

  test("replicated: every replica running from the current template, nothing else meant to run", () => {
    expect(gateStatus(service(replicated(2)), [task("running"), task("running")])).toEqual({ done: true, summary: "st_web: 2/2 tasks running" });
    expect(gateStatus(service(replicated(2)), [task("running"), task("starting")]).done).toBe(false);
    // an old task still running (the update has not reached it)
    expect(gateStatus(service(replicated(2)), [task("running"), task("running"), task("running", old)]).done).toBe(false);
    expect(gateStatus(service(replicated(2)), [task("running"), task("running", old)]).summary).toBe("st_web: 1/2 tasks running");
    expect(gateStatus(service(replicated(2), { UpdateStatus: { State: "updating" } }), [task("running"), task("running")]).done).toBe(false);
  });

  test("kept stopped (0 replicas): done once no task is meant to run", () => {
    expect(gateStatus(service(replicated(0)), []).done).toBe(true);
    expect(gateStatus(service(replicated(0)), [task("running", old)]).done).toBe(false);
  });

  test("global: one per eligible node, not before the orchestrator has counted them", () => {
    expect(gateStatus(service({ Global: {} }, { ServiceStatus: { RunningTasks: 0, DesiredTasks: 0 } }), []).done).toBe(false);
    expect(gateStatus(service({ Global: {} }, { ServiceStatus: { RunningTasks: 3, DesiredTasks: 3 } }), [task("running"), task("running"), task("running")]).done).toBe(true);
  });

  test("jobs: done when the completions are complete", () => {
    const job = { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } };
    expect(gateStatus(service(job), [task("complete", template, "complete"), task("running", template, "complete")])).toEqual({ done: false, summary: "st_web: 1/2 tasks completed" });
    expect(gateStatus(service(job), [task("complete", template, "complete"), task("complete", template, "complete")]).done).toBe(true);
    // a global job: every task made for it complete (the engine says 0 desired once they are)
    const globalJob = service({ GlobalJob: {} }, { ServiceStatus: { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 3 } });
    expect(gateStatus(globalJob, [1, 2, 3].map(() => task("complete", template, "complete"))).done).toBe(true);
    expect(gateStatus(globalJob, [task("complete", template, "complete"), task("running", template, "complete")]).done).toBe(false);
    expect(gateStatus(globalJob, []).done).toBe(false);
  });
});

test("a secret from a variable and a config from content: Swarm objects named after their key, with the owner and mode Compose gives them; the text reaches only the keyring", () => {
  const keyring = new SopsKeyring(join(dir, "no-key"), join(dir, "secrets"));
  writeFileSync(
    join(dir, "docker-compose.yml"),
    `services:
  app:
    image: konta-test/busybox:1
    labels: { konta.managed: "true" }
    secrets: [{ source: token, uid: "1000", mode: 0400 }]
    configs: [{ source: conf, target: /etc/app.conf }]
secrets:
  token: { environment: TOKEN }
configs:
  conf: { content: "port=\${PORT}" }
`,
  );
  const project = loadProject(dir, "st", { repoRoot: dir, processEnv: { TOKEN: "t0k3n", PORT: "80" }, passthrough: ["TOKEN", "PORT"], profiles: [], sops: keyring });
  const app = project.services.app as NonNullable<(typeof project.services)[string]>;
  const spec = serviceSpec(project, app, (_kind, file) => ({ name: objectName("st", file), id: "id" }));
  const cs = spec.TaskTemplate.ContainerSpec as { Secrets: { File: unknown; SecretName: string }[]; Configs: { File: unknown; ConfigName: string }[] };
  expect(cs.Secrets[0]?.File).toEqual({ Name: "token", UID: "1000", GID: "0", Mode: 0o400 });
  expect(cs.Secrets[0]?.SecretName).toMatch(/^st_token-[0-9a-f]{12}$/);
  expect(cs.Configs[0]?.File).toEqual({ Name: "/etc/app.conf", UID: "0", GID: "0", Mode: 0o444 });
  expect(cs.Configs[0]?.ConfigName).toMatch(/^st_conf-[0-9a-f]{12}$/);
  expect([...keyring.files.values()].sort()).toEqual(["port=80", "t0k3n"]);
  expect(JSON.stringify(project)).not.toContain("t0k3n");
});
