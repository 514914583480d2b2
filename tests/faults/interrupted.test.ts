// Issue "A run killed in the middle of a recreate": the engine carries out a request whose client
// died, so a killed run can leave a container half-made, under a temporary or _replaced_ name, or
// still being created when the next run looks. The next run converges (one container per service,
// no stray name, the commit deployed) and never remembers the commit as failed.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RECREATE_STEPS } from "../../lib/base/failpoint.ts";
import { compose, sleeper } from "../support/compose.ts";
import { expectConverged, expectStoreClean } from "../support/converged.ts";
import { startDockerProxy } from "../support/docker-proxy.ts";
import { engine, ensureEngine, sh, TEST_LABEL } from "../support/docker.ts";
import { kontaBinary, type KontaEnv } from "../support/konta.ts";
import { DockerClient } from "../../lib/docker/client.ts";
import { createContainer, inspectContainer } from "../../lib/docker/engine.ts";
import { claimName } from "../../lib/targets/engine/journal.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

const app = (version: string, extra: Record<string, unknown> = {}) =>
  compose({ services: { web: sleeper({ environment: { VERSION: version }, ...extra }), db: sleeper({ environment: { VERSION: "db" } }) } });

// Every step of both recreate orders (lib/targets/engine/apply.ts) with a SIGKILL there.
const ORDERS = {
  "stop-first": ["created", "old-stopped", "old-renamed", "renamed", "started", "done"],
  "start-first": ["created", "started", "old-disconnected", "old-removed", "done"],
} as const;

describe("SIGKILL at each step of a recreate", () => {
  test("the table covers every recreate failpoint", () => {
    expect(new Set(Object.values(ORDERS).flat())).toEqual(new Set(RECREATE_STEPS));
  });
  // one project per order, taken through its steps one after another: each kill lands on what the
  // recovery from the one before left
  for (const [order, steps] of Object.entries(ORDERS)) {
    test(`${order}: killed after ${steps.join(", then after ")}: each time the next run converges on the new commit`, async () => {
      const project = `kt-int-${order === "start-first" ? "sf" : "ss"}`;
      const rolling = order === "start-first" ? { labels: { "konta.managed": "true", "konta.rolling": "true" } } : {};
      const repo = rig.repo();
      repo.write({ [`apps/${project}/docker-compose.yml`]: app("0", rolling) }).commit("v0");
      const env = rig.env(repo);
      expect((await env.run(["sync"])).code).toBe(0);
      for (const [i, step] of steps.entries()) {
        const version = String(i + 1);
        const sha = repo.write({ [`apps/${project}/docker-compose.yml`]: app(version, rolling) }).commit(`v${version}`);
        const killed = await env.run(["sync"], { env: { KONTA_FAILPOINT: `recreate:${step}` } });
        expect({ step, code: killed.code }).toEqual({ step, code: 137 });
        const r = await env.run(["sync"]);
        expect({ step, code: r.code, all: r.all }).toMatchObject({ step, code: 0 });
        await expectConverged(project, { web: version, db: "db" });
        expectStoreClean(env, sha);
        expect(env.readState().failed).toBeUndefined();
      }
      expect((await env.run(["sync"])).stdout).toContain("up to date");
    }, 300_000);
  }
});

test("a deploy that fails in the run after a killed one is not remembered against its commit; the next failure is", async () => {
  const repo = rig.repo();
  repo.write({ "apps/kt-int-bad/docker-compose.yml": app("1") }).commit("v1");
  const env = rig.env(repo, { deploy: { health_timeout: 5 } });
  expect((await env.run(["sync"])).code).toBe(0);
  // v2's web exits at once: it can never pass its gate
  const v2 = repo.write({ "apps/kt-int-bad/docker-compose.yml": app("2", { command: ["sh", "-c", "exit 3"], restart: "always" }) }).commit("v2");
  expect((await env.run(["sync"], { env: { KONTA_FAILPOINT: "recreate:created" } })).code).toBe(137);

  const after = await env.run(["sync"]);
  expect({ code: after.code, all: after.all }).toMatchObject({ code: 1 });
  expect(after.all).toContain("is not remembered as failed");
  expect(env.readState().failed).toBeUndefined();
  await expectConverged("kt-int-bad", { web: "1", db: "db" });

  const again = await env.run(["sync"]);
  expect(again.code).toBe(1);
  expect(env.readState().failed?.sha).toBe(v2);
  expect((await env.run(["sync"])).all).toContain(`skipping ${v2.slice(0, 12)}`);
});

// A create on the vfs driver copies the image: with a large image it takes long enough for the
// next run to start while the engine is still carrying out the killed run's create.
const HEAVY = "konta-test/heavy:1";

