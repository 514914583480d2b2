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
  // The engine stops every container when it shuts down: the health gate sees the new container
  // exit (143) before the engine is gone, so Konta cannot tell this from a bad commit. It fails
  // the deploy, the next tick converges on the live release, and --now deploys the commit again.
  test("the run fails cleanly; the next run converges on the live release; --now deploys the commit", async () => {
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
    expect([1, 3]).toContain(r.code);
    expect(r.all).not.toMatch(/^\s+at .*\.(ts|js):\d+/m);

    const next = await env.run(["sync"]);
    expect(next.code).toBe(0);
    await expectConverged("kt-restart", { web: "1", db: "db" });
    expectStoreClean(env, v1);

    const now = await env.run(["sync", "--now"]);
    expect(now.code).toBe(0);
    await expectConverged("kt-restart", { web: "2", db: "db" });
    expectStoreClean(env, v2);
  }, 180_000);
});
