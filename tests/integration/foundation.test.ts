// Issue "Foundation": the walking skeleton of `konta sync`, real all the way through, through the
// compiled binary: Git server -> release -> Engine API -> current -> state.json.
import { describe, expect, test } from "bun:test";
import { existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { compose, httpService, sleeper } from "../support/compose.ts";
import { freePort, httpGet, inspect, projectContainers, runUnmanaged, waitFor } from "../support/docker.ts";
import { runKonta } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

describe("konta sync, end to end", () => {
  test("deploys a managed web service, then a second run is up to date without fetching", async () => {
    const bystander = await runUnmanaged("kt-bystander");
    const port = await freePort();
    const repo = rig.repo();
    const sha = repo
      .write({ "apps/kt-site/docker-compose.yml": compose({ services: { web: httpService(port) } }) })
      .commit("add site");
    const env = rig.env(repo);

    const first = await env.run(["sync"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`deployed ${sha.slice(0, 12)}`);
    expect(await waitFor(() => httpGet(port), 30_000, "the site")).toContain("image 1");
    expect(readlinkSync(join(env.state, "current"))).toBe(`releases/${sha}`);
    const state = env.readState();
    expect(state.current.sha).toBe(sha);
    expect(state.current.message).toBe("add site");

    const before = await inspect("kt-site-web-1");
    const requestsBefore = rig.git.requests.length;
    const second = await env.run(["sync"]);
    expect(second.code).toBe(0);
    expect(second.stdout.trim()).toBe(`up to date at ${sha.slice(0, 12)}`);
    const after = await inspect("kt-site-web-1");
    expect(after?.Id).toBe(before?.Id as string);
    expect(after?.State.StartedAt).toBe(before?.State.StartedAt as string);
    // one ls-remote, no pack download
    const calls = rig.git.requests.slice(requestsBefore);
    expect(calls.map((r) => r.method + " " + r.path.split("?")[0])).toEqual([`GET /${repo.name}.git/info/refs`]);

    const by = await inspect(bystander);
    expect(by?.State.Running).toBe(true);
  });

  test("a changed command recreates only that service; unmanaged services are never created", async () => {
    const bystander = await runUnmanaged("kt-bystander2");
    const port = await freePort();
    const repo = rig.repo();
    const services = { web: httpService(port), worker: sleeper(), manual: { image: "konta-test/busybox:1", command: ["sleep", "60"] } };
    repo.write({ "apps/kt-shop/docker-compose.yml": compose({ services }) }).commit("first");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    const before = await projectContainers("kt-shop");
    expect([...before.keys()].sort()).toEqual(["kt-shop-web-1", "kt-shop-worker-1"]);

    repo
      .write({ "apps/kt-shop/docker-compose.yml": compose({ services: { ...services, worker: sleeper({ command: ["sleep", "7200"] }) } }) })
      .commit("longer sleep");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kt-shop: updated worker");
    const after = await projectContainers("kt-shop");
    expect(after.get("kt-shop-web-1")?.Id).toBe(before.get("kt-shop-web-1")?.Id as string);
    expect(after.get("kt-shop-worker-1")?.Id).not.toBe(before.get("kt-shop-worker-1")?.Id as string);
    expect(after.get("kt-shop-worker-1")?.Config.Cmd).toEqual(["sleep", "7200"]);
    expect(after.has("kt-shop-manual-1")).toBe(false);
    expect((await inspect(bystander))?.State.Running).toBe(true);
  });

  test("the compiled binary answers --help and documents the exit codes", async () => {
    const r = await runKonta(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sync");
    expect(r.stdout).toContain("Exit codes");
    expect(r.stdout).not.toContain("\u001b["); // no colours when not on a terminal
    expect(existsSync(join(import.meta.dir, "../../dist/konta"))).toBe(true);
  });
});
