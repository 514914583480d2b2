// Issue "See what Konta did": the deploy history, the status routes of `konta webhook` and the
// metrics textfile, through the compiled binary against the real engine and Git server.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { sh } from "../support/docker.ts";
import { runKonta } from "../support/konta.ts";
import { TOKEN, useRig } from "../support/rig.ts";

const rig = useRig();
const PASSWORD = "status-page-password-1";

function addConfig(config: string, text: string): void {
  writeFileSync(config, `${readFileSync(config, "utf8")}${text}`);
}

const history = async (env: { run(a: string[]): Promise<{ code: number; stdout: string; all: string }> }) => {
  const r = await env.run(["history", "--json"]);
  if (r.code !== 0) throw new Error(r.all);
  return JSON.parse(r.stdout) as { kind: string; trigger: string; result: string; sha?: string; subject?: string; actions: { service: string; action: string }[]; error?: string; rolledBack?: boolean; durationMs: number; peakRssBytes?: number }[];
};

describe("konta history", () => {
  test("deploy, failure rolled back, drift repair, manual rollback (a hold), resume: each an entry, newest first; counters and konta.prom follow", async () => {
    const repo = rig.repo();
    const file = "apps/kt-hist/docker-compose.yml";
    const v1 = repo.write({ [file]: compose({ services: { app: sleeper() } }) }).commit("first deploy");
    const env = rig.env(repo, { deploy: { health_timeout: 10 } });
    const textfiles = join(env.dir, "node-exporter");
    mkdirSync(textfiles);
    addConfig(env.config, `metrics:\n  textfile_dir: ${textfiles}\n`);
    await env.ok(["sync"]);
    expect(readFileSync(join(textfiles, "konta.prom"), "utf8")).toContain("\nkonta_deploys_total 1\n");

    const bad = repo.write({ [file]: compose({ services: { app: sleeper({ healthcheck: { test: ["CMD", "false"], interval: "1s", retries: 1 } }) } }) }).commit("broken healthcheck");
    expect((await env.run(["sync"])).code).toBe(1);
    // a failed commit is not retried by the next (timer) run: no entry for a skip
    await env.ok(["sync"]);
    sh("docker", ["rm", "-f", "kt-hist-app-1"]);
    await env.ok(["sync"]);
    const v3 = repo.write({ [file]: compose({ services: { app: sleeper({ environment: { V: "3" } }) } }) }).commit("third");
    await env.ok(["sync"]);
    await env.ok(["sync"]); // idle: no entry
    await env.ok(["rollback"]);
    await env.ok(["resume"]);
    await env.ok(["resume"]); // nothing held: no entry

    const h = await history(env);
    expect(h.map((e) => `${e.kind} ${e.result} ${e.trigger} ${e.sha?.slice(0, 7)}`)).toEqual([
      `resume resumed manual ${v1.slice(0, 7)}`,
      `rollback rolled-back rollback ${v1.slice(0, 7)}`,
      `deploy deployed manual ${v3.slice(0, 7)}`,
      `repair repaired manual ${v1.slice(0, 7)}`,
      `failure failed manual ${bad.slice(0, 7)}`,
      `deploy deployed manual ${v1.slice(0, 7)}`,
    ]);
    expect(h[5]).toMatchObject({ subject: "first deploy", actions: [{ service: "kt-hist/app", action: "added" }] });
    expect(h[4]).toMatchObject({ subject: "broken healthcheck", rolledBack: true });
    expect(h[4]?.error).toContain("kt-hist-app-1 failed the health gate");
    expect(h[3]?.actions).toEqual([{ service: "kt-hist/app", action: "added" }]);
    expect(h[2]?.actions).toEqual([{ service: "kt-hist/app", action: "updated" }]);
    expect(h[1]?.actions).toEqual([{ service: "kt-hist/app", action: "updated" }]);
    for (const e of h) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    // each run's own peak memory (ru_maxrss): at least the runtime's, far below a small server's
    for (const e of h) expect(e.peakRssBytes ?? 0).toBeWithin(16 * 2 ** 20, 256 * 2 ** 20);
    expect(env.readState().lastAttempt?.peakRssBytes ?? 0).toBeWithin(16 * 2 ** 20, 256 * 2 ** 20);
    expect(readFileSync(join(textfiles, "konta.prom"), "utf8")).toMatch(/\nkonta_last_run_peak_rss_bytes \d{8,9}\n/);

    const text = await env.ok(["history", "-n", "2"]);
    expect(text.stdout.split("\n").filter((l) => /^\d{4}-/.test(l))).toHaveLength(2);
    expect(text.stdout).toContain("rollback");
    expect((await env.run(["history", "-n", "0"])).code).toBe(2);

    const status = JSON.parse((await env.ok(["status", "--json"])).stdout);
    expect(status.totals).toEqual({ deploy: 2, failure: 1, repair: 1, rollback: 1, resume: 1 });
    expect(status.history).toHaveLength(6);
    const prom = readFileSync(join(textfiles, "konta.prom"), "utf8");
    for (const line of ["konta_deploys_total 2", "konta_failures_total 1", "konta_rollbacks_total 1", "konta_repairs_total 1", "konta_hold 0", "konta_services_managed 1", "konta_services_running 1", `konta_live_release_info{sha="${v1}",branch="main"} 1`]) {
      expect(prom).toContain(`\n${line}\n`);
    }
    // Prometheus's own checker (tests/support/setup.sh installs it): required, never skipped
    const check = spawnSync("promtool", ["check", "metrics"], { input: prom, encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(`${check.status} ${check.stdout}${check.stderr}`).toBe("0 ");
  });

  test("a run killed in the middle of appending its entry: the file stays readable and the next entry starts a new line", async () => {
    const repo = rig.repo();
    const file = "apps/kt-hist-kill/docker-compose.yml";
    repo.write({ [file]: compose({ services: { app: sleeper() } }) }).commit("one");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    repo.write({ [file]: compose({ services: { app: sleeper({ environment: { V: "2" } }) } }) }).commit("two");
    const killed = await env.run(["sync"], { env: { KONTA_FAILPOINT: "history-append" } });
    expect(killed.code).not.toBe(0);
    const raw = readFileSync(join(env.state, "history.jsonl"), "utf8");
    expect(raw.endsWith("\n")).toBe(false);
    // the deploy itself stands: state was written before the entry
    expect(env.readState().current.sha).toBe(repo.head());
    const three = repo.write({ [file]: compose({ services: { app: sleeper({ environment: { V: "3" } }) } }) }).commit("three");
    await env.ok(["sync"]);
    const h = await history(env);
    expect(h.map((e) => e.subject)).toEqual(["three", "one"]);
    expect(h[0]?.sha).toBe(three);
  });
});

describe("status routes of konta webhook", () => {
  const get = (path: string, auth?: string, method = "GET") => `${method} ${path} HTTP/1.1\r\nhost: konta\r\n${auth ? `authorization: Basic ${Buffer.from(auth).toString("base64")}\r\n` : ""}\r\n`;

  test("no password: 404; with it: the page, status.json and metrics behind Basic auth; 401 otherwise; nothing leaks", async () => {
    const repo = rig.repo();
    repo.write({ "apps/kt-page/docker-compose.yml": compose({ services: { web: sleeper(), worker: sleeper({ environment: { API_KEY: "env-value-never-shown" } }) } }) }).commit("page <b>subject</b>");
    const env = rig.env(repo);
    await env.ok(["sync"]);
    const webhook = (input: string) => runKonta(env.args("webhook"), { input });
    expect((await webhook(get("/", `u:${PASSWORD}`))).stdout).toStartWith("HTTP/1.1 404 ");

    expect((await env.run(["status", "password", "set"], { input: "short\n" })).code).toBe(2);
    await env.ok(["status", "password", "set"], { input: `${PASSWORD}\n` });
    expect(readFileSync(env.config, "utf8")).toContain("password: enc:v1:");
    expect(readFileSync(env.config, "utf8")).not.toContain(PASSWORD);

    const page = await webhook(get("/", `anyone:${PASSWORD}`));
    expect(page.stdout).toStartWith("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n");
    expect(page.stdout).toContain(repo.head().slice(0, 12));
    expect(page.stdout).toContain("page &#60;b&#62;subject&#60;/b&#62;");
    expect(page.stdout).toContain("kt-page</b>/web");
    expect(page.stdout).toContain("kt-page</b>/worker");
    const json = await webhook(get("/status.json", `x:${PASSWORD}`));
    const doc = JSON.parse(json.stdout.slice(json.stdout.indexOf("\r\n\r\n") + 4));
    expect(doc.live.sha).toBe(repo.head());
    expect(doc.projects[0].services.map((s: { name: string }) => s.name)).toEqual(["web", "worker"]);
    const metrics = await webhook(get("/metrics", `prometheus:${PASSWORD}`));
    expect(metrics.stdout).toContain("\nkonta_up 1\n");
    expect(metrics.stdout).toContain("\nkonta_services_running 2\n");

    const head = await webhook(get("/", `u:${PASSWORD}`, "HEAD"));
    expect(head.stdout).toStartWith("HTTP/1.1 200 ");
    expect(head.stdout.endsWith("\r\n\r\n")).toBe(true);
    for (const [req, status] of [
      [get("/"), 401],
      [get("/", `u:${PASSWORD}-`), 401],
      [get("/metrics", "u:"), 401],
      [get("/nowhere", `u:${PASSWORD}`), 404],
      [get("/", undefined, "DELETE"), 405],
      [`GET / HTTP/1.1\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`, 413],
    ] as const) {
      const r = await webhook(req);
      expect(r.stdout.split("\r\n")[0]).toBe(`HTTP/1.1 ${status} ${{ 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large" }[status]}`);
      if (status === 401) expect(r.stdout).toContain('WWW-Authenticate: Basic realm="konta"');
    }
    for (const r of [page, json, metrics]) {
      for (const secret of [PASSWORD, TOKEN, "env-value-never-shown", "enc:v1:", env.state]) expect(r.stdout).not.toContain(secret);
    }
    expect(existsSync(join(env.state, "webhook-request"))).toBe(false);
  });
});
