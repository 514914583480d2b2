// Issue "When and in what order": projects that depend on projects (`x-konta: {depends_on: [...]}`).
// A proxy owns the external network two apps join; the apps go only after the proxy's changed
// containers passed their health gate (the engine's own event stream is the witness), a proxy that
// fails its gate holds both apps on their old version, and a cycle or an unknown name is refused at
// its file and line with nothing changed.
import { describe, expect, test } from "bun:test";
import { compose, sleeper } from "../support/compose.ts";
import { inspect } from "../support/docker.ts";
import { type EngineEvent, recordEvents } from "../support/events.ts";
import { useRig } from "../support/rig.ts";
import { runKonta } from "../support/konta.ts";

const rig = useRig();
const NET = "kt-dep-edge";

/** The proxy: owns network NET; healthy once it has been up a second (or never, with `broken`). */
const proxy = (v: string, broken = false) =>
  compose({
    services: {
      edge: sleeper({
        command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 3600"],
        environment: { V: v },
        networks: ["edge"],
        healthcheck: { test: ["CMD", "test", "-f", broken ? "/tmp/never" : "/tmp/ready"], interval: "500ms", retries: 2, start_period: "0s" },
      }),
    },
    networks: { edge: { name: NET } },
  });

const app = (v: string, deps: string[] = ["kt-dep-proxy"]) =>
  compose({
    "x-konta": { depends_on: deps },
    services: { web: sleeper({ environment: { V: v }, networks: ["edge"] }) },
    networks: { edge: { name: NET, external: true } },
  });

const files = (p: string, a: string, b: string, pBroken = false) => ({
  "apps/kt-dep-proxy/docker-compose.yml": proxy(p, pBroken),
  "apps/kt-dep-a/docker-compose.yml": app(a),
  "apps/kt-dep-b/docker-compose.yml": app(b),
});

/** Index of the first event of a container matching `action`. */
const at = (events: EngineEvent[], container: string, action: (a: string) => boolean) =>
  events.findIndex((e) => e.Type === "container" && e.Actor.Attributes.name === container && action(e.Action));

const env = async (name: string, key: string) => ((await inspect(name)) as { Config: { Env: string[] } }).Config.Env.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);
const id = async (name: string) => ((await inspect(name)) as { Id: string }).Id;

