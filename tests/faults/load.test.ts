// Issue "Reliability and security suite": 100 commits pushed in quick succession while timer-style
// runs fire every second. The engine ends on the last commit, runs never overlap (the loser of
// the lock exits 4), no run fails, and nothing is left behind.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { expectConverged, expectStoreClean } from "../support/converged.ts";
import type { RunResult } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

const app = (version: number) =>
  compose({ services: { web: sleeper({ environment: { VERSION: String(version) } }), db: sleeper({ environment: { VERSION: "db" } }) } });

describe("load", () => {
  test("100 commits while a run starts every second: ends on the last commit, no overlap, no failure", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-load/docker-compose.yml": app(0) }).commit("v0");
    // each deploy outlasts the one-second tick, so runs do collide
    const env = rig.env(repo, { deploy: { min_uptime: 1.5, keep_releases: 3 } });
    expect((await env.run(["sync"])).code).toBe(0);

    const runs: Promise<RunResult & { started: number }>[] = [];
    let stop = false;
    const timer = (async () => {
      while (!stop) {
        const started = Date.now();
        runs.push(env.run(["sync", "--verbose"]).then((r) => ({ ...r, started })));
        await Bun.sleep(1000);
      }
    })();

    let last = "";
    for (let v = 1; v <= 100; v++) {
      last = repo.write({ "apps/kt-load/docker-compose.yml": app(v) }).commit(`v${v}`);
      await Bun.sleep(20);
    }
    // keep the timer going until a run has deployed the last commit
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const state = env.readState();
      if (state.current?.sha === last) break;
      await Bun.sleep(500);
    }
    stop = true;
    await timer;
    const results = await Promise.all(runs);

    expect(results.filter((r) => r.code !== 0 && r.code !== 4).map((r) => r.all)).toEqual([]);
    const winners = results.filter((r) => r.code === 0).sort((a, b) => a.started - b.started);
    expect(winners.length).toBeGreaterThan(1);
    expect(results.some((r) => r.code === 4)).toBe(true); // runs did collide, and the lock turned them away
    for (const r of results.filter((x) => x.code === 4)) expect(r.all).toContain("another Konta run holds");
    // no overlap: each run that held the lock (it says when, with --verbose) let it go before the next took it
    const held = results
      .flatMap((r) => [...r.all.matchAll(/lock: konta sync \(pid \d+\) held \S+ from (\S+) to (\S+)/g)].map((m) => ({ from: Date.parse(m[1] as string), to: Date.parse(m[2] as string) })))
      .sort((a, b) => a.from - b.from);
    expect(held.length).toBe(winners.length);
    for (const [i, h] of held.entries()) {
      expect(h.to).toBeGreaterThanOrEqual(h.from);
      const before = held[i - 1];
      if (before) expect({ run: i, from: h.from }).toEqual({ run: i, from: Math.max(h.from, before.to) });
    }

    await expectConverged("kt-load", { web: "100", db: "db" });
    expectStoreClean(env, last);
    // keep_releases (3) plus at most the rollback target
    expect(readdirSync(join(env.state, "releases")).length).toBeLessThanOrEqual(4);
    const final = await env.run(["sync"]);
    expect(final.stdout).toContain("up to date");
  }, 420_000);
});