async function ensureHeavyImage(): Promise<void> {
  await ensureEngine();
  if (await engine(`/images/${encodeURIComponent(HEAVY)}/json`).then(() => true, () => false)) return;
  const root = mkdtempSync(join(tmpdir(), "konta-heavy-"));
  try {
    mkdirSync(join(root, "bin"));
    copyFileSync("/bin/busybox", join(root, "bin/busybox"));
    chmodSync(join(root, "bin/busybox"), 0o755);
    for (const a of ["sh", "sleep"]) symlinkSync("busybox", join(root, "bin", a));
    writeFileSync(join(root, "ballast"), Buffer.alloc(96 * 1024 * 1024, 1));
    sh("bash", ["-c", `tar -C '${root}' -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - ${HEAVY}`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** `heavy`: web on the large image, whose create takes a while (only where a create is to be caught in flight). */
const heavyApp = (version: string, heavy = true) =>
  compose({ services: { web: { ...sleeper({ environment: { VERSION: version } }), ...(heavy ? { image: HEAVY } : {}) }, db: sleeper({ environment: { VERSION: "db" } }) } });

/**
 * `konta sync --now` through a proxy to the engine, SIGKILLed the moment it prints `recreating`,
 * or (`inFlight`) the moment after: once the recreate's create has reached the engine, which
 * then goes on creating the container for a client that is gone.
 */
async function killWhenRecreating(env: KontaEnv, inFlight: boolean): Promise<Promise<Response> | undefined> {
  const proxy = startDockerProxy();
  let forwarded: Promise<Response> | undefined;
  const proc = Bun.spawn([kontaBinary(), ...env.args("sync", "--now")], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", DOCKER_HOST: proxy.host },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  proxy.inject(async (req, path) => {
    if (!inFlight || req.method !== "POST" || !/\/containers\/create\?name=[0-9a-f]{12}_/.test(path)) return undefined;
    const body = await req.arrayBuffer();
    forwarded = fetch(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json" }, body, unix: "/var/run/docker.sock" } as RequestInit);
    proc.kill("SIGKILL");
    return new Response("", { status: 599 });
  });
  let seen = "";
  const watch = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      seen += decoder.decode(chunk, { stream: true });
      if (!inFlight && seen.includes("recreating")) proc.kill("SIGKILL");
    }
  };
  try {
    await Promise.all([watch(proc.stdout), watch(proc.stderr), proc.exited]);
  } finally {
    proxy.close();
  }
  expect({ signal: proc.signalCode, seen }).toMatchObject({ signal: "SIGKILL" });
  expect(seen).toContain("recreating");
  if (inFlight) expect(forwarded).toBeDefined();
  return forwarded;
}

describe("a run killed in the middle of a recreate, while the engine may still carry out its create", () => {
  test("killed the moment it prints `recreating`, then `konta sync --now` at once: 20 rounds", async () => {
    await ensureHeavyImage();
    const repo = rig.repo();
    repo.write({ "apps/kt-inflight/docker-compose.yml": heavyApp("0") }).commit("v0");
    const env = rig.env(repo);
    expect((await env.run(["sync"])).code).toBe(0);
    for (let round = 1; round <= 20; round++) {
      // odd rounds: killed at the print, before the create is sent; even ones: once it is sent, on
      // the large image, which the engine is still copying when the next run starts
      const inFlight = round % 2 === 0;
      const sha = repo.write({ "apps/kt-inflight/docker-compose.yml": heavyApp(String(round), inFlight) }).commit(`v${round}`);
      const forwarded = await killWhenRecreating(env, inFlight);
      const r = await env.run(["sync", "--now"]);
      expect({ round, code: r.code, all: r.all }).toMatchObject({ round, code: 0 });
      if (inFlight) {
        // the dead run's container was waited for, landed, and was the first thing removed
        expect(r.all).toContain("settling what it left");
        expect((await forwarded)?.status).toBe(201);
        expect(r.all.indexOf("removing (left by an interrupted recreate)")).toBeGreaterThan(-1);
        expect(r.all.indexOf("removing (left by an interrupted recreate)")).toBeLessThan(r.all.indexOf("recreating"));
      }
      await expectConverged("kt-inflight", { web: String(round), db: "db" });
      expectStoreClean(env, sha);
      expect(env.readState().failed).toBeUndefined();
    }
  }, 600_000);

  test("a name of its own held by a container it left is taken back, once that create lands; anyone else's is not", async () => {
    await ensureHeavyImage();
    const docker = await DockerClient.connect();
    const mine = { "com.docker.compose.project": "kt-claim", "com.docker.compose.service": "web", "konta.managed": "true", "konta.commit": "c1" };
    const ours = (labels: Record<string, string>) => labels["com.docker.compose.project"] === "kt-claim" && labels["konta.commit"] !== undefined;
    // a create of the name still in flight (the listing and inspect do not show it yet), then landed
    const first = createContainer(docker, "kt-claim-web-1", { Image: HEAVY, Cmd: ["sleep", "1"], Labels: mine });
    await Bun.sleep(50);
    const id = await claimName(docker, "kt-claim-web-1", ours, () =>
      createContainer(docker, "kt-claim-web-1", { Image: "konta-test/busybox:1", Cmd: ["sleep", "1"], Labels: { ...mine, "konta.commit": "c2" } }),
    );
    const strayId = await first;
    expect(await inspectContainer(docker, strayId)).toBeUndefined();
    expect((await inspectContainer(docker, id))?.Config.Labels["konta.commit"]).toBe("c2");

    // someone else's container keeps its name: the engine's 409 is the error
    await engine(`/containers/${id}`, { method: "DELETE", query: { force: 1 } });
    await engine("/containers/create", { method: "POST", query: { name: "kt-claim-web-1" }, body: { Image: "konta-test/busybox:1", Cmd: ["sleep", "1"], Labels: { [TEST_LABEL]: "1" } } });
    const err = await claimName(docker, "kt-claim-web-1", ours, () => createContainer(docker, "kt-claim-web-1", { Image: "konta-test/busybox:1", Labels: mine })).catch((e) => e);
    expect(String(err)).toContain("409");
    expect((await inspectContainer(docker, "kt-claim-web-1"))?.Config.Labels[TEST_LABEL]).toBe("1");
  });
});
