// Issue "Reliability and security suite": SIGKILL of `konta sync` at each stage of an update, then
// a normal run converges; nothing is left stopped, duplicated or half-written.
import { describe, expect, test } from "bun:test";
import { compose, sleeper } from "../support/compose.ts";
import { expectConverged, expectStoreClean } from "../support/converged.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

const app = (version: string) =>
  compose({ services: { web: sleeper({ environment: { VERSION: version } }), db: sleeper({ environment: { VERSION: "db" } }) } });

describe("SIGKILL during an update", () => {
  for (const point of ["fetch", "checkout", "after-pull", "recreate:old-renamed", "before-switch", "state-write"] as const) {
    test(`killed at ${point}: the next run converges on the new commit`, async () => {
      const repo = rig.repo();
      repo.write({ "apps/kt-crash/docker-compose.yml": app("1") }).commit("v1");
      const env = rig.env(repo);
      expect((await env.run(["sync"])).code).toBe(0);
      const v2 = repo.write({ "apps/kt-crash/docker-compose.yml": app("2") }).commit("v2");

      const killed = await env.run(["sync"], { env: { KONTA_FAILPOINT: point } });
      expect(killed.code).toBe(137); // SIGKILL, not a clean exit

      const r = await env.run(["sync"]);
      expect(r.all).not.toContain("error");
      expect(r.code).toBe(0);
      await expectConverged("kt-crash", { web: "2", db: "db" });
      expectStoreClean(env, v2);
      const again = await env.run(["sync"]);
      expect(again.stdout).toContain("up to date");
    });
  }
});
