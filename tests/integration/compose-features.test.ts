// Compose features beyond one file per project (issue "The Compose features Konta still refuses"),
// through the binary against the real engine: how Compose reads them is in tests/oracle/.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, MANAGED, sleeper } from "../support/compose.ts";
import { engine, execText, IMAGE, inspect } from "../support/docker.ts";
import { startGitServer } from "../support/git-server.ts";
import { TestRepo } from "../support/repo.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();

describe("include", () => {
  test("an app split into included files deploys; a change in one recreates exactly its services; a bad include changes nothing", async () => {
    const repo = rig.repo();
    const app = "apps/kt-include";
    const db = (color: string) => compose({ services: { db: sleeper({ environment: { COLOR: color } }) } });
    repo
      .write({
        [`${app}/compose.yaml`]: compose({ include: ["db/compose.yaml", { path: "web/compose.yaml", env_file: "web/web.env" }], services: { proxy: sleeper() } }),
        [`${app}/db/compose.yaml`]: db("blue"),
        [`${app}/web/compose.yaml`]: compose({ services: { web: sleeper({ environment: { GREETING: "${GREETING}" } }) } }),
        [`${app}/web/web.env`]: "GREETING=hello\n",
      })
      .commit("split app");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const ids = async () => Object.fromEntries(await Promise.all(["proxy", "db", "web"].map(async (s) => [s, (await inspect(`kt-include-${s}-1`))?.Id]))) as Record<string, string>;
    const before = await ids();
    expect(Object.values(before).every(Boolean)).toBe(true);
    expect((await inspect("kt-include-web-1"))?.Config.Env).toContain("GREETING=hello");

    repo.write({ [`${app}/db/compose.yaml`]: db("green") }).commit("db only");
    const r = await env.ok(["sync"]);
    expect(r.stdout).toContain("updated db");
    const after = await ids();
    expect(after.db).not.toBe(before.db as string);
    expect(after.web).toBe(before.web as string);
    expect(after.proxy).toBe(before.proxy as string);
    expect((await inspect("kt-include-db-1"))?.Config.Env).toContain("COLOR=green");
    const live = env.readState().current.sha;

    // a file outside the repository (the state dir is on this host): exit 2, nothing touched
    repo.write({ [`${app}/compose.yaml`]: compose({ include: ["../../../../../../etc/hostname", "db/compose.yaml"], services: { proxy: sleeper() } }) }).commit("escape");
    const escape = await env.run(["sync"]);
    expect(escape.code).toBe(2);
    expect(escape.all).toContain('include path "../../../../../../etc/hostname" leads outside the repository');
    expect(await ids()).toEqual(after);
    expect(env.readState().current.sha).toBe(live);

    repo
      .write({
        [`${app}/compose.yaml`]: compose({ include: ["db/compose.yaml"], services: { proxy: sleeper() } }),
        [`${app}/db/compose.yaml`]: compose({ include: ["../compose.yaml"], services: { db: sleeper({ environment: { COLOR: "green" } }) } }),
      })
      .commit("cycle");
    const cycle = await env.run(["sync"]);
    expect(cycle.code).toBe(2);
    expect(cycle.all).toContain(`include cycle: ${app}/compose.yaml -> ${app}/db/compose.yaml -> ${app}/compose.yaml`);
    expect(await ids()).toEqual(after);
    expect(env.readState().current.sha).toBe(live);
  });
});

describe("build.dockerfile_inline", () => {
  test("the inline text is the Dockerfile the engine builds; a change in it rebuilds and recreates", async () => {
    const repo = rig.repo();
    const file = "apps/kt-inline/compose.yaml";
    const doc = (version: string) =>
      compose({
        services: {
          app: {
            build: { context: "./src", dockerfile_inline: `FROM ${IMAGE}\nCOPY data.txt /data.txt\nRUN echo ${version} > /version\n` },
            init: true,
            command: ["sleep", "3600"],
            labels: MANAGED,
          },
        },
      });
    try {
      // a context file with the name Konta gives the inline Dockerfile is not sent in its place
      repo.write({ [file]: doc("one"), "apps/kt-inline/src/data.txt": "context\n", "apps/kt-inline/src/.konta-dockerfile-inline": "FROM scratch\n" }).commit("inline");
      const env = rig.env(repo);
      await env.ok(["sync"]);
      const first = await inspect("kt-inline-app-1");
      expect(await execText(first?.Id as string, ["cat", "/version", "/data.txt"])).toBe("one\ncontext\n");

      repo.write({ "README.md": "unrelated\n" }).commit("docs");
      await env.ok(["sync"]);
      expect((await inspect("kt-inline-app-1"))?.Id).toBe(first?.Id as string);

      repo.write({ [file]: doc("two") }).commit("inline changed");
      expect((await env.ok(["sync"])).stdout).toContain("updated app");
      const second = await inspect("kt-inline-app-1");
      expect(second?.Id).not.toBe(first?.Id as string);
      expect(await execText(second?.Id as string, ["cat", "/version"])).toBe("two\n");
    } finally {
      await engine("/images/kt-inline-app", { method: "DELETE", query: { force: 1 } }).catch(() => {});
    }
  });

  test("dockerfile and dockerfile_inline together are refused, as Compose refuses them", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-inline2/compose.yaml": compose({ services: { app: { build: { context: ".", dockerfile: "Dockerfile", dockerfile_inline: `FROM ${IMAGE}\n` }, labels: MANAGED } } }) }).commit("both");
    const r = await rig.env(repo).run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain("services.app.build: dockerfile and dockerfile_inline exclude each other");
  });
});

