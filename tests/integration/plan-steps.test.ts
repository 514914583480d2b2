// Issue "a plan that is the whole truth": the steps `konta plan --json` lists for a project are the
// engine requests the following `konta sync` makes, in that order, as the engine's own event
// stream records them (a stop-first and a start-first recreate, a new service, a removed one, a
// replaced network, a new volume).
import { describe, expect, test } from "bun:test";
import { compose, MANAGED, sleeper } from "../support/compose.ts";
import { useRig } from "../support/rig.ts";
import { type EngineEvent, recordEvents } from "../support/events.ts";

const rig = useRig();

/** What the engine records for one planned step, by its verb: `[type, action]`, or nothing it records as such. */
function expected(step: string): [string, string] | undefined {
  const [verb, what] = step.split(" ");
  if (verb === "create") return what === "network" ? ["network", "create"] : what === "volume" ? ["volume", "create"] : ["container", "create"];
  if (verb === "remove") return what === "network" ? ["network", "destroy"] : ["container", "destroy"];
  if (verb === "start" || verb === "stop" || verb === "rename") return ["container", verb];
  // a disconnect: the engine's network events also come with every stop; not compared
  return undefined;
}

/** The engine's events a plan's steps can be held against: a stop just before a removal is part of that removal. */
function comparable(events: EngineEvent[], project: string, networks: string[]): [string, string][] {
  const ours = events.filter((e) =>
    e.Type === "container" ? (e.Actor.Attributes["com.docker.compose.project"] === project && ["create", "start", "stop", "rename", "destroy"].includes(e.Action)) : e.Type === "network" ? ["create", "destroy"].includes(e.Action) && networks.includes(e.Actor.Attributes.name ?? "") : e.Action === "create" && e.Actor.ID.startsWith(project),
  );
  const out: [string, string][] = [];
  const volumes = new Set<string>();
  for (const [i, e] of ours.entries()) {
    const next = ours[i + 1];
    if (e.Action === "stop" && next?.Action === "destroy" && next.Actor.ID === e.Actor.ID) continue;
    // the engine says "create" of a named volume again for each container created on it
    if (e.Type === "volume" && volumes.has(e.Actor.ID)) continue;
    if (e.Type === "volume") volumes.add(e.Actor.ID);
    out.push([e.Type, e.Action]);
  }
  return out;
}

describe("konta plan lists the engine requests the sync that follows makes", () => {
  test("stop-first and start-first recreates, a service added and one removed, a network replaced, a volume created", async () => {
    const repo = rig.repo();
    const file = "apps/kt-steps/docker-compose.yml";
    const v1 = compose({
      services: {
        web: sleeper({ environment: { V: "1" }, networks: ["front"] }),
        api: sleeper({ environment: { V: "1" }, labels: { ...MANAGED, "konta.rolling": "true" } }),
        gone: sleeper(),
      },
      networks: { front: { labels: { tier: "1" } } },
    });
    repo.write({ [file]: v1 }).commit("v1");
    const env = rig.env(repo, { deploy: { parallel: 1 } });
    await env.ok(["sync"]);

    const v2 = compose({
      services: {
        web: sleeper({ environment: { V: "2" }, networks: ["front"] }),
        api: sleeper({ environment: { V: "2" }, labels: { ...MANAGED, "konta.rolling": "true" } }),
        worker: sleeper({ volumes: ["data:/data"] }),
      },
      networks: { front: { labels: { tier: "2" } } },
      volumes: { data: {} },
    });
    repo.write({ [file]: v2 }).commit("v2");
    const planned = JSON.parse((await env.run(["plan", "--json"])).stdout) as { plan: { name: string; sequence: string[]; actions: { type: string; service: string; steps: string[] }[] }[] };
    const unit = planned.plan.find((u) => u.name === "kt-steps");
    expect(unit).toBeDefined();
    const sequence = unit?.sequence ?? [];
    // the plan says what it will do, request by request: the recreates' sequences among them
    expect(unit?.actions.find((a) => a.service === "web")?.steps).toEqual([
      "remove kt-steps-web-1 (network front changed)",
      "create kt-steps-web-1 with kt-steps-web-1's anonymous volumes",
      "start the new container",
    ]);
    expect(unit?.actions.find((a) => a.service === "api")?.steps).toEqual([
      "create kt-steps-api-1 under a temporary name with kt-steps-api-1's anonymous volumes",
      "start the new container and wait for its health gate",
      "disconnect kt-steps-api-1 from its networks",
      "remove kt-steps-api-1 (replaced)",
      "rename the new container to kt-steps-api-1",
    ]);

    const events = recordEvents();
    const r = await env.run(["sync"]);
    const seen = comparable(await events.stop(), "kt-steps", ["kt-steps_front"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const wanted = sequence.map(expected).filter((x): x is [string, string] => x !== undefined);
    expect(seen).toEqual(wanted);
    // and the plan was the whole of it: nothing is left to do
    expect((await env.run(["plan"])).code).toBe(0);
  });

  test("a stop-first recreate: create under a temporary name, stop, rename aside, rename, start, remove", async () => {
    const repo = rig.repo();
    const file = "apps/kt-steps2/docker-compose.yml";
    repo.write({ [file]: compose({ services: { web: sleeper({ environment: { V: "1" } }) } }) }).commit("v1");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    repo.write({ [file]: compose({ services: { web: sleeper({ environment: { V: "2" } }) } }) }).commit("v2");
    const planned = JSON.parse((await env.run(["plan", "--json"])).stdout) as { plan: { name: string; sequence: string[] }[] };
    const sequence = planned.plan[0]?.sequence ?? [];
    expect(sequence).toEqual([
      "create kt-steps2-web-1 under a temporary name with kt-steps2-web-1's anonymous volumes",
      "stop kt-steps2-web-1",
      "rename kt-steps2-web-1 aside",
      "rename the new container to kt-steps2-web-1",
      "start the new container",
      "remove kt-steps2-web-1 (replaced)",
    ]);
    const events = recordEvents();
    expect((await env.run(["sync"])).code).toBe(0);
    expect(comparable(await events.stop(), "kt-steps2", [])).toEqual(sequence.map(expected).filter((x) => x !== undefined));
  });
});