describe("x-konta.depends_on", () => {
  test("the apps go after the proxy passed its gate; the plan shows the order; a proxy that fails its gate holds both apps on their version", async () => {
    const repo = rig.repo();
    const e = rig.env(repo, { deploy: { health_timeout: 20, parallel: 4 } });
    repo.write(files("1", "1", "1")).commit("proxy and two apps");

    const plan = await e.run(["plan"]);
    // 10: the plan has changes
    expect({ code: plan.code, out: plan.stdout }).toMatchObject({ code: 10 });
    for (const a of ["kt-dep-a", "kt-dep-b"]) expect(plan.stdout).toContain(`${a}:\n  after kt-dep-proxy (each past its health gate)`);
    expect(plan.stdout.indexOf("kt-dep-proxy:")).toBeLessThan(plan.stdout.indexOf("kt-dep-a:"));
    const json = JSON.parse((await e.run(["plan", "--json"])).stdout) as { plan: { name: string; after?: string[] }[] };
    expect(json.plan.map((u) => [u.name, u.after])).toEqual([["kt-dep-proxy", undefined], ["kt-dep-a", ["kt-dep-proxy"]], ["kt-dep-b", ["kt-dep-proxy"]]]);

    // first deploy: the external network does not exist yet; the proxy creates it, then the apps join it
    let rec = recordEvents();
    let r = await e.run(["sync"]);
    let events = await rec.stop();
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const healthy = at(events, "kt-dep-proxy-edge-1", (a) => a === "health_status: healthy");
    expect(healthy).toBeGreaterThanOrEqual(0);
    for (const a of ["kt-dep-a-web-1", "kt-dep-b-web-1"]) expect(at(events, a, (x) => x === "create")).toBeGreaterThan(healthy);

    // a proxy change that fails its gate: both apps keep running their old version, untouched
    const before = { a: await id("kt-dep-a-web-1"), b: await id("kt-dep-b-web-1") };
    const bad = repo.write(files("2", "2", "2", true)).commit("broken proxy, new apps");
    rec = recordEvents();
    r = await e.run(["sync"]);
    events = await rec.stop();
    expect({ code: r.code }).toEqual({ code: 1 });
    expect(r.all).toContain("held back, on their previous version: kt-dep-a (waits for kt-dep-proxy, which failed), kt-dep-b (waits for kt-dep-proxy, which failed)");
    expect({ a: await id("kt-dep-a-web-1"), b: await id("kt-dep-b-web-1") }).toEqual(before);
    expect([await env("kt-dep-a-web-1", "V"), await env("kt-dep-b-web-1", "V"), await env("kt-dep-proxy-edge-1", "V")]).toEqual(["1", "1", "1"]);
    for (const a of ["kt-dep-a-web-1", "kt-dep-b-web-1"]) expect(events.some((x) => x.Actor.Attributes.name?.includes(a.replace("-1", "")) && x.Action === "create")).toBe(false);
    expect(e.readState().failed.sha).toBe(bad);
    const history = JSON.parse((await e.run(["history", "--json", "-n", "1"])).stdout) as { error?: string }[];
    expect(history[0]?.error).toContain("kt-dep-a (waits for kt-dep-proxy, which failed)");

    // a good proxy change: the proxy first, past its gate, then the apps
    repo.write(files("3", "3", "3")).commit("good proxy, new apps");
    rec = recordEvents();
    r = await e.run(["sync"]);
    events = await rec.stop();
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const healthy3 = at(events, "kt-dep-proxy-edge-1", (a) => a === "health_status: healthy");
    expect(healthy3).toBeGreaterThanOrEqual(0);
    const creates = events.flatMap((x, i) => (x.Type === "container" && x.Action === "create" && /kt-dep-[ab]-web-1/.test(x.Actor.Attributes.name ?? "") ? [i] : []));
    expect(creates.length).toBe(2);
    for (const i of creates) expect(i).toBeGreaterThan(healthy3);
    expect([await env("kt-dep-a-web-1", "V"), await env("kt-dep-b-web-1", "V"), await env("kt-dep-proxy-edge-1", "V")]).toEqual(["3", "3", "3"]);
  }, 180_000);

  test("a cycle and an unknown name are refused at their file and line, nothing changed; konta check says the same", async () => {
    const repo = rig.repo();
    const e = rig.env(repo);
    repo.write({ "apps/kt-dep-solo/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("one app");
    expect((await e.run(["sync"])).code).toBe(0);
    const solo = await id("kt-dep-solo-s-1");

    repo.write({
      "apps/kt-dep-solo/docker-compose.yml": compose({ services: { s: sleeper({ environment: { V: "2" } }) } }),
      "apps/kt-dep-x/docker-compose.yml": app("1", ["kt-dep-y"]).replace(/external: true/, "external: false"),
      "apps/kt-dep-y/docker-compose.yml": `services:\n  s:\n    image: konta-test/busybox:1\n    labels: { konta.managed: "true" }\nx-konta:\n  depends_on:\n    - kt-dep-z\n    - kt-dep-x\n`,
      "apps/kt-dep-z/docker-compose.yml": `x-konta:\n  depends_on: [kt-dep-proxxy]\nservices:\n  s:\n    image: konta-test/busybox:1\n`,
    });
    const sha = repo.commit("a cycle and a typo");
    const r = await e.run(["sync"]);
    expect({ code: r.code }).toEqual({ code: 2 });
    expect(r.all).toContain("apps/kt-dep-x/docker-compose.yml:3: x-konta.depends_on[0]: kt-dep-x -> kt-dep-y -> kt-dep-x is a cycle");
    expect(r.all).toContain('apps/kt-dep-z/docker-compose.yml:2: x-konta.depends_on[0]: "kt-dep-proxxy" is not a project of this release');
    expect(await id("kt-dep-solo-s-1")).toBe(solo);
    expect(e.readState().failed.sha).toBe(sha);

    const check = await runKonta(["check", repo.work]);
    expect(check.code).toBe(2);
    expect(check.all).toContain("kt-dep-x -> kt-dep-y -> kt-dep-x is a cycle");
    expect(check.all).toContain('"kt-dep-proxxy" is not a project of this release');
  }, 120_000);
});
