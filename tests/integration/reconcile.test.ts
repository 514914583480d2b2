// Issue "Engine reconcile": the plan/apply matrix against the real engine, through the binary.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { compose, httpService, MANAGED, sleeper } from "../support/compose.ts";
import { engine, freePort, httpGet, IMAGE, IMAGE2, inspect, projectContainers, sh, TEST_LABEL, waitFor } from "../support/docker.ts";
import { startDockerProxy } from "../support/docker-proxy.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();



/** Poll an HTTP port while `during` runs; returns the failures seen. */
async function pollDuring<T>(port: number, during: () => Promise<T>): Promise<{ result: T; failures: number; polls: number }> {
  let failures = 0;
  let polls = 0;
  let done = false;
  const poller = (async () => {
    while (!done) {
      const body = await httpGet(port);
      polls++;
      if (body === undefined) failures++;
      await Bun.sleep(10);
    }
  })();
  const result = await during();
  done = true;
  await poller;
  return { result, failures, polls };
}

describe("reconcile matrix", () => {
  test("new app, changed env, changed image tag, changed port", async () => {
    const port1 = await freePort();
    const port2 = await freePort();
    const repo = rig.repo();
    const file = "apps/kt-matrix/docker-compose.yml";
    const web = (extra: Record<string, unknown>) => compose({ services: { web: httpService(port1, extra), side: sleeper() } });
    repo.write({ [file]: web({ environment: { COLOR: "blue" } }) }).commit("new app");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const c1 = await inspect("kt-matrix-web-1");
    expect(c1?.Config.Env).toContain("COLOR=blue");
    const side = (await inspect("kt-matrix-side-1"))?.Id;

    repo.write({ [file]: web({ environment: { COLOR: "green" } }) }).commit("env");
    expect((await env.ok(["sync"])).stdout).toContain("updated web");
    const c2 = await inspect("kt-matrix-web-1");
    expect(c2?.Id).not.toBe(c1?.Id as string);
    expect(c2?.Config.Env).toContain("COLOR=green");

    repo.write({ [file]: web({ environment: { COLOR: "green" }, image: IMAGE2 }) }).commit("image");
    await env.ok(["sync"]);
    expect(await httpGet(port1)).toBe("image 2\n");

    repo.write({ [file]: compose({ services: { web: httpService(port2, { environment: { COLOR: "green" }, image: IMAGE2 }), side: sleeper() } }) }).commit("port");
    await env.ok(["sync"]);
    expect(await httpGet(port2)).toBe("image 2\n");
    expect(await httpGet(port1)).toBeUndefined();
    expect((await inspect("kt-matrix-side-1"))?.Id).toBe(side as string);
  });

  test("added and removed services; the unmanaged one is never touched", async () => {
    const repo = rig.repo();
    const file = "apps/kt-add/docker-compose.yml";
    repo.write({ [file]: compose({ services: { a: sleeper(), b: sleeper() } }) }).commit("a b");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    // a container of the same project that Konta does not manage (no konta.managed label)
    const { Id: manual } = await engine<{ Id: string }>("/containers/create", {
      method: "POST",
      query: { name: "kt-add-manual-1" },
      body: { Image: IMAGE, Cmd: ["sleep", "600"], Labels: { [TEST_LABEL]: "1", "com.docker.compose.project": "kt-add", "com.docker.compose.service": "manual" } },
    });
    await engine(`/containers/${manual}/start`, { method: "POST" });

    repo.write({ [file]: compose({ services: { b: sleeper(), c: sleeper() } }) }).commit("-a +c");
    const r = await env.ok(["sync"]);
    expect(r.stdout).toContain("added c");
    expect(r.stdout).toContain("removed a");
    const names = [...(await projectContainers("kt-add")).keys()].sort();
    expect(names).toEqual(["kt-add-b-1", "kt-add-c-1", "kt-add-manual-1"]);
    expect((await inspect(manual))?.State.Running).toBe(true);
  });

  test("konta.stopped=true stops the service, and back starts the same container", async () => {
    const repo = rig.repo();
    const file = "apps/kt-stop/docker-compose.yml";
    repo.write({ [file]: compose({ services: { s: sleeper() } }) }).commit("run");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const id = (await inspect("kt-stop-s-1"))?.Id;
    repo.write({ [file]: compose({ services: { s: sleeper({ labels: { ...MANAGED, "konta.stopped": "true" } }) } }) }).commit("stop");
    expect((await env.ok(["sync"])).stdout).toContain("stopped s");
    expect((await inspect("kt-stop-s-1"))?.State.Running).toBe(false);
    expect((await inspect("kt-stop-s-1"))?.Id).toBe(id as string);
    // timer runs leave a stopped service stopped
    expect((await env.ok(["sync"])).stdout).toContain("up to date");
    expect((await inspect("kt-stop-s-1"))?.State.Running).toBe(false);
    repo.write({ [file]: compose({ services: { s: sleeper() } }) }).commit("start");
    expect((await env.ok(["sync"])).stdout).toContain("started s");
    expect((await inspect("kt-stop-s-1"))?.State.Running).toBe(true);
    expect((await inspect("kt-stop-s-1"))?.Id).toBe(id as string);
  });

  test("a new service with konta.stopped=true is created but not started", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-cold/docker-compose.yml": compose({ services: { s: sleeper({ labels: { ...MANAGED, "konta.stopped": "true" } }) } }) }).commit("cold");
    await rig.env(repo).ok(["sync"]);
    const c = await inspect("kt-cold-s-1");
    expect(c?.State.Status).toBe("created");
  });

  test("an app folder deleted from Git: containers and network go, the volume and its data stay", async () => {
    const repo = rig.repo();
    const doc = compose({
      services: { db: sleeper({ command: ["sh", "-c", "echo precious > /data/file && exec sleep 3600"], volumes: ["data:/data"] }) },
      volumes: { data: {} },
    });
    repo.write({ "apps/kt-gone/docker-compose.yml": doc, "apps/kt-stays/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("two apps");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    await waitFor(async () => (await inspect("kt-gone-db-1"))?.State.Running, 30_000, "db");
    const stays = (await inspect("kt-stays-s-1"))?.Id;

    repo.write({ "apps/kt-gone": null }).commit("remove app");
    const r = await env.run(["sync", "--verbose"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("kept volumes kt-gone_data");
    expect(await inspect("kt-gone-db-1")).toBeUndefined();
    expect(await engine("/networks/kt-gone_default").then(() => true, () => false)).toBe(false);
    expect((await inspect("kt-stays-s-1"))?.Id).toBe(stays as string);
    const out = sh("docker", ["run", "--rm", "-v", "kt-gone_data:/data", "--label", `${TEST_LABEL}=1`, IMAGE, "cat", "/data/file"]);
    expect(out).toBe("precious\n");
  });
});

describe("networks", () => {
  test("a changed network definition replaces the network and reattaches its services", async () => {
    const repo = rig.repo();
    const file = "apps/kt-net/docker-compose.yml";
    const doc = (internal: boolean) => compose({ services: { s: sleeper({ networks: ["back"] }), t: sleeper() }, networks: { back: { internal } } });
    repo.write({ [file]: doc(false) }).commit("net");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const before = await engine<{ Id: string }>("/networks/kt-net_back");
    const t = (await inspect("kt-net-t-1"))?.Id;
    repo.write({ [file]: doc(true) }).commit("internal");
    const r = await env.ok(["sync"]);
    expect(r.stdout).toContain("updated s");
    const after = await engine<{ Id: string; Internal: boolean }>("/networks/kt-net_back");
    expect(after.Id).not.toBe(before.Id);
    expect(after.Internal).toBe(true);
    expect(Object.keys((await inspect("kt-net-s-1"))?.NetworkSettings.Networks ?? {})).toEqual(["kt-net_back"]);
    expect((await inspect("kt-net-t-1"))?.Id).toBe(t as string);
  });
});

describe("failures", () => {
  test("a new image that does not exist fails before anything is stopped", async () => {
    const port = await freePort();
    const repo = rig.repo();
    const file = "apps/kt-noimage/docker-compose.yml";
    repo.write({ [file]: compose({ services: { web: httpService(port) } }) }).commit("good");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const before = (await inspect("kt-noimage-web-1"))?.Id;
    const bad = repo.write({ [file]: compose({ services: { web: httpService(port, { image: "konta-test/does-not-exist:1" }) } }) }).commit("bad image");
    const { result, failures, polls } = await pollDuring(port, () => env.run(["sync"]));
    expect(result.code).toBe(1);
    expect(result.all).toContain("konta-test/does-not-exist:1");
    expect(polls).toBeGreaterThan(3);
    expect(failures).toBe(0);
    expect((await inspect("kt-noimage-web-1"))?.Id).toBe(before as string);
    expect(env.readState().failed.sha).toBe(bad);
  });

  test("a failing healthcheck rolls back automatically; the failed commit is not retried until --now", async () => {
    const port = await freePort();
    const repo = rig.repo();
    const file = "apps/kt-rollback/docker-compose.yml";
    const good = repo.write({ [file]: compose({ services: { web: httpService(port), side: sleeper() } }) }).commit("good");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const side = (await inspect("kt-rollback-side-1"))?.Id;
    const unhealthy = { healthcheck: { test: ["CMD", "false"], interval: "500ms", retries: 1 }, image: IMAGE2 };
    const bad = repo.write({ [file]: compose({ services: { web: httpService(port, unhealthy), side: sleeper() } }) }).commit("bad health");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toContain("unhealthy");
    expect(r.all).toContain("rolled back");
    expect(await waitFor(() => httpGet(port), 30_000, "the old version")).toBe("image 1\n");
    expect((await inspect("kt-rollback-side-1"))?.Id).toBe(side as string);
    const s = env.readState();
    expect(s.failed.sha).toBe(bad);
    expect(s.current.sha).toBe(good);
    expect(s.lastAttempt.result).toBe("failed");

    const skip = await env.run(["sync"]);
    expect(skip.code).toBe(0);
    expect(skip.all).toContain(`skipping ${bad.slice(0, 12)}`);
    const retry = await env.run(["sync", "--now"]);
    expect(retry.code).toBe(1);
    expect(retry.all).toContain("unhealthy");
    expect(await waitFor(() => httpGet(port), 30_000, "the old version")).toBe("image 1\n");
  });

  test("a container that exits at once fails the gate and is rolled back", async () => {
    const repo = rig.repo();
    const file = "apps/kt-crash/docker-compose.yml";
    repo.write({ [file]: compose({ services: { s: sleeper({ restart: "always" }) } }) }).commit("good");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    repo.write({ [file]: compose({ services: { s: sleeper({ restart: "always", command: ["sh", "-c", "echo boom; exit 3"] }) } }) }).commit("crash");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toMatch(/restarting in a loop|exited with code 3/);
    expect(r.all).toContain("boom");
    const c = await inspect("kt-crash-s-1");
    expect(c?.State.Running).toBe(true);
    expect(c?.Config.Cmd).toEqual(["sleep", "3600"]);
  });
});

describe("projects converge concurrently", () => {
  // ready six seconds after it starts: applied one after another, the second would start at least
  // six seconds after the first
  const slowToReady = (v: string) =>
    sleeper({
      command: ["sh", "-c", "sleep 6; echo > /tmp/ready; exec sleep 3600"],
      healthcheck: { test: ["CMD-SHELL", "cat /tmp/ready"], interval: "300ms", retries: 100 },
      environment: { V: v },
    });

  test("independent projects are applied and health-gated at the same time", async () => {
    const repo = rig.repo();
    repo.write({
      "apps/kt-par-a/docker-compose.yml": compose({ services: { s: slowToReady("1") } }),
      "apps/kt-par-b/docker-compose.yml": compose({ services: { s: slowToReady("1") } }),
    }).commit("two slow projects");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const [a, b] = [await inspect("kt-par-a-s-1"), await inspect("kt-par-b-s-1")];
    // each waited six seconds for its gate; the second started before the first was ready
    expect(Math.abs(Date.parse(a?.State.StartedAt ?? "") - Date.parse(b?.State.StartedAt ?? ""))).toBeLessThan(6000);
  });

  test("a failure in one: the other finishes, and every project the deploy touched goes back", async () => {
    const repo = rig.repo();
    const files = (bHealthy: boolean, v: string) => ({
      "apps/kt-par-a/docker-compose.yml": compose({ services: { s: slowToReady(v) } }),
      "apps/kt-par-b/docker-compose.yml": compose({
        services: { s: bHealthy ? sleeper({ environment: { V: v } }) : sleeper({ environment: { V: v }, healthcheck: { test: ["CMD", "false"], interval: "300ms", retries: 1 } }) },
      }),
      "apps/kt-par-c/docker-compose.yml": compose({ services: { s: sleeper() } }),
    });
    repo.write(files(true, "1")).commit("v1");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const c = (await inspect("kt-par-c-s-1"))?.Id;
    repo.write({ ...files(false, "2"), "apps/kt-par-c/docker-compose.yml": compose({ services: { s: sleeper() } }) }).commit("v2: b fails its gate");
    const r = await env.run(["sync", "--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.summary.failed).toEqual(["kt-par-b"]);
    // a was touched too (it passed its gate) and goes back with b: a commit never half-deploys
    for (const p of ["kt-par-a", "kt-par-b"]) {
      const s = (await projectContainers(p)).get(`${p}-s-1`);
      expect(s?.Config.Env).toContain("V=1");
      expect(s?.State.Running).toBe(true);
    }
    // c had nothing to do and was never touched
    expect((await inspect("kt-par-c-s-1"))?.Id).toBe(c as string);
  });
});

describe("zero downtime and zero writes", () => {
  test("start-first: a proxy in front of the service sees no failed request during the update", async () => {
    const repo = rig.repo();
    const file = "apps/kt-zero/docker-compose.yml";
    const web = (image: string) =>
      compose({
        services: {
          web: httpService(undefined, {
            image,
            healthcheck: { test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1/"], interval: "500ms", retries: 20 },
            deploy: { update_config: { order: "start-first" } },
          }),
        },
      });
    repo.write({ [file]: web(IMAGE) }).commit("v1");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const proxyPort = await freePort();
    // what Traefik's docker provider does: route to running, healthy containers of the service
    const proxy = Bun.serve({
      port: proxyPort,
      hostname: "127.0.0.1",
      async fetch() {
        const list = await engine<{ Id: string; State: string; Status: string; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[]>(
          "/containers/json",
          { query: { filters: JSON.stringify({ label: ["com.docker.compose.project=kt-zero", "com.docker.compose.service=web"] }) } },
        );
        for (const c of list.filter((x) => x.Status.includes("(healthy)"))) {
          const ip = Object.values(c.NetworkSettings.Networks)[0]?.IPAddress;
          try {
            // a bound for an address that went away with its container; generous, as an upstream on a loaded machine can take a second to answer
            return new Response(await (await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(5000) })).text());
          } catch {
            // that upstream just went away: try the next one, as a proxy with retries does
          }
        }
        return new Response("no upstream", { status: 502 });
      },
    });
    try {
      await waitFor(async () => (await httpGet(proxyPort))?.startsWith("image 1"), 30_000, "v1 behind the proxy");
      repo.write({ [file]: web(IMAGE2) }).commit("v2");
      let bad = 0;
      let polls = 0;
      let done = false;
      const poller = (async () => {
        while (!done) {
          const res = await fetch(`http://127.0.0.1:${proxyPort}/`).catch(() => undefined);
          polls++;
          if (!res || res.status !== 200) bad++;
          await Bun.sleep(20);
        }
      })();
      const r = await env.run(["sync"]);
      done = true;
      await poller;
      expect(r.code).toBe(0);
      expect(polls).toBeGreaterThan(10);
      expect(bad).toBe(0);
      expect(await httpGet(proxyPort)).toBe("image 2\n");
      expect([...(await projectContainers("kt-zero")).keys()]).toEqual(["kt-zero-web-1"]);
    } finally {
      proxy.stop(true);
    }
  });

  test("a commit that changes no model makes zero engine write calls", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-same/docker-compose.yml": compose({ services: { a: sleeper(), b: httpService(await freePort()) } }) }).commit("apps");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const proxy = startDockerProxy();
    try {
      repo.write({ "README.md": "docs only\n" }).commit("docs");
      const deploy = await env.run(["sync"], { env: { DOCKER_HOST: proxy.host } });
      expect(deploy.code).toBe(0);
      expect(deploy.stdout).toContain("deployed");
      expect(proxy.requests.length).toBeGreaterThan(0);
      expect(proxy.writes()).toEqual([]);
      const idle = await env.run(["sync"], { env: { DOCKER_HOST: proxy.host } });
      expect(idle.stdout).toContain("up to date");
      expect(proxy.writes()).toEqual([]);
    } finally {
      proxy.close();
    }
  });
});

describe("Compose compatibility", () => {
  test("containers carry Compose's labels; docker-compose ps and logs see them", async () => {
    const repo = rig.repo();
    const sha = repo.write({ "apps/kt-compat/docker-compose.yml": compose({ services: { web: sleeper({ command: ["sh", "-c", "echo hello-from-web; exec sleep 3600"] }) } }) }).commit("c");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const c = await inspect("kt-compat-web-1");
    const dir = join(env.state, "releases", sha, "apps/kt-compat");
    expect(c?.Config.Labels).toMatchObject({
      "com.docker.compose.project": "kt-compat",
      "com.docker.compose.service": "web",
      "com.docker.compose.container-number": "1",
      "com.docker.compose.oneoff": "False",
      "com.docker.compose.project.working_dir": dir,
      "com.docker.compose.project.config_files": join(dir, "docker-compose.yml"),
      "konta.commit": sha,
      "konta.managed": "true",
    });
    expect(c?.Config.Labels["com.docker.compose.config-hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(c?.Config.Labels["com.docker.compose.image"]).toBe(c?.Image as string);
    const ps = sh("docker-compose", ["-p", "kt-compat", "-f", join(dir, "docker-compose.yml"), "ps"]);
    expect(ps).toContain("kt-compat-web-1");
    expect(ps).toContain("Up");
    await waitFor(async () => sh("docker-compose", ["-p", "kt-compat", "-f", join(dir, "docker-compose.yml"), "logs", "--no-color"]).includes("hello-from-web") || undefined, 30_000, "logs");
  });
});