// Compose 2.26 predates post_start and pre_stop (its `config` drops them): the Compose
// specification stands in ("post_start: run after the container has started, with user,
// privileged, working_dir, environment; pre_stop: run before the container is stopped"), and so
// does current Compose's failing post_start (the service fails to start)
describe("lifecycle hooks", () => {
  const hooked = (version: string, extra: Record<string, unknown> = {}) =>
    compose({
      services: {
        app: sleeper({
          environment: { VERSION: version },
          volumes: ["marks:/marks"],
          // $$: the container's variables, not the project's (Compose interpolates hooks too)
          post_start: [{ command: ["sh", "-c", 'echo "$$GREETING $$VERSION $$(id -u) $$(pwd)" >> post_start'], user: "65534", working_dir: "/tmp", environment: { GREETING: "hello" } }],
          pre_stop: [{ command: 'sh -c "echo stopping $$VERSION >> /marks/pre_stop"' }],
          ...extra,
        }),
      },
      volumes: { marks: {} },
    });
  const cat = (path: string) => execText("kt-hooks-app-1", ["cat", path]);

  test("post_start runs after the start as the hook's user, folder and environment; pre_stop runs in the old container before a recreate", async () => {
    const repo = rig.repo();
    const file = "apps/kt-hooks/compose.yaml";
    repo.write({ [file]: hooked("v1") }).commit("v1");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    // the deploy waited for the hook: its mark is there when sync returns
    expect(await cat("/tmp/post_start")).toBe("hello v1 65534 /tmp\n");

    repo.write({ [file]: hooked("v2") }).commit("v2");
    await env.ok(["sync"]);
    expect(await cat("/marks/pre_stop")).toBe("stopping v1\n");
    expect(await cat("/tmp/post_start")).toBe("hello v2 65534 /tmp\n");
  });

  test("a failing post_start fails the deploy and brings the previous release back; a failing pre_stop is reported and the stop goes on", async () => {
    const repo = rig.repo();
    const file = "apps/kt-hooks2/compose.yaml";
    const doc = (postStart: string, preStop: string) =>
      compose({ services: { app: sleeper({ post_start: [{ command: ["sh", "-c", postStart] }], pre_stop: [{ command: ["sh", "-c", preStop] }] }) } });
    const good = repo.write({ [file]: doc("true", "echo cannot stop cleanly >&2; exit 4") }).commit("good");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const before = (await inspect("kt-hooks2-app-1"))?.Id;

    const bad = repo.write({ [file]: doc("echo no config >&2; exit 3", "true") }).commit("post_start fails");
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toContain("kt-hooks2/app: post_start[0] (sh -c echo no config >&2; exit 3) exited with status 3");
    expect(r.all).toContain("no config");
    // the old container's own pre_stop ran (and failed) when it was replaced: reported, not blocking
    expect(r.all).toContain("pre_stop[0] (sh -c echo cannot stop cleanly >&2; exit 4) exited with status 4; stopping it anyway");
    expect(r.all).toContain("rolled back");
    expect(env.readState().failed.sha).toBe(bad);
    expect(env.readState().current.sha).toBe(good);
    const back = await inspect("kt-hooks2-app-1");
    expect(back?.State.Running).toBe(true);
    expect(back?.Id).not.toBe(before as string);
  });

  test("a privileged hook is refused where the server forbids privileged containers", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-hooks3/compose.yaml": compose({ services: { app: sleeper({ post_start: [{ command: ["true"], privileged: true }] }) } }) }).commit("privileged hook");
    const r = await rig.env(repo, { deploy: { allow_privileged: false } }).run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain("services.app.post_start[0].privileged: a privileged lifecycle hook");
  });
});

