// The plan is pure data: these tests need no engine.
import { describe, expect, test } from "bun:test";
import type { ProjectModel, ServiceModel } from "../../lib/compose/model.ts";
import { serviceHash } from "../../lib/compose/hash.ts";
import { detectDrift } from "../../lib/targets/engine/drift.ts";
import { containerIndex, type Observed, type ObservedContainer } from "../../lib/targets/engine/observe.ts";
import { expectations, type Prepared } from "../../lib/targets/engine/convergence.ts";
import { crossProjectConflicts, orderProjects } from "../../lib/targets/engine/cross.ts";
import { awaitedForCompletion, isJob, type ProjectPlan, planProject, planRemoval, planService, recreateCauses, removedProjects, serviceTarget } from "../../lib/targets/engine/plan.ts";
import type { ServiceTarget } from "../../lib/state/index.ts";
import { containerSpec, inheritAnonymousVolumes } from "../../lib/targets/engine/spec.ts";
import { startLevels } from "../../lib/targets/engine/order.ts";

const target: ServiceTarget = { hash: "h1", image: "img:1", imageId: "sha256:a", replicas: 1, stopped: false, job: false };

let seq = 0;
function container(over: Partial<ObservedContainer> = {}): ObservedContainer {
  seq++;
  return {
    id: `id${seq}`.padEnd(64, "0"),
    name: "p-s-1",
    project: "p",
    service: "s",
    number: 1,
    hash: "h1",
    imageId: "sha256:a",
    state: "running",
    managed: true,
    kontaCreated: true,
    labels: { "konta.managed": "true", "konta.commit": "c" },
    created: seq,
    binds: [],
    networks: [],
    hostPorts: [],
    ...over,
  };
}

describe("the recreate decision", () => {
  test("same hash and image: nothing to do", () => expect(recreateCauses(target, container())).toEqual([]));
  test("a different config hash", () => expect(recreateCauses(target, container({ hash: "h0" }))).toEqual([{ kind: "config" }]));
  test("a different image ID", () => expect(recreateCauses(target, container({ imageId: "sha256:b" }))).toEqual([{ kind: "image" }]));
  test("an image not pulled yet does not decide alone", () => expect(recreateCauses({ ...target, imageId: undefined }, container({ imageId: "x" }))).toEqual([]));
});

