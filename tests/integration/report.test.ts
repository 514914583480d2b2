// Issue "each deploy's result on its commit": commit statuses through the binary against stand-ins
// of GitHub's, GitLab's and Gitea's APIs (tests/support/status-api.ts): pending when a deploy
// starts, success or failure when it ends (refused, failed and put back, not the commit's fault),
// a rollback's two commits; the exact request of each provider; a provider down, slow or refusing
// changes nothing on the server, and what could not be posted is posted by the next run.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { type StatusApi, startStatusApi } from "../support/status-api.ts";
import { runKonta } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const TOKEN = "ghs_report_token_5f1e2d3c4b5a69788796";
const apis: StatusApi[] = [];
afterAll(async () => {
  for (const a of apis) await a.close();
});

let seq = 0;
async function setUp(provider: "github" | "gitlab" | "gitea", extra: Record<string, unknown> = {}) {
  const api = await startStatusApi(provider, TOKEN);
  apis.push(api);
  const name = `acme/shop${++seq}`;
  const repo = rig.repo(name);
  const env = rig.env(repo, {
    deploy: { health_timeout: 10 },
    sections: { report: { provider, url: api.url, token: TOKEN, timeout: 2 }, status: { public_url: "https://ops.example.com/konta" }, ...extra },
  });
  return { api, repo, env, name };
}

const app = (v: string, extra: Record<string, unknown> = {}) => compose({ services: { web: sleeper({ environment: { V: v }, ...extra }) } });
const FILE = "apps/kt-report/docker-compose.yml";

/** Everything a person or program could read of this Konta, for "the token appears nowhere". */
function everything(env: { state: string }, output: string): string {
  const files = ["state.json", "history.jsonl", "report-queue.json"].map((f) => join(env.state, f)).filter(existsSync);
  return [output, ...files.map((f) => readFileSync(f, "utf8"))].join("\n");
}

describe("GitHub: each transition on its commit", () => {
  test("pending then success for a deploy; a failed one failure with its reason; a refused one failure naming the file; a rollback's two commits", async () => {
    const { api, repo, env, name } = await setUp("github");
    const v1 = repo.write({ [FILE]: app("1") }).commit("v1");
    const first = await env.run(["sync"]);
    expect(first.code).toBe(0);
    expect(api.taken.map(([sha, state]) => [sha, state])).toEqual([
      [v1, "pending"],
      [v1, "success"],
    ]);
    // the exact request GitHub documents
    const req = api.requests[1];
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe(`/repos/${name}/statuses/${v1}`);
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers.accept).toBe("application/vnd.github+json");
    expect(req?.headers["x-github-api-version"]).toBe("2022-11-28");
    expect(req?.body).toEqual({ state: "success", context: `konta/${hostname()}`, description: expect.stringMatching(new RegExp(`^live on ${hostname()}, deployed in \\d+\\.\\d s$`)), target_url: "https://ops.example.com/konta" });

    // a service that never comes up: failed, put back
    const v2 = repo.write({ [FILE]: app("2", { command: ["sh", "-c", "exit 3"], restart: "always" }) }).commit("v2");
    expect((await env.run(["sync"])).code).toBe(1);
    expect(api.taken.slice(2).map(([sha, state]) => [sha, state])).toEqual([
      [v2, "pending"],
      [v2, "failure"],
    ]);
    const failed = api.taken[3]?.[2] ?? "";
    expect(failed).toStartWith(`failed on ${hostname()}, the previous release put back: `);
    expect(failed).toContain("kt-report-web-1 failed the health gate");
    expect(failed.length).toBeLessThanOrEqual(140);

    // refused before anything changes: no pending, a failure naming file and line
    const v3 = repo.write({ [FILE]: 'services:\n  web:\n    image: konta-test/busybox:1\n    ports: ["8080:80"]\n    deploy: { replicas: 2 }\n    labels: { konta.managed: "true" }\n' }).commit("v3");
    expect((await env.run(["sync"])).code).toBe(2);
    expect(api.taken.slice(4)).toEqual([[v3, "failure", expect.stringContaining(`refused on ${hostname()}: ${FILE}:4: services.web.ports`)]]);

    // a good one again, then the operator rolls back to v1
    const v4 = repo.write({ [FILE]: app("4") }).commit("v4");
    expect((await env.run(["sync"])).code).toBe(0);
    const rb = await env.run(["rollback", v1.slice(0, 12)]);
    expect(rb.code).toBe(0);
    expect(api.taken.slice(-2)).toEqual([
      [v4, "failure", `rolled back on ${hostname()} to ${v1.slice(0, 12)} (konta rollback)`],
      [v1, "success", `live again on ${hostname()} (konta rollback from ${v4.slice(0, 12)})`],
    ]);
    // the token is in no output, state, history or queue
    expect(everything(env, first.all + rb.all)).not.toContain(TOKEN);
  });

  test("the provider down during a deploy, slow, or refusing: the deploy stands; what was not posted goes with the next run", async () => {
    const { api, repo, env } = await setUp("github");
    const v1 = repo.write({ [FILE]: app("1") }).commit("v1");
    await api.down();
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.all).toContain("report: could not post the pending status");
    expect(JSON.parse(readFileSync(join(env.state, "report-queue.json"), "utf8")).map((s: { state: string }) => s.state)).toEqual(["success"]);
    await api.up();
    // the idle tick posts it: the success, not the stale pending
    const idle = await env.run(["sync"]);
    expect(idle.stdout).toContain("up to date");
    expect(api.taken).toEqual([[v1, "success", expect.stringMatching(/^live on /)]]);
    expect(existsSync(join(env.state, "report-queue.json"))).toBe(false);

    // slower than report.timeout (2 s): each post abandoned at the timeout, the deploy goes on
    api.behave({ slowMs: 6000 });
    repo.write({ [FILE]: app("2") }).commit("v2");
    const slow = await env.run(["sync"]);
    expect(slow.code).toBe(0);
    expect(slow.all).toContain("could not post");
    // 401 and 422: the same
    for (const b of ["unauthorized", "invalid"] as const) {
      api.behave(b);
      repo.write({ [FILE]: app(b) }).commit(b);
      const refused = await env.run(["sync"]);
      expect(refused.code).toBe(0);
      expect(refused.all).toContain(b === "unauthorized" ? "401" : "422");
    }
    api.behave("ok");
    const after = await env.run(["sync"]);
    expect(after.code).toBe(0);
    // what waited is the newest status of each commit, oldest first
    expect(api.taken.slice(1).map(([, state]) => state)).toEqual(["success", "success", "success"]);
    expect(everything(env, r.all + slow.all + after.all)).not.toContain(TOKEN);
  }, 120_000);
});

