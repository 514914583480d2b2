// Clock jumps as Konta sees them (libfaketime moves the clock of the konta process only, as an engine
// on another host, or an NTP step between a container's start and the gate, would): min_uptime is
// counted on Konta's own monotonic clock, so a clock behind the engine's neither fails a healthy
// service nor does one ahead pass a service that dies within min_uptime. Found by the chaos run.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { compose, sleeper } from "../support/compose.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const clock = (offset: string) => ({ LD_PRELOAD: FAKETIME, FAKETIME: offset });

describe("clock jumps", () => {
  test("libfaketime is installed (tests/support/setup.sh)", () => {
    expect(existsSync(FAKETIME)).toBe(true);
  });

  test("Konta's clock three hours behind the engine's: a healthy service passes min_uptime", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-clock-behind/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("v1");
    const env = rig.env(repo, { deploy: { min_uptime: 2, health_timeout: 30 } });
    const r = await env.run(["sync"], { env: clock("-3h") });
    expect(r.code, r.all).toBe(0);
    // the clock was moved: the run recorded its time three hours back
    expect(Date.now() - Date.parse(env.readState().lastAttempt.at)).toBeGreaterThan(2.5 * 3600_000);
  });

  test("Konta's clock two days ahead: a service that dies within min_uptime still fails the gate", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-clock-ahead/docker-compose.yml": compose({ services: { s: sleeper({ command: ["sh", "-c", "sleep 3; exit 1"] }) } }) }).commit("v1");
    const env = rig.env(repo, { deploy: { min_uptime: 8, health_timeout: 60 } });
    const r = await env.run(["sync"], { env: clock("+2d") });
    expect(r.code, r.all).toBe(1);
    expect(r.all).toContain("exited with code 1");
    expect(Date.parse(env.readState().lastAttempt.at) - Date.now()).toBeGreaterThan(1.5 * 86400_000);
  });
});
