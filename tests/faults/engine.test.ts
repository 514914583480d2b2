// Issue "Reliability and security suite": the Docker engine restarted in the middle of a deploy.
// (A missing socket, a refused connection and a denied one: tests/integration/engine.test.ts.)
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { envOf, expectConverged, expectStoreClean } from "../support/converged.ts";
import { ensureEngine, projectContainers, sh, waitFor } from "../support/docker.ts";
import { ROOT } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

const app = (version: string) =>
  compose({ services: { web: sleeper({ environment: { VERSION: version } }), db: sleeper({ environment: { VERSION: "db" } }) } });

async function restartEngine(): Promise<void> {
  const pid = Number(readFileSync("/var/run/docker.pid", "utf8").trim());
  process.kill(pid, "SIGTERM");
  await waitFor(async () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  }, 60_000, "dockerd to exit");
  sh("bash", [join(ROOT, "tests/support/start-dockerd.sh")]);
  await ensureEngine();
}

describe("engine restarted during a deploy", () => {
  // The engine stops every container when it shuts down, so the health gate sees the new container
  // exit before the engine is gone. The /events stream tells the two apart (a kill Konta did not
  // send, then the end of the stream): the commit is not blamed, nothing is rolled back, and the
  // next run deploys it once the engine is back.
  test("the run exits 3 without blaming the commit; the next run deploys it", async () => {
    const repo = rig.repo();
    const v1 = repo.write({ "apps/kt-restart/docker-compose.yml": app("1") }).commit("v1");
    // a long health gate keeps the deploy in flight while the engine goes away
    const env = rig.env(repo, { deploy: { min_uptime: 8, health_timeout: 30 } });
    expect((await env.run(["sync"])).code).toBe(0);
    const v2 = repo.write({ "apps/kt-restart/docker-compose.yml": app("2") }).commit("v2");

    const run = env.run(["sync"]);
    await waitFor(async () => {
      const c = (await projectContainers("kt-restart")).get("kt-restart-web-1");
      return c && c.State.Running && envOf(c, "VERSION") === "2" ? true : undefined;
    }, 20_000, "the new container to start");
    await restartEngine();
    const r = await run;
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 3 });
    expect(r.all).toContain("the Docker engine went away during the deploy");
    expect(r.all).not.toContain("rolling back");
    expect(r.all).not.toMatch(/^\s+at .*\.(ts|js):\d+/m);
    const state = env.readState();
    expect(state.failed).toBeUndefined();
    expectStoreClean(env, v1);

    const next = await env.run(["sync"]);
    expect(next.code).toBe(0);
    await expectConverged("kt-restart", { web: "2", db: "db" });
    expectStoreClean(env, v2);
  }, 180_000);
});
