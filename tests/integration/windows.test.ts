// Issue "When and in what order": deploy windows (sync.windows). Each run's clock is set with
// libfaketime (no sleeping): a commit pushed on a Friday evening is checked and planned at once,
// waits (one Git request a tick, nothing changed) and is deployed by the first tick inside Monday's
// window; `--now` deploys anyway and the history says so; a commit that would be refused is
// refused at once; drift waits too unless sync.repair_outside_windows; a rollback never waits; a
// clock that jumps is read again; the night daylight saving starts.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { inspect, sh } from "../support/docker.ts";
import type { KontaEnv } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
/** The clock of one konta run: starts at `utc` (UTC) and runs on from there. */
const at = (utc: string) => ({ env: { LD_PRELOAD: FAKETIME, FAKETIME: `@${utc}`, TZ: "UTC" } });

const FILE = "apps/kt-window/docker-compose.yml";
const app = (v: string) => ({ [FILE]: compose({ services: { web: sleeper({ environment: { V: v } }) } }) });
const running = async () => ((await inspect("kt-window-web-1")) as { Config: { Env: string[] } } | undefined)?.Config.Env.find((e) => e.startsWith("V="))?.slice(2);

// Berlin is UTC+1 in December: the window is 07:00-15:00 UTC on weekdays; 2026-12-11 is a Friday
const FRIDAY_EVENING = "2026-12-11 16:55:00";
const SATURDAY = "2026-12-12 10:00:00";
const MONDAY_EARLY = "2026-12-14 06:59:00";
const MONDAY_OPEN = "2026-12-14 07:00:30";
const OPENS = "Mon 2026-12-14 08:00 Europe/Berlin";

function setUp(sync: Record<string, unknown> = {}): { repo: ReturnType<typeof rig.repo>; env: KontaEnv; metrics: string } {
  const repo = rig.repo();
  const env = rig.env(repo);
  const metrics = join(env.dir, "metrics");
  mkdirSync(metrics);
  env.writeConfig({ sections: { sync: { windows: ["Mon-Fri 08:00-16:00"], timezone: "Europe/Berlin", ...sync }, metrics: { textfile_dir: metrics } } });
  return { repo, env, metrics };
}

