// Issue "Reliability and security suite": state damaged by hand or by a crash outside Konta:
// a dangling `current`, the live release folder deleted, a kept release deleted, state.json
// emptied. Each: a warning, no crash, and the next run converges without touching what runs.
// (A corrupt state.json: tests/integration/git.test.ts.)
import { describe, expect, test } from "bun:test";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { expectConverged, expectStoreClean } from "../support/converged.ts";
import { projectContainers } from "../support/docker.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

const app = (version: string) => compose({ services: { web: sleeper({ environment: { VERSION: version } }) } });

async function deployed(versions = 1) {
  const repo = rig.repo();
  const env = rig.env(repo);
  const shas: string[] = [];
  for (let v = 1; v <= versions; v++) {
    shas.push(repo.write({ "apps/kt-state/docker-compose.yml": app(String(v)) }).commit(`v${v}`));
    expect((await env.run(["sync"])).code).toBe(0);
  }
  const ids = async () => [...(await projectContainers("kt-state")).values()].map((c) => c.Id);
  return { repo, env, shas, ids, before: await ids() };
}

describe("damaged state", () => {
  test("a dangling current: warned, re-pointed, running containers untouched", async () => {
    const { env, shas, ids, before } = await deployed();
    rmSync(join(env.state, "current"));
    symlinkSync(join(env.state, "releases", "0".repeat(40)), join(env.state, "current"));
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.all).toContain("not a kept release");
    expectStoreClean(env, shas[0] as string);
    expect(await ids()).toEqual(before);
  });

  test("the live release folder deleted by hand: fetched and checked out again, containers untouched", async () => {
    const { env, shas, ids, before } = await deployed();
    rmSync(join(env.state, "releases", shas[0] as string), { recursive: true });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expectStoreClean(env, shas[0] as string);
    expect(await ids()).toEqual(before);
  });

  test("the rollback target deleted by hand: rollback says so (exit 2) and changes nothing", async () => {
    const { env, shas, ids, before } = await deployed(2);
    rmSync(join(env.state, "releases", shas[0] as string), { recursive: true });
    const r = await env.run(["rollback", shas[0] as string]);
    expect(r.code).toBe(2);
    expect(r.all).toContain((shas[0] as string).slice(0, 12));
    expect(await ids()).toEqual(before);
    await expectConverged("kt-state", { web: "2" });
  });

  test("state.json emptied: rebuilt from the live release", async () => {
    const { env, shas, ids, before } = await deployed();
    writeFileSync(join(env.state, "state.json"), "");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expectStoreClean(env, shas[0] as string);
    expect(await ids()).toEqual(before);
  });
});
