// Issue "Reliability and security suite": the disk holding the state dir fills up during a
// deploy (a small tmpfs). Clear error, the old release stays live, nothing half-written; once
// there is room the next run deploys.
import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { expectConverged, expectStoreClean } from "../support/converged.ts";
import { sh } from "../support/docker.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) sh("umount", ["-l", m]);
});

const app = (version: string) => compose({ services: { web: sleeper({ environment: { VERSION: version } }) } });

describe("disk full", () => {
  test("ENOSPC while fetching and checking out: a clear error, the old release live, no partial release", async () => {
    const repo = rig.repo();
    const v1 = repo.write({ "apps/kt-disk/docker-compose.yml": app("1") }).commit("v1");
    const env = rig.env(repo);
    mkdirSync(env.state, { recursive: true });
    sh("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", env.state]);
    mounts.push(env.state);
    expect((await env.run(["sync"])).code).toBe(0);

    // 3 MB that do not compress: neither the pack nor the checkout fits
    repo.write({ "apps/kt-disk/docker-compose.yml": app("2"), "apps/kt-disk/blob.bin": randomBytes(3 * 1024 * 1024).toString("base64") }).commit("v2");
    const r = await env.run(["sync"]);
    expect(r.code).not.toBe(0);
    expect(r.all).toMatch(/no space left on device/i);
    expect(r.all).not.toMatch(/^\s+at /m); // an error for a person, not a stack trace
    await expectConverged("kt-disk", { web: "1" });
    expectStoreClean(env, v1);
    expect(readdirSync(join(env.state, "releases")).sort()).toEqual([v1]);
    expect(() => JSON.parse(readFileSync(join(env.state, "state.json"), "utf8"))).not.toThrow();

    sh("mount", ["-o", "remount,size=64m", env.state]);
    const ok = await env.run(["sync", "--now"]);
    expect(ok.code).toBe(0);
    await expectConverged("kt-disk", { web: "2" });
    expect(basename(readlinkSync(join(env.state, "current")))).not.toBe(v1);
  });
});
