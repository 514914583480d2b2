// How plans, summaries and reports look on a terminal and in --json. Presentation only.
import type { Summary } from "../lib/base/summary.ts";
import { type ActionView, type PlanView, type UnitView, unitHasChanges } from "../lib/targets/index.ts";

/** A plan for --json: the projects (stacks) with changes. */
export function planView(plan: PlanView): UnitView[] {
  return plan.units.filter(unitHasChanges);
}

const MARK: Record<ActionView["type"], string> = { create: "+", recreate: "~", update: "~", start: ">", restart: ">", stop: "■", remove: "-" };

export type Details = (unit: string, a: ActionView) => string[];

export function formatUnit(u: UnitView, details?: Details): string[] {
  const removed = u.kind === "remove" ? `${u.noun ? "; " : ""}app removed from Git` : "";
  const lines = [`${u.name}${u.noun || removed ? ` (${u.noun ?? ""}${removed})` : ""}:`];
  if (u.after) lines.push(`  after ${u.after.join(", ")} (each past its health gate)`);
  for (const r of u.resources) lines.push(`  ${r.mark} ${r.kind} ${r.name}${r.why ? ` (${r.why})` : ""}`);
  for (const a of u.actions) {
    const replica = a.replica !== undefined && (a.replica > 1 || a.type === "remove") ? ` #${a.replica}` : "";
    lines.push(`  ${MARK[a.type]} ${a.type} ${a.service}${replica}${a.why ? ` (${a.why})` : ""}`);
    for (const d of details?.(u.name, a) ?? []) lines.push(`      ${d}`);
    // what apply will send for it, in this order
    if (a.steps.length) lines.push(`      steps: ${a.steps.join(" → ")}`);
  }
  if (u.unchanged.length) lines.push(`  = unchanged: ${u.unchanged.join(", ")}`);
  for (const b of u.blockers) lines.push(`  ! ${b}`);
  if (u.kept?.length) lines.push(`  (volumes kept: ${u.kept.join(", ")})`);
  return lines;
}

export function formatPlan(plan: PlanView, details?: Details): string[] {
  const changed = plan.units.filter(unitHasChanges);
  if (!changed.length) return ["nothing to do"];
  return changed.flatMap((u) => formatUnit(u, details));
}

/** "web: updated web, api; added worker" per project. */
export function formatSummary(s: Summary): string[] {
  const byProject = new Map<string, string[]>();
  const add = (verb: string, names: string[]) => {
    const grouped = new Map<string, string[]>();
    for (const n of names) {
      const [project, service] = n.split("/") as [string, string];
      grouped.set(project, [...(grouped.get(project) ?? []), service]);
    }
    for (const [project, services] of grouped) byProject.set(project, [...(byProject.get(project) ?? []), `${verb} ${services.join(", ")}`]);
  };
  add("added", s.added);
  add("updated", s.updated);
  add("started", s.started);
  add("stopped", s.stopped);
  add("removed", s.removed);
  return [...byProject.entries()].map(([p, parts]) => `  ${p}: ${parts.join("; ")}`);
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function ago(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${duration(Math.max(0, Date.now() - t))} ago (${new Date(t).toISOString().replace(/\.\d+Z$/, "Z")})`;
}