describe("planService", () => {
  const kinds = (actions: { type: string; number: number }[]) => actions.map((a) => `${a.type}#${a.number}`);
  test("creates what is missing, removes the surplus highest first", () => {
    expect(kinds(planService("p", "s", { ...target, replicas: 2 }, []))).toEqual(["create#1", "create#2"]);
    const three = [1, 2, 3].map((n) => container({ number: n, name: `p-s-${n}` }));
    expect(kinds(planService("p", "s", { ...target, replicas: 1 }, three))).toEqual(["remove#3", "remove#2"]);
  });
  test("starts a stopped container, stops one that should be stopped, leaves a finished one-shot alone", () => {
    expect(kinds(planService("p", "s", target, [container({ state: "exited", exitCode: 137 })]))).toEqual(["start#1"]);
    expect(kinds(planService("p", "s", { ...target, stopped: true }, [container()]))).toEqual(["stop#1"]);
    expect(planService("p", "s", { ...target, job: true }, [container({ state: "exited", exitCode: 0 })])).toEqual([]);
    expect(kinds(planService("p", "s", { ...target, job: true }, [container({ state: "exited", exitCode: 1 })]))).toEqual(["start#1"]);
  });
  test("duplicates left by an interrupted run: keep the good one, remove the others", () => {
    const good = container();
    const stale = container({ name: "abc_p-s-1", hash: "h0", state: "created" });
    const actions = planService("p", "s", target, [stale, good]);
    expect(actions).toEqual([{ type: "remove", service: "s", number: 1, container: stale, reason: "duplicate left by an interrupted run" }]);
  });
  test("a container under a temporary name is replaced", () => {
    const actions = planService("p", "s", target, [container({ name: "abc_p-s-1" })]);
    expect(actions[0]?.type).toBe("recreate");
  });

  describe("what an interrupted recreate left", () => {
    const old = () => container({ hash: "h0" });
    const tmp = (name: string, over: Partial<ObservedContainer> = {}) => container({ name, state: "created", ...over });
    test("the new container under its temporary name is removed first, then the old one is recreated", () => {
      const o = old();
      for (const name of ["0123456789ab_a1b2c3_p-s-1", "0123456789ab_p-s-1"]) {
        const t = tmp(name);
        const actions = planService("p", "s", target, [o, t]);
        expect(actions.map((a) => [a.type, a.type === "remove" ? a.reason : a.type === "recreate" ? a.container.name : undefined])).toEqual([
          ["remove", "left by an interrupted recreate"],
          ["recreate", "p-s-1"],
        ]);
        expect(actions[0]?.type === "remove" && actions[0].container).toBe(t);
      }
    });
    test("it is removed even when it is what the plan wants and runs (start-first killed before the old one went)", () => {
      const t = tmp("0123456789ab_a1b2c3_p-s-1", { state: "running" });
      expect(planService("p", "s", target, [old(), t])[0]).toEqual({ type: "remove", service: "s", number: 1, container: t, reason: "left by an interrupted recreate" });
    });
    test("the old one under its _replaced_ name is the one recreated (its anonymous volumes go to the new one)", () => {
      const replaced = container({ name: "fedcba987654_replaced_p-s-1", hash: "h0", state: "exited" });
      const t = tmp("0123456789ab_a1b2c3_p-s-1");
      const actions = planService("p", "s", target, [replaced, t]);
      expect(actions.map((a) => a.type)).toEqual(["remove", "recreate"]);
      expect(actions[1]?.type === "recreate" && actions[1].container).toBe(replaced);
    });
    test("alone, it is the service's container: kept and renamed through a recreate, not removed", () => {
      const t = tmp("0123456789ab_a1b2c3_p-s-1", { state: "running" });
      const actions = planService("p", "s", target, [t]);
      expect(actions).toEqual([{ type: "recreate", service: "s", number: 1, container: t, causes: [{ kind: "renamed", name: t.name, expected: "p-s-1" }] }]);
    });
    test("leftovers of every replica come before any other action of the service", () => {
      const two = { ...target, replicas: 2 };
      const o1 = old();
      const o2 = container({ hash: "h0", number: 2, name: "p-s-2" });
      const t2 = tmp("0123456789ab_a1b2c3_p-s-2", { number: 2 });
      expect(kinds(planService("p", "s", two, [o1, o2, t2])).slice(0, 1)).toEqual(["remove#2"]);
    });
    test("a name that only ends like the service's is not a leftover", () => {
      const other = container({ name: "my_p-s-1", hash: "h0" });
      expect(planService("p", "s", target, [old(), other]).map((a) => a.type === "remove" && a.reason)).not.toContain("left by an interrupted recreate");
    });
  });
});

function model(services: Record<string, Partial<ServiceModel>>): ProjectModel {
  const full = Object.fromEntries(
    Object.entries(services).map(([name, s]) => [
      name,
      { name, image: "img:1", pull_policy: "missing", managed: true, stopped: false, replicas: 1, update_order: "stop-first", networks: { default: {} }, ...s } as ServiceModel,
    ]),
  );
  return { name: "p", dir: "/r/apps/p", files: ["compose.yaml"], services: full, networks: { default: { name: "p_default", external: false } }, volumes: {}, warnings: [] };
}

function observed(containers: ObservedContainer[], networks: string[] = ["p_default"]): Observed {
  return {
    containers,
    networks: new Map(networks.map((n) => [n, { Id: n, Name: n, Driver: "bridge", Labels: {} }])),
    volumes: new Map(),
  };
}