describe("sync.windows", () => {
  test("a commit pushed on Friday evening is planned at once, waits the weekend on one request a tick, and goes live at Monday's first tick; --now deploys anyway", async () => {
    const { repo, env, metrics } = setUp();
    repo.write(app("1")).commit("v1");
    expect((await env.run(["sync"], at("2026-12-11 10:00:00"))).code).toBe(0);
    expect(await running()).toBe("1");

    const v2 = repo.write(app("2")).commit("v2");
    const friday = await env.run(["sync"], at(FRIDAY_EVENING));
    expect({ code: friday.code, out: friday.stdout }).toMatchObject({ code: 0 });
    expect(friday.all).toContain(`${v2.slice(0, 12)} waits for the deploy window that opens at ${OPENS}`);
    expect(friday.all).toContain("is checked and planned (changes kt-window)");
    expect(await running()).toBe("1");
    const s = env.readState();
    expect(s.waiting).toMatchObject({ sha: v2, opensAt: "2026-12-14T07:00:00.000Z" });
    expect(s.lastAttempt.result).toBe("waiting");
    const status = JSON.parse((await env.run(["status", "--json"], at(FRIDAY_EVENING))).stdout);
    expect(status.window).toMatchObject({ open: false, windows: ["Mon-Fri 08:00-16:00"], timezone: "Europe/Berlin", opensAt: "2026-12-14T07:00:00.000Z" });
    expect(status.waiting).toMatchObject({ sha: v2, opens: `the deploy window that opens at ${OPENS}` });
    expect((await env.run(["status"], at(FRIDAY_EVENING))).stdout).toContain(`waiting    ${v2.slice(0, 12)} for the deploy window that opens at ${OPENS}`);
    const prom = readFileSync(join(metrics, "konta.prom"), "utf8");
    expect(prom).toContain("konta_deploy_window_open 0");
    expect(prom).toContain("konta_waiting_commit 1");
    expect(prom).toContain(`konta_deploy_window_opens_timestamp_seconds ${Date.parse("2026-12-14T07:00:00Z") / 1000}`);
    const history = JSON.parse((await env.run(["history", "--json", "-n", "1"])).stdout);
    expect(history[0]).toMatchObject({ kind: "waiting", result: "waiting", sha: v2, opensAt: "2026-12-14T07:00:00.000Z" });

    // the weekend: one Git request a tick, nothing fetched, nothing recorded again
    for (const when of [SATURDAY, MONDAY_EARLY]) {
      const before = rig.git.requests.length;
      const tick = await env.run(["sync"], at(when));
      expect({ when, code: tick.code }).toEqual({ when, code: 0 });
      expect(tick.stdout).toContain(`${v2.slice(0, 12)} waits for the deploy window that opens at ${OPENS}; up to date at`);
      expect(rig.git.requests.length - before).toBe(1);
    }
    expect(JSON.parse((await env.run(["history", "--json"])).stdout).filter((e: { kind: string }) => e.kind === "waiting").length).toBe(1);
    expect(await running()).toBe("1");

    // Monday 08:00:30 in Berlin
    const monday = await env.run(["sync"], at(MONDAY_OPEN));
    expect({ code: monday.code, out: monday.stdout }).toMatchObject({ code: 0 });
    expect(monday.stdout).toContain(`deployed ${v2.slice(0, 12)}`);
    expect(await running()).toBe("2");
    expect(env.readState().waiting).toBeUndefined();
    expect(readFileSync(join(metrics, "konta.prom"), "utf8")).toContain("konta_waiting_commit 0");

    // --now on a Saturday: deployed, and the history says it was outside the windows
    const v3 = repo.write(app("3")).commit("v3");
    const now = await env.run(["sync", "--now"], at("2026-12-19 11:00:00"));
    expect({ code: now.code, all: now.all }).toMatchObject({ code: 0 });
    expect(now.all).toContain(`outside the deploy windows (sync.windows): deploying ${v3.slice(0, 12)} anyway (--now)`);
    expect(await running()).toBe("3");
    const last = JSON.parse((await env.run(["history", "--json", "-n", "1"])).stdout)[0];
    expect(last).toMatchObject({ kind: "deploy", sha: v3, outsideWindow: true });
    expect((await env.run(["history"])).stdout).toContain("outside the deploy windows (konta sync --now)");
  }, 180_000);

  test("a commit that would be refused is refused at once, outside the window; a rollback never waits", async () => {
    const { repo, env } = setUp();
    const v1 = repo.write(app("1")).commit("v1");
    expect((await env.run(["sync"], at("2026-12-10 10:00:00"))).code).toBe(0);
    repo.write(app("2")).commit("v2");
    const second = await env.run(["sync"], at("2026-12-10 12:00:00"));
    expect(second.code, second.all).toBe(0);
    expect(await running()).toBe("2");

    const bad = repo.write({ [FILE]: "services:\n  web:\n    image: konta-test/busybox:1\n    ports: [\"not a port\"]\n" }).commit("broken");
    const r = await env.run(["sync"], at(FRIDAY_EVENING));
    expect({ code: r.code }).toEqual({ code: 2 });
    expect(r.all).toContain("apps/kt-window/docker-compose.yml");
    expect(env.readState().failed.sha).toBe(bad);
    expect(env.readState().waiting).toBeUndefined();

    const back = await env.run(["rollback", v1], at(SATURDAY));
    expect({ code: back.code, all: back.all }).toMatchObject({ code: 0 });
    expect(await running()).toBe("1");
  }, 120_000);

  test("drift outside the window waits for it; with repair_outside_windows it is repaired at once", async () => {
    const { repo, env } = setUp();
    repo.write(app("1")).commit("v1");
    expect((await env.run(["sync"], at("2026-12-10 10:00:00"))).code).toBe(0);
    sh("docker", ["rm", "-f", "kt-window-web-1"]);
    const held = await env.run(["sync"], at(SATURDAY));
    expect({ code: held.code }).toEqual({ code: 0 });
    expect(held.all).toContain("drift left for the deploy window");
    expect(held.all).toContain(`left until the deploy window that opens at ${OPENS}; sync.repair_outside_windows`);
    expect(await running()).toBeUndefined();
    env.writeConfig({ sections: { sync: { windows: ["Mon-Fri 08:00-16:00"], timezone: "Europe/Berlin", repair_outside_windows: true } } });
    const repaired = await env.run(["sync"], at(SATURDAY));
    expect({ code: repaired.code, out: repaired.stdout }).toMatchObject({ code: 0 });
    expect(repaired.stdout).toContain("repaired drift");
    expect(await running()).toBe("1");
  }, 120_000);

  test("a clock that jumps is read again: a commit waiting for Monday goes live when the clock steps back into Friday's window; the night daylight saving starts", async () => {
    const { repo, env } = setUp();
    repo.write(app("1")).commit("v1");
    expect((await env.run(["sync"], at("2026-12-10 10:00:00"))).code).toBe(0);
    const v2 = repo.write(app("2")).commit("v2");
    expect((await env.run(["sync"], at(FRIDAY_EVENING))).stdout).toContain("waits for");
    // an NTP step puts the clock back two hours, into Friday's window: the stored opening is not waited for
    const stepped = await env.run(["sync"], at("2026-12-11 14:55:00"));
    expect(stepped.stdout).toContain(`deployed ${v2.slice(0, 12)}`);

    // Sunday 02:00-04:00 in Berlin, the night of 2026-03-29: 02:00 CET does not happen, 03:00 CEST follows 01:59 CET
    env.writeConfig({ sections: { sync: { windows: ["Sun 02:00-04:00"], timezone: "Europe/Berlin" } } });
    const v3 = repo.write(app("3")).commit("v3");
    const before = await env.run(["sync"], at("2026-03-29 00:59:00"));
    expect(before.stdout).toContain(`${v3.slice(0, 12)} waits for the deploy window that opens at Sun 2026-03-29 03:00 Europe/Berlin`);
    const after = await env.run(["sync"], at("2026-03-29 01:00:30"));
    expect(after.stdout).toContain(`deployed ${v3.slice(0, 12)}`);
    expect(await running()).toBe("3");
  }, 120_000);
});
