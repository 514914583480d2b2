// Divergences that only show on a real engine (issue "Prove Compose semantics against Docker
// Compose v2"): the same folder deployed by `docker compose up -d` (Compose v2) and by Konta must
// give the same containers.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { dockerCompose } from "../support/compose-oracle.ts";
import { IMAGE, inspect, sh } from "../support/docker.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
// an image with an ENTRYPOINT and a CMD (the test busybox has neither); each runs alone too
const EP_IMAGE = "konta-test/entrypoint:1";

beforeAll(() => {
  sh("docker", ["build", "-q", "-t", EP_IMAGE, "-"], { input: `FROM ${IMAGE}\nLABEL konta-test=1\nENTRYPOINT ["/bin/busybox"]\nCMD ["sleep", "3600"]\n` });
});

/** Deploy `doc` with Compose v2 as project `name` (a folder of its own); returns the folder. */
function composeUp(name: string, doc: string): string {
  const dir = mkdtempSync(join(tmpdir(), "konta-oracle-up-"));
  writeFileSync(join(dir, "compose.yaml"), doc);
  dockerCompose(dir, name, ["up", "-d", "--quiet-pull"]);
  return dir;
}

describe("containers as Compose v2 creates them", () => {
  test("entrypoint: [] without command clears the image's entrypoint and runs its command", async () => {
    const doc = compose({ services: { web: { image: EP_IMAGE, entrypoint: [], labels: { "konta.managed": "true" } } } });
    composeUp("kt-epc", doc);
    const repo = rig.repo();
    repo.write({ "apps/kt-ep/compose.yaml": doc }).commit("entrypoint: []");
    const r = await rig.env(repo).run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const [ours, theirs] = [await inspect("kt-ep-web-1"), await inspect("kt-epc-web-1")];
    expect(ours?.State.Running).toBe(true);
    expect(ours?.Config.Entrypoint).toEqual(theirs?.Config.Entrypoint);
    expect(ours?.Config.Cmd).toEqual(theirs?.Config.Cmd);
    expect(theirs?.State.Running).toBe(true);
  });

  test("depends_on restart: true restarts the dependent when its dependency is recreated", async () => {
    const doc = (v: string) =>
      compose({ services: { db: sleeper({ environment: { V: v } }), app: sleeper({ depends_on: { db: { condition: "service_started", restart: true } } }) } });
    const repo = rig.repo();
    repo.write({ "apps/kt-rs/compose.yaml": doc("1") }).commit("v1");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    const before = await inspect("kt-rs-app-1");
    repo.write({ "apps/kt-rs/compose.yaml": doc("2") }).commit("v2: db changes");
    const plan = await env.run(["plan"]);
    expect(plan.stdout).toContain("restart app (db is recreated; depends_on restart: true)");
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const after = await inspect("kt-rs-app-1");
    expect(after?.Id).toBe(before?.Id);
    expect(after?.State.Running).toBe(true);
    expect(Date.parse(after?.State.StartedAt ?? "")).toBeGreaterThan(Date.parse(before?.State.StartedAt ?? ""));

    // Compose v2 with the same change: app starts afresh too (2.26 recreates it, and does so for any
    // depends_on; newer Compose stops and starts restart: true dependents, as Konta does; README)
    const dir = composeUp("kt-rsc", doc("1"));
    const cBefore = await inspect("kt-rsc-app-1");
    writeFileSync(join(dir, "compose.yaml"), doc("2"));
    dockerCompose(dir, "kt-rsc", ["up", "-d"]);
    const cAfter = await inspect("kt-rsc-app-1");
    expect(cAfter?.State.Running).toBe(true);
    expect(Date.parse(cAfter?.State.StartedAt ?? "")).toBeGreaterThan(Date.parse(cBefore?.State.StartedAt ?? ""));
  });
});