describe("planProject", () => {
  test("unmanaged services are never planned; removed ones are; a name held by another container blocks", () => {
    const m = model({ a: {}, b: { managed: false } });
    const targets = { a: serviceTarget(m.services.a as ServiceModel, "sha256:a") };
    const gone = container({ service: "old", name: "p-old-1" });
    const foreign = container({ name: "p-a-1", project: undefined, service: undefined, managed: false, kontaCreated: false, labels: {} });
    const plan = planProject({ model: m, targets }, observed([gone, foreign]));
    expect(plan.actions.map((a) => `${a.type} ${a.service}`)).toEqual(["create a", "remove old"]);
    expect(plan.blockers[0]).toContain('container name "p-a-1" is taken');
  });

  test("projects planned against one observation each see their own containers (the index is built once per list)", () => {
    const m = model({ a: {} });
    const q = { ...m, name: "q" };
    const targets = { a: serviceTarget(m.services.a as ServiceModel, "sha256:a") };
    const seen = observed([container({ service: "a", name: "p-a-1", hash: "stale" }), container({ project: "q", service: "a", name: "q-a-1", hash: targets.a.hash })]);
    expect(planProject({ model: m, targets }, seen).actions.map((a) => `${a.type} ${a.service} ${a.number}`)).toEqual(["recreate a 1"]);
    expect(planProject({ model: q, targets }, seen).actions).toEqual([]);
    expect(containerIndex(seen.containers)).toBe(containerIndex(seen.containers));
    // another observation (a re-plan after the engine changed) gets its own index
    const later = observed([container({ service: "a", name: "p-a-1", hash: targets.a.hash })]);
    expect(planProject({ model: m, targets }, later).actions).toEqual([]);
  });

  test("a recreated service drags along the services bound to its container ID", () => {
    const m = model({ db: {}, side: { network_mode: "service:db", networks: undefined }, other: {} });
    const targets = Object.fromEntries(Object.values(m.services).map((s) => [s.name, serviceTarget(s, "sha256:a")]));
    const cs = Object.values(m.services).map((s) => container({ service: s.name, name: `p-${s.name}-1`, hash: serviceHash(s) }));
    (cs[0] as ObservedContainer).hash = "stale";
    const plan = planProject({ model: m, targets }, observed(cs));
    expect(plan.actions.map((a) => `${a.type} ${a.service}`)).toEqual(["recreate db", "recreate side"]);
    expect(plan.unchanged).toEqual(["other"]);
  });

  test("networks and volumes: create missing ones; an external one that is missing blocks", () => {
    const m = model({ a: { networks: { front: {} }, volumes: [{ type: "volume", source: "data", target: "/d" }] } });
    m.networks = { front: { name: "shared", external: true } };
    m.volumes = { data: { name: "p_data", external: false } };
    const plan = planProject({ model: m, targets: { a: serviceTarget(m.services.a as ServiceModel, "sha256:a") } }, observed([], []));
    expect(plan.volumes.create).toEqual(["data"]);
    expect(plan.blockers[0]).toContain('external network "shared" does not exist');
  });

  test("an app removed from Git: only what Konta created goes, volumes are listed as kept", () => {
    const obs = observed([container({ project: "gone", service: "x" }), container({ project: "gone", service: "y", kontaCreated: false })]);
    obs.volumes.set("gone_data", { Name: "gone_data", Driver: "local", Labels: { "com.docker.compose.project": "gone" }, Mountpoint: "" });
    expect(removedProjects(obs, new Set(["p"]))).toEqual(["gone"]);
    const plan = planRemoval("gone", obs);
    expect(plan.actions.map((a) => a.service)).toEqual(["x"]);
    expect(plan.volumes.kept).toEqual(["gone_data"]);
  });
});

describe("drift", () => {
  test("missing, changed and stopped containers, and apps that should not be there", () => {
    const expected = { p: { services: { s: target, t: target }, hostInputs: "x" } };
    const drift = detectDrift(
      expected,
      [container({ state: "exited", exitCode: 0 }), container({ service: "t", name: "p-t-1", hash: "other" }), container({ project: "q", service: "z", name: "q-z-1" })],
      { prune: true, hostInputs: () => "y" },
    );
    expect(drift.map((d) => d.what)).toEqual([
      "host-side variables changed (env file or allowed process variables)",
      "p-s-1 is exited, should be running",
      "p-t-1: config changed",
      "app folder is not in the live release; its containers are still there",
    ]);
  });
});

