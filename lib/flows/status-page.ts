// The status page: the read model of `konta status --json` (status.ts) as one HTML document with
// its style inline — no script, no external asset, readable on a phone and in dark mode. Pure
// rendering; every value is escaped.
import { formatLocal } from "../base/windows.ts";
import type { HistoryEntry } from "../history/index.ts";
import { type ContainerStatus, type ServiceStatus, serviceProgress, type StatusReport } from "./status.ts";

function esc(v: unknown): string {
  return String(v ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function ago(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(t)) return "";
  return `${span(Math.max(0, now - t))} ago`;
}

function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

const short = (sha: string | undefined) => esc(sha?.slice(0, 12) ?? "");

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d8dee4;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--card:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--card:#161b22}}
*{box-sizing:border-box}body{margin:0 auto;max-width:68rem;padding:1rem;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,sans-serif}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}code,.mono{font-family:ui-monospace,monospace;font-size:.92em}
.muted{color:var(--muted)}.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem .9rem;margin:.5rem 0}
.banner{border-left:4px solid var(--warn)}.banner.bad{border-left-color:var(--bad)}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85em}
.scroll{overflow-x:auto}
@media (max-width:40rem){.hide-s{display:none}td,th{padding:.3rem}}
svg text{fill:var(--muted);font:11px system-ui,sans-serif}
`;

function stateClass(c: ContainerStatus): string {
  if (c.health === "unhealthy" || (c.state !== "running" && c.state !== "exited")) return "bad";
  if (c.health === "starting") return "warn";
  return c.state === "running" ? "ok" : "muted";
}

function serviceRows(project: string, svc: ServiceStatus, drifted: Set<string>): string {
  const want = serviceProgress(svc).text;
  const drift = drifted.has(`${project}/${svc.name}`) ? ` <span class="warn">drift</span>` : "";
  const containers = svc.containers.length
    ? svc.containers
        .map((c) => {
          // the engine's words already say the state ("Up 3 hours (healthy)"); an inspected start says the uptime
          const words = c.uptimeSeconds !== undefined ? `${c.state}, up ${span(c.uptimeSeconds * 1000)}` : c.status || c.state;
          return `<div><span class="${stateClass(c)}">${esc(words)}</span>${c.node ? ` <span class="muted">on ${esc(c.node)}</span>` : ""}</div>`;
        })
        .join("")
    : `<span class="${svc.stopped ? "muted" : "bad"}">no container</span>`;
  return `<tr><td><b>${esc(project)}</b>/${esc(svc.name)}${drift}</td><td>${esc(want)}</td><td>${containers}</td><td class="mono hide-s">${esc(svc.image)}</td></tr>`;
}

/** Deploy durations as bars, newest right; a failed run red. */
function chart(history: HistoryEntry[]): string {
  const runs = history.slice(0, 40).reverse();
  if (!runs.length) return "";
  const w = 640;
  const h = 90;
  const max = Math.max(...runs.map((e) => e.durationMs), 1000);
  const bw = w / Math.max(runs.length, 20);
  const bars = runs
    .map((e, i) => {
      const bh = Math.max(2, Math.round((e.durationMs / max) * (h - 18)));
      const color = e.result === "failed" ? "var(--bad)" : e.kind === "rollback" ? "var(--warn)" : "var(--ok)";
      return `<rect x="${(i * bw + 1).toFixed(1)}" y="${h - bh}" width="${Math.max(bw - 2, 1).toFixed(1)}" height="${bh}" fill="${color}"><title>${esc(`${e.kind} ${e.sha?.slice(0, 12) ?? ""} ${e.result} ${(e.durationMs / 1000).toFixed(1)}s`)}</title></rect>`;
    })
    .join("");
  return `<svg viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="durations of the recent runs"><text x="2" y="11">${(max / 1000).toFixed(1)}s</text>${bars}</svg>`;
}

function windowNote(e: HistoryEntry, tz: string | undefined): string {
  if (e.kind === "waiting") return `<div class="muted">waits for the deploy window${e.opensAt ? ` that opens at ${esc(formatLocal(new Date(e.opensAt), tz))}` : ""}</div>`;
  return e.outsideWindow ? `<div class="muted">outside the deploy windows (konta sync --now)</div>` : "";
}

function historyRows(history: HistoryEntry[], now: number, tz?: string): string {
  return history
    .map((e) => {
      const cls = e.result === "failed" ? "bad" : e.kind === "rollback" ? "warn" : "ok";
      const what = e.actions.map((a) => `${a.action} ${a.service}`).join(", ");
      const again = e.repeated ? ` <span class="muted">×${e.repeated + 1}</span>` : "";
      return `<tr><td class="muted">${esc(ago(e.lastAt ?? e.at, now))}</td><td class="${cls}">${esc(e.kind)}${again}</td><td class="mono">${short(e.sha)}${e.tag ? `<div>${esc(e.tag)}</div>` : ""}</td><td>${esc(e.subject ?? "")}${e.signer ? `<div class="muted">signed by ${esc(e.signer)}</div>` : ""}${windowNote(e, tz)}${e.error ? `<div class="bad">${esc(e.error.split("\n")[0])}${e.rolledBack ? " (rolled back)" : ""}</div>` : ""}${what ? `<div class="muted">${esc(what)}</div>` : ""}</td><td class="hide-s">${esc(e.trigger)}</td><td class="hide-s">${(e.durationMs / 1000).toFixed(1)}s</td></tr>`;
    })
    .join("");
}

function instanceRows(s: StatusReport, now: number): string {
  if (!s.instances) return "";
  const rows = s.instances
    .map((i) => {
      const state = i.error ? `<span class="bad">${esc(i.error.split("\n")[0])}</span>` : i.failed ? `<span class="bad">failed ${short(i.failed.sha)}</span>` : i.held ? `<span class="warn">held at ${short(i.held)}</span>` : `<span class="ok">${esc(i.lastAttempt?.result ?? "")}</span>`;
      return `<tr><td><b>${esc(i.name)}</b>${i.name === s.instance ? " <span class=\"muted\">(this page)</span>" : ""}</td><td class="mono">${short(i.live)}</td><td>${esc(i.repository ? `${i.repository.url} · ${i.repository.branch}` : "")}</td><td>${state} <span class="muted">${esc(ago(i.lastAttempt?.at, now))}</span></td><td>${i.projects.length}</td></tr>`;
    })
    .join("");
  return `<h2>Instances</h2>\n<div class="scroll"><table><thead><tr><th>instance</th><th>live</th><th>repository</th><th>last run</th><th>projects</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function renderStatusPage(s: StatusReport): string {
  const now = Date.parse(s.generatedAt) || Date.now();
  const drifted = new Set(s.drift.map((d) => `${d.project}/${d.service ?? ""}`));
  const l = s.live;
  const live = l
    ? `<div class="card"><div class="muted">live release</div><div><code>${short(l.sha)}</code>${l.tag ? ` <b>${esc(l.tag)}</b>` : ""} ${esc(l.message.split("\n")[0])}</div><div class="muted">${l.author ? `by ${esc(l.author)} · ` : ""}${l.deployedAt ? `${l.trigger === "rollback" ? "rolled back to" : "deployed"} ${esc(ago(l.deployedAt, now))}` : ""}</div>${l.signer ? `<div class="muted">signed by ${esc(l.signer)}</div>` : ""}</div>`
    : `<div class="card">nothing deployed yet</div>`;
  const banners = [
    s.held ? `<div class="card banner">Held at <code>${short(s.held.sha)}</code> since ${esc(ago(s.held.since, now))} by <code>konta rollback</code>; a new commit or <code>konta resume</code> lifts it.</div>` : "",
    s.waiting ? `<div class="card banner">Commit <code>${short(s.waiting.sha)}</code> is checked and waits for ${esc(s.waiting.opens)}.</div>` : "",
    s.failed ? `<div class="card banner bad">Commit <code>${short(s.failed.sha)}</code> failed ${esc(ago(s.failed.at, now))}: ${esc(s.failed.error.split("\n")[0])}. Not retried until a new commit or <code>konta sync --now</code>.</div>` : "",
    s.engineError ? `<div class="card banner bad">The engine did not answer: ${esc(s.engineError)}</div>` : "",
    s.drift.length ? `<div class="card banner">Drift (the next sync repairs it):<ul>${s.drift.map((d) => `<li>${esc(d.project)}${d.service ? `/${esc(d.service)}` : ""}: ${esc(d.what)}</li>`).join("")}</ul></div>` : "",
  ].join("");
  const a = s.lastAttempt;
  const last = a ? `<p class="muted">Last run ${esc(ago(a.at, now))}: <span class="${a.result === "failed" ? "bad" : "ok"}">${esc(a.result)}</span>${a.error ? ` — ${esc(a.error.split("\n")[0])}` : ""}</p>` : "";
  const rows = s.projects.flatMap((p) => p.services.map((svc) => serviceRows(p.name, svc, drifted))).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Konta · ${esc(s.repository.branch)}</title><style>${STYLE}</style></head>
<body>
<h1>Konta</h1>
<div class="muted">${esc(s.repository.url)} · branch <b>${esc(s.repository.branch)}</b>${s.targetRole ? ` · ${esc(s.target)}` : ""}${s.engine ? ` · Docker ${esc(s.engine.version)}` : ""}</div>
${live}${banners}${last}
${instanceRows(s, now)}
<h2>Services</h2>
<div class="scroll"><table><thead><tr><th>service</th><th>wanted</th><th>containers</th><th class="hide-s">image</th></tr></thead><tbody>${rows || `<tr><td colspan="4" class="muted">no managed services</td></tr>`}</tbody></table></div>
<h2>Recent runs</h2>
${chart(s.history)}
<div class="scroll"><table><thead><tr><th>when</th><th>what</th><th>commit</th><th>subject</th><th class="hide-s">trigger</th><th class="hide-s">took</th></tr></thead><tbody>${historyRows(s.history, now, s.window?.timezone) || `<tr><td colspan="6" class="muted">nothing yet</td></tr>`}</tbody></table></div>
<p class="muted">Konta ${esc(s.konta.version)} · generated ${esc(s.generatedAt.replace(/\.\d+Z$/, "Z"))} · <a href="status.json">status.json</a> · <a href="metrics">metrics</a></p>
</body></html>
`;
}
