// The status read model rendered: the Prometheus exposition (checked line by line against the text
// format's rules, and by Prometheus' own `promtool check metrics` where it is installed) and the
// HTML page (every value escaped, nothing but the read model shown).
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { renderMetrics } from "../../lib/flows/metrics.ts";
import { renderStatusPage } from "../../lib/flows/status-page.ts";
import type { StatusReport } from "../../lib/flows/status.ts";

const SHA = "a".repeat(40);

function report(over: Partial<StatusReport> = {}): StatusReport {
  return {
    konta: { version: "1.2.3", commit: "abc" },
    generatedAt: "2026-12-04T12:00:00.000Z",
    repository: { url: "https://git.example/acme/infra.git", branch: "main", path: ".", transport: "https" },
    live: { sha: SHA, message: 'Bump <web> to "2"\n\nbody', author: "Ann <ann@example>", date: "", deployedAt: "2026-12-04T11:58:00.000Z", trigger: "sync", durationMs: 2100 },
    lastAttempt: { sha: SHA, at: "2026-12-04T11:59:00.000Z", result: "up-to-date", durationMs: 40, peakRssBytes: 41943040 },
    failed: { sha: "b".repeat(40), at: "2026-12-04T11:00:00.000Z", error: "web: healthcheck failed" },
    projects: [
      {
        name: "web",
        services: [
          { name: "app", image: "nginx:1.27", replicas: 2, stopped: false, containers: [{ name: "web-app-1", state: "running", health: "healthy", status: "Up 2 minutes (healthy)" }, { name: "web-app-2", state: "running", health: "unhealthy", status: "Up 2 minutes (unhealthy)" }] },
          { name: "worker", image: "busybox", replicas: 1, stopped: true, containers: [] },
          { name: "migrate", image: "busybox", replicas: 1, stopped: false, job: true, containers: [{ name: "web-migrate-1", state: "exited", status: "Exited (0) 5 minutes ago" }] },
        ],
      },
      { name: "db", services: [{ name: "pg", image: "postgres:16", replicas: 1, stopped: false, containers: [{ name: "db-pg-1", state: "exited", status: "Exited (1) 1 minute ago" }] }] },
    ],
    drift: [{ project: "db", service: "pg", what: "container db-pg-1 is exited" }],
    engine: { version: "26.1", api: "1.45" },
    target: "engine",
    configWarnings: [],
    history: [
      { at: "2026-12-04T11:58:00.000Z", kind: "deploy", trigger: "webhook", result: "deployed", sha: SHA, subject: "Bump <web>", actions: [{ service: "web/app", action: "updated" }], durationMs: 2100 },
      { at: "2026-12-04T11:00:00.000Z", kind: "failure", trigger: "timer", result: "failed", sha: "b".repeat(40), actions: [], durationMs: 9000, error: "web: healthcheck failed", rolledBack: true, repeated: 2, lastAt: "2026-12-04T11:04:00.000Z" },
    ],
    totals: { deploy: 7, failure: 2, rollback: 1 },
    instance: "default",
    ...over,
  };
}

// The text format (0.0.4): HELP and TYPE once per metric before its samples, names and label
// names by the rules, label values escaped, values numbers, no sample of a metric split apart.
function checkExposition(text: string): string[] {
  const problems: string[] = [];
  const typed = new Map<string, string>();
  const seenSamples = new Set<string>();
  let current = "";
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      current = m[1] as string;
      if (typed.has(current)) problems.push(`HELP again for ${current}`);
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      if (m[1] !== current) problems.push(`TYPE of ${m[1]} not after its HELP`);
      typed.set(m[1] as string, m[2] as string);
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line))) {
      const name = m[1] as string;
      if (name !== current) problems.push(`sample of ${name} outside its block`);
      if (!typed.has(name)) problems.push(`sample of ${name} without TYPE`);
      if (typed.get(name) === "counter" && !name.endsWith("_total")) problems.push(`counter ${name} without _total`);
      if (!name.startsWith("konta_")) problems.push(`${name} without the konta_ prefix`);
      if (seenSamples.has(`${name}${m[2] ?? ""}`)) problems.push(`duplicate sample ${line}`);
      seenSamples.add(`${name}${m[2] ?? ""}`);
      if (Number.isNaN(Number(m[3]))) problems.push(`value of ${line}`);
    } else {
      problems.push(`not a valid line: ${line}`);
    }
  }
  return problems;
}