describe("container spec", () => {
  test("labels, networks and mounts", () => {
    const m = model({
      web: {
        volumes: [
          { type: "bind", source: "./html", target: "/www", read_only: true, bind: { create_host_path: true } },
          { type: "volume", source: "data", target: "/data" },
        ],
        networks: { default: { aliases: ["www"] }, back: { priority: 10 } },
        ports: [{ target: 80, published: "8080", host_ip: "127.0.0.1", protocol: "tcp" }],
      },
    });
    m.networks.back = { name: "p_back", external: false };
    m.volumes = { data: { name: "p_data", external: false } };
    const spec = containerSpec(m.services.web as ServiceModel, 1, { project: m, commit: "c0ffee", imageId: "sha256:a", configHash: "h", apiVersion: "1.41" });
    expect(spec.name).toBe("p-web-1");
    const hc = spec.body.HostConfig as Record<string, unknown>;
    expect(hc.Binds).toEqual(["/r/apps/p/html:/www:ro"]);
    expect(hc.Mounts).toEqual([{ Type: "volume", Source: "p_data", Target: "/data", ReadOnly: false }]);
    expect(hc.NetworkMode).toBe("p_back");
    expect(hc.PortBindings).toEqual({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] });
    expect(spec.connect).toEqual([{ network: "p_default", endpoint: { Aliases: ["p-web-1", "web", "www"] } }]);
    expect((spec.body.Labels as Record<string, string>)["com.docker.compose.project.config_files"]).toBe("/r/apps/p/compose.yaml");
  });

  test("features the engine's API version lacks are refused with a reason", () => {
    const m = model({ s: { annotations: { a: "b" } } });
    expect(() => containerSpec(m.services.s as ServiceModel, 1, { project: m, commit: "c", imageId: "i", configHash: "h", apiVersion: "1.41" })).toThrow("API 1.43+");
  });
});

describe("start order", () => {
  test("levels follow depends_on, network_mode and volumes_from; cycles are errors", () => {
    const m = model({ app: { depends_on: { db: { condition: "service_healthy", restart: false, required: true } } }, db: {}, side: { network_mode: "service:app" } });
    expect(startLevels(Object.values(m.services))).toEqual([["db"], ["app"], ["side"]]);
    const loop = model({ a: { depends_on: { b: { condition: "service_started", restart: false, required: true } } }, b: { volumes_from: ["a"] } });
    expect(() => startLevels(Object.values(loop.services))).toThrow("circular");
  });
});

describe("a finished job or a stopped service (exit 0 after an engine restart or docker stop)", () => {
  const restartNo = { restart: undefined };
  test("a service without restart policy that exited 0 is started again unless it is a known job", () => {
    expect(kindsOf(planService("p", "s", target, [container({ state: "exited", exitCode: 0 })]))).toEqual(["start#1"]);
    expect(planService("p", "s", { ...target, job: true }, [container({ state: "exited", exitCode: 0 })])).toEqual([]);
  });
  test("jobs: awaited with service_completed_successfully, or completed at the end of the last deploy; never with restart: always", () => {
    const m = model({ migrate: restartNo, web: { depends_on: { migrate: { condition: "service_completed_successfully", required: true, restart: false } } } as Partial<ServiceModel>, once: restartNo, always: { restart: { name: "always" } } as Partial<ServiceModel> });
    const awaited = awaitedForCompletion(m);
    expect([...awaited]).toEqual(["migrate"]);
    expect(isJob(m.services.migrate as ServiceModel, awaited, false)).toBe(true);
    expect(isJob(m.services.once as ServiceModel, awaited, false)).toBe(false);
    expect(isJob(m.services.once as ServiceModel, awaited, true)).toBe(true);
    expect(isJob(m.services.always as ServiceModel, awaited, true)).toBe(false);
  });
  test("expectations learn from the engine after a deploy: exited 0 by then is a job, still running is a service", () => {
    const m = model({ once: restartNo, server: restartNo });
    const targets = Object.fromEntries(Object.values(m.services).map((s) => [s.name, serviceTarget(s, "sha256:a")]));
    const prepared = { projects: [m], desired: new Map([["p", { model: m, targets }]]) } as unknown as Prepared;
    const after = [container({ service: "once", name: "p-once-1", state: "exited", exitCode: 0 }), container({ service: "server", name: "p-server-1" })];
    const exp = expectations(prepared, after);
    expect(exp.p?.services.once?.job).toBe(true);
    expect(exp.p?.services.server?.job).toBe(false);
    // the drift check then restarts the server after an engine restart, and leaves the job alone
    const stopped = ["once", "server"].map((s) => container({ service: s, name: `p-${s}-1`, hash: targets[s]?.hash, state: "exited", exitCode: 0 }));
    const drift = detectDrift(exp, stopped, { prune: true }).map((d) => `${d.service}: ${d.what}`);
    expect(drift).toEqual(["server: p-server-1 is exited, should be running"]);
  });
});

