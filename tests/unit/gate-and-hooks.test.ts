// The health gate's rule (gateVerdict) and the hook environment, without an engine or a binary.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hookEnvironment, hookPath, runHook } from "../../lib/hooks/index.ts";
import { gateVerdict } from "../../lib/targets/engine/health.ts";
import { clearSecrets, registerSecret } from "../../lib/base/redact.ts";

// how long the gate has seen the container running
const UP = 10_000;
const container = (state: Record<string, unknown>, restarts = 0) => ({
  RestartCount: restarts,
  State: { Status: "running", Running: true, Restarting: false, ExitCode: 0, StartedAt: "2026-11-26T10:00:00Z", FinishedAt: "", ...state },
});

describe("gateVerdict", () => {
  test("up for min_uptime without a healthcheck: passes; not yet: waits", () => {
    expect(gateVerdict(container({}), 0, false, 5_000, UP)).toEqual({ done: true, ok: true });
    expect(gateVerdict(container({}), 0, false, 20_000, UP)).toEqual({ done: false, why: "running" });
  });
  test("a healthcheck decides: healthy passes, starting waits, unhealthy fails with its last output", () => {
    expect(gateVerdict(container({ Health: { Status: "healthy" } }), 0, false, 60_000, UP)).toEqual({ done: true, ok: true });
    expect(gateVerdict(container({ Health: { Status: "starting" } }), 0, false, 0, UP)).toEqual({ done: false, why: "health: starting" });
    expect(gateVerdict(container({ Health: { Status: "unhealthy", Log: [{ ExitCode: 1, Output: "db down\nmore" }] } }), 0, false, 0, UP)).toEqual({
      done: true,
      ok: false,
      why: "unhealthy: db down",
    });
  });
  test("a restart since the gate began, or a restart loop, fails", () => {
    expect(gateVerdict(container({}, 3), 2, false, 0, UP)).toMatchObject({ done: true, ok: false, why: expect.stringContaining("restarting in a loop (restarted 1 times") });
    expect(gateVerdict(container({ Restarting: true, Running: false, ExitCode: 3 }), 0, false, 0, UP)).toMatchObject({ ok: false, why: "restarting in a loop (last exit code 3)" });
  });
  test("exited: a one-shot job with code 0 passes; anything else fails; created waits", () => {
    const exited = (code: number) => container({ Running: false, Status: "exited", ExitCode: code });
    expect(gateVerdict(exited(0), 0, true, 0, UP)).toEqual({ done: true, ok: true });
    expect(gateVerdict(exited(0), 0, false, 0, UP)).toMatchObject({ ok: false, why: "exited with code 0" });
    expect(gateVerdict(exited(2), 0, true, 0, UP)).toMatchObject({ ok: false, why: "exited with code 2" });
    expect(gateVerdict(container({ Running: false, Status: "created" }), 0, false, 0, UP)).toEqual({ done: false, why: "not started yet" });
  });
});

describe("hooks", () => {
  test("the documented environment and nothing else; the error is scrubbed", () => {
    registerSecret("hunter2-token");
    const env = hookEnvironment("failure", { commit: "c1", previous: "c0", releaseDir: "/r", projects: ["a", "b"], error: "auth hunter2-token refused", summaryFile: "/s.json" });
    clearSecrets();
    expect(Object.keys(env).sort()).toEqual(["HOME", "KONTA_COMMIT", "KONTA_ERROR", "KONTA_EVENT", "KONTA_PREVIOUS_COMMIT", "KONTA_PROJECTS", "KONTA_RELEASE_DIR", "KONTA_SUMMARY", "LANG", "PATH"]);
    expect(env).toMatchObject({ KONTA_EVENT: "failure", KONTA_COMMIT: "c1", KONTA_PREVIOUS_COMMIT: "c0", KONTA_PROJECTS: "a b", KONTA_ERROR: "auth *** refused" });
    expect(hookEnvironment("success", { commit: "c1", releaseDir: "/r", projects: [] }).KONTA_ERROR).toBeUndefined();
  });

  test("a hook runs with its arguments and exit code, and is killed at its timeout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "konta-hooks-"));
    try {
      mkdirSync(join(dir, "hooks"));
      writeFileSync(join(dir, "hooks/success.sh"), '#!/bin/sh\n[ "$1" = "{}" ] && exit 7\nexit 1\n', { mode: 0o755 });
      writeFileSync(join(dir, "hooks/pre.sh"), "#!/bin/sh\nsleep 30\n", { mode: 0o755 });
      expect(hookPath(dir, "failure")).toBeUndefined();
      const ok = await runHook("success", { commit: "c", releaseDir: dir, projects: [], args: ["{}"] }, { timeout: 10, enabled: true });
      expect(ok).toMatchObject({ ran: true, exitCode: 7 });
      const started = Date.now();
      const slow = await runHook("pre", { commit: "c", releaseDir: dir, projects: [] }, { timeout: 1, enabled: true });
      expect(slow).toMatchObject({ ran: true, timedOut: true });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await runHook("success", { commit: "c", releaseDir: dir, projects: [] }, { timeout: 10, enabled: false })).toEqual({ ran: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