describe("GitLab and Gitea: their own requests", () => {
  test("GitLab: POST /projects/<url-encoded path>/statuses/<sha>, PRIVATE-TOKEN, running/success/failed, name", async () => {
    const { api, repo, env, name } = await setUp("gitlab");
    const v1 = repo.write({ [FILE]: app("1") }).commit("v1");
    expect((await env.run(["sync"])).code).toBe(0);
    expect(api.requests[0]?.path).toBe(`/api/v4/projects/${encodeURIComponent(name)}/statuses/${v1}`);
    expect(api.requests[0]?.headers["private-token"]).toBe(TOKEN);
    expect(api.requests[0]?.headers.authorization).toBeUndefined();
    expect(api.taken.map(([, state]) => state)).toEqual(["running", "success"]);
    expect(api.requests[1]?.body.name).toBe(`konta/${hostname()}`);
    repo.write({ [FILE]: app("2", { command: ["sh", "-c", "exit 3"], restart: "always" }) }).commit("v2");
    expect((await env.run(["sync"])).code).toBe(1);
    expect(api.taken.at(-1)?.[1]).toBe("failed");
  });

  test("Gitea (and Forgejo): POST /api/v1/repos/<owner>/<repo>/statuses/<sha>, Authorization: token; a named instance in the context", async () => {
    const { api, repo, env, name } = await setUp("gitea");
    const v1 = repo.write({ [FILE]: app("1") }).commit("v1");
    expect((await env.run(["sync"])).code).toBe(0);
    expect(api.requests[0]?.path).toBe(`/api/v1/repos/${name}/statuses/${v1}`);
    expect(api.requests[0]?.headers.authorization).toBe(`token ${TOKEN}`);
    expect(api.taken.map(([, state]) => state)).toEqual(["pending", "success"]);
    expect(api.requests[0]?.body.context).toBe(`konta/${hostname()}`);
    // a named instance of the same server deploying the same repository: its own context
    mkdirSync(join(env.dir, "etc/instances"));
    const side = join(env.dir, "etc/instances/side.yaml");
    writeFileSync(side, readFileSync(env.config, "utf8").replace("kt-report", "kt-report"));
    chmodSync(side, 0o600);
    repo.write({ "apps/kt-report-side/docker-compose.yml": app("s") }).commit("side");
    // (the default instance deploys the new project too; only the named one's context is looked at)
    const r = await runKonta(["sync", "--instance", "side"], { env: { KONTA_CONFIG: env.config, KONTA_HOME: env.state } });
    expect(r.code).toBe(2); // the default instance owns kt-report: refused, and said so on the commit
    expect(api.requests.at(-1)?.body.context).toBe(`konta/${hostname()}/side`);
  });
});

test("konta token set --report stores the token encrypted; the status is posted with it", async () => {
  const { api, repo, env } = await setUp("github");
  env.writeConfig({ sections: { report: { provider: "github", url: api.url, timeout: 2 } } });
  const set = await runKonta(env.args("token", "set", "--report"), { input: `${TOKEN}\n` });
  expect(set.code).toBe(0);
  const config = readFileSync(env.config, "utf8");
  expect(config).not.toContain(TOKEN);
  expect(config).toMatch(/report:\n(.*\n)*\s+token: enc:v1:/);
  repo.write({ [FILE]: app("1") }).commit("v1");
  expect((await env.run(["sync"])).code).toBe(0);
  expect(api.taken.map(([, state]) => state)).toEqual(["pending", "success"]);
});