function kindsOf(actions: { type: string; number: number }[]): string[] {
  return actions.map((a) => `${a.type}#${a.number}`);
}

describe("projects sharing one engine: names and host ports", () => {
  const project = (name: string, services: Record<string, Partial<ServiceModel>>): ProjectModel => ({ ...model(services), name });
  const desiredOf = (...ms: ProjectModel[]) =>
    new Map(ms.map((m) => [m.name, { model: m, targets: Object.fromEntries(Object.values(m.services).map((s) => [s.name, serviceTarget(s, "sha256:a")])) }]));
  const port = (published: string) => ({ ports: [{ target: 80, published, protocol: "tcp" as const }] });

  test("two projects asking for one container name or host port: the second is blocked", () => {
    const conflicts = crossProjectConflicts(desiredOf(project("a", { web: { ...port("8080"), container_name: "proxy" } }), project("b", { web: { ...port("8080"), container_name: "proxy" } })));
    expect([...conflicts.keys()]).toEqual(["b"]);
    expect(conflicts.get("b")).toEqual(['container name "proxy" is asked for by a too; one of them must change it', "host port 8080/tcp is asked for by a too; one of them must change it"]);
    expect(crossProjectConflicts(desiredOf(project("a", { web: port("8080") }), project("b", { web: port("8081") }))).size).toBe(0);
  });

  test("a project giving up a host port another takes in the same commit is applied first", () => {
    // "zz" runs on 8080 today; "aa" takes 8080 in this commit and zz moves to 9090
    const desired = desiredOf(project("aa", { web: port("8080") }), project("zz", { web: port("9090") }));
    const holder = container({ project: "zz", service: "web", name: "zz-web-1", hostPorts: ["8080/tcp"] });
    const plans = ["aa", "zz"].map((p) => ({ project: p }) as ProjectPlan);
    expect(orderProjects(plans, desired, observed([holder])).map((p) => p.project)).toEqual(["zz", "aa"]);
    // nothing shared: alphabetical, as before
    expect(orderProjects(plans, desired, observed([])).map((p) => p.project)).toEqual(["aa", "zz"]);
  });
});

describe("anonymous volumes on a recreate", () => {
  test("the old container's anonymous volumes fill the new one's anonymous mounts, or are added; named and occupied paths are left", () => {
    const body = { HostConfig: { Mounts: [{ Type: "volume", Target: "/data" }, { Type: "volume", Source: "p_named", Target: "/named" }], Binds: ["/srv/x:/bound:ro"] } };
    inheritAnonymousVolumes(
      body,
      [
        { Type: "volume", Name: "a".repeat(64), Destination: "/data" },
        { Type: "volume", Name: "b".repeat(64), Destination: "/var/lib/image-volume" },
        { Type: "volume", Name: "p_named", Destination: "/named" },
        { Type: "volume", Name: "c".repeat(64), Destination: "/bound" },
        { Type: "bind", Destination: "/etc/conf" },
      ],
      new Set(["p_named"]),
    );
    expect(body.HostConfig.Mounts).toEqual([
      { Type: "volume", Source: "a".repeat(64), Target: "/data" },
      { Type: "volume", Source: "p_named", Target: "/named" },
      { Type: "volume", Source: "b".repeat(64), Target: "/var/lib/image-volume" },
    ]);
  });
});