describe("metrics", () => {
  test("the exposition follows the text format and the conventions", () => {
    const text = renderMetrics(report());
    expect(checkExposition(text)).toEqual([]);
    expect(checkExposition(renderMetrics(report({ live: undefined, lastAttempt: undefined, history: [], projects: [], drift: [], engineError: "no engine" })))).toEqual([]);
  });

  test("what the series say", () => {
    const text = renderMetrics(report());
    const value = (series: string) => new RegExp(`^${series.replace(/[{}"[\]().+]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1];
    const expected: [series: string, value: string][] = [
      ["konta_up", "1"],
      [`konta_live_release_info{sha="${SHA}",branch="main"}`, "1"],
      ["konta_deploys_total", "7"],
      ["konta_failures_total", "2"],
      ["konta_rollbacks_total", "1"],
      ["konta_repairs_total", "0"],
      ["konta_services_managed", "4"],
      ["konta_services_running", "2"],
      ["konta_services_unhealthy", "1"],
      ["konta_services_drifted", "1"],
      ["konta_failed_commit", "1"],
      ["konta_hold", "0"],
      ["konta_last_run_peak_rss_bytes", "41943040"],
      ['konta_last_success{kind="failure"}', "0"],
      ['konta_last_duration_seconds{kind="deploy"}', "2.1"],
      ['konta_last_timestamp_seconds{kind="failure"}', String(Date.parse("2026-12-04T11:04:00.000Z") / 1000)],
      ["konta_last_run_timestamp_seconds", String(Date.parse("2026-12-04T11:59:00.000Z") / 1000)],
      ['konta_last_run_result{result="up-to-date"}', "1"],
    ];
    // konta_services_running: web/app (both replicas up) and the finished job
    expect(expected.map(([series]) => [series, value(series)])).toEqual(expected);
    expect(renderMetrics(report({ engineError: "down" }))).toContain("\nkonta_up 0\n");
  });

  test("several instances: one series each", () => {
    const instances = [
      { name: "default", config: "/etc/konta/config.yaml", stateDir: "/var/lib/konta", timer: "konta.timer", live: SHA, projects: ["web", "db"], repository: { url: "u", branch: "main", path: "." } },
      { name: "staging", config: "/etc/konta/instances/staging.yaml", stateDir: "/var/lib/konta/staging", timer: "konta@staging.timer", held: SHA, projects: ["web-staging"] },
    ];
    const text = renderMetrics(report({ instances }));
    expect(checkExposition(text)).toEqual([]);
    expect(text).toContain(`konta_instance_info{instance="default",sha="${SHA}",branch="main"} 1`);
    expect(text).toContain('konta_instance_hold{instance="staging"} 1');
    expect(text).toContain('konta_instance_projects{instance="default"} 2');
    const html = renderStatusPage(report({ instances }));
    expect(html).toContain("<h2>Instances</h2>");
    expect(html).toContain("<b>staging</b>");
    expect(html).toContain("held at");
  });

  test("label values are escaped", () => {
    const text = renderMetrics(report({ repository: { url: "x", branch: 'we"ird\\branch\nx', path: ".", transport: "https" } }));
    expect(text).toContain('branch="we\\"ird\\\\branch\\nx"');
    expect(checkExposition(text)).toEqual([]);
  });

  // Prometheus's own checker (tests/support/setup.sh installs Debian's prometheus): required, never skipped
  test("promtool check metrics passes", () => {
    const r = spawnSync("promtool", ["check", "metrics"], { input: renderMetrics(report()), encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("status page", () => {
  test("the live commit, a failed commit, every service with its state, drift and the history", () => {
    const html = renderStatusPage(report());
    expect(html).toStartWith("<!doctype html>");
    expect(html).toContain(`<code>${SHA.slice(0, 12)}</code> Bump &#60;web&#62; to &#34;2&#34;`);
    expect(html).toContain("by Ann &#60;ann@example&#62;");
    expect(html).toContain("web</b>/app");
    expect(html).toContain("db</b>/pg");
    expect(html).toContain("web</b>/worker");
    expect(html).toContain("stopped (konta.stopped)");
    expect(html).toContain('<span class="bad">Up 2 minutes (unhealthy)</span>');
    expect(html).toContain("<td>completed (job)</td>");
    expect(html).toContain("web: healthcheck failed");
    expect(html).toContain("container db-pg-1 is exited");
    expect(html).toContain("<svg");
    expect(html).toContain("×3");
    expect(html).toContain("prefers-color-scheme:dark");
    expect(html).toContain('name="viewport"');
  });

  test("no script, no outside asset, nothing unescaped", () => {
    const html = renderStatusPage(report({ projects: [{ name: "<script>alert(1)</script>", services: [{ name: "x", image: '"><img src=x>', replicas: 1, stopped: false, containers: [] }] }] }));
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});