describe("a Git URL as a build context", () => {
  test("the engine clones and builds it; pinned to a commit it is built once; following a branch, at every deploy", async () => {
    // the context's own repository, on a server of its own without auth (a public repository)
    const root = mkdtempSync(join(tmpdir(), "konta-ctx-git-"));
    const server = await startGitServer({ root });
    const ctx = new TestRepo(root, "ctx");
    try {
      const v1 = ctx.write({ "docker/Dockerfile": `FROM ${IMAGE}\nCOPY hello.txt /hello.txt\n`, "docker/hello.txt": "one\n" }).commit("one");
      ctx.push();
      const url = (ref: string) => `${server.repoUrl("ctx")}#${ref}:docker`;
      const doc = (ref: string) => compose({ services: { app: { build: { context: url(ref) }, init: true, command: ["sleep", "3600"], labels: MANAGED } } });
      const repo = rig.repo();
      const file = "apps/kt-gitctx/compose.yaml";
      repo.write({ [file]: doc(v1) }).commit("pinned");
      const env = rig.env(repo);
      await env.ok(["sync"]);
      const hello = () => execText("kt-gitctx-app-1", ["cat", "/hello.txt"]);
      expect(await hello()).toBe("one\n");
      const clones = () => server.requests.filter((r) => r.path.includes("git-upload-pack") && r.method === "POST").length;

      // pinned: another commit of the deploy repository builds nothing
      const before = clones();
      repo.write({ "README.md": "unrelated\n" }).commit("docs");
      const r = await env.ok(["sync"]);
      expect(clones()).toBe(before);
      expect(r.all).not.toContain("names no commit");

      // following main: built at every deploy, so a push to the context's repository arrives with the next commit
      repo.write({ [file]: doc("main") }).commit("follow main");
      const follow = await env.ok(["sync"]);
      expect(follow.all).toContain("names no commit: it is built again at every deploy");
      expect(await hello()).toBe("one\n");
      ctx.write({ "docker/hello.txt": "two\n" }).commit("two");
      ctx.push();
      repo.write({ "README.md": "again\n" }).commit("docs again");
      await env.ok(["sync"]);
      expect(await hello()).toBe("two\n");
    } finally {
      await server.close();
      ctx.dispose();
      rmSync(root, { recursive: true, force: true });
      await engine("/images/kt-gitctx-app", { method: "DELETE", query: { force: 1 } }).catch(() => {});
    }
  });

  test("credentials in a context URL are repeated nowhere: a failed build names the service, not the secret", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-gitctx2/compose.yaml": compose({ services: { app: { build: "http://deploy:s3cr3t-tok@127.0.0.1:9/none.git#main", labels: MANAGED } } }) }).commit("unreachable");
    const env = rig.env(repo);
    const r = await env.run(["sync"]);
    expect(r.code).toBe(1);
    expect(r.all).toContain("build of kt-gitctx2-app");
    expect(r.all).not.toContain("s3cr3t-tok");
    // nor in what the run wrote down: state (the failed commit, the last attempt), the history, the status
    const state = readFileSync(join(env.state, "state.json"), "utf8");
    const history = readFileSync(join(env.state, "history.jsonl"), "utf8");
    expect(state).toContain("build of kt-gitctx2-app");
    expect(history).toContain("build of kt-gitctx2-app");
    const status = await env.run(["status", "--json"]);
    for (const [where, text] of Object.entries({ state, history, status: status.all })) expect({ where, leaked: text.includes("s3cr3t-tok") }).toEqual({ where, leaked: false });
  });
});

// Compose 2.26 predates use_api_socket (2.35): the specification stands in ("the container can talk
// to the engine through the API socket")
test("use_api_socket: the engine's own socket is in the container at /var/run/docker.sock", async () => {
  const repo = rig.repo();
  repo.write({ "apps/kt-apisock/compose.yaml": compose({ services: { app: sleeper({ use_api_socket: true }) } }) }).commit("socket");
  await rig.env(repo).ok(["sync"]);
  // the same socket (its inode) as the engine's on the host; busybox has no client to call it with
  const out = await execText("kt-apisock-app-1", ["ls", "-liL", "/var/run/docker.sock"]);
  expect(out).toMatch(new RegExp(`^${statSync("/var/run/docker.sock").ino} s`));
});
