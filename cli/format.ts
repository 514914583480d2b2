// How plans, summaries and reports look on a terminal and in --json. Presentation only.
import type { Summary } from "../lib/base/summary.ts";
import type { Action, Plan, ProjectPlan } from "../lib/targets/engine/plan.ts";
import { describeCause, projectHasChanges } from "../lib/targets/engine/plan.ts";
import type { StackPlan } from "../lib/targets/swarm/stack.ts";
import { stackHasChanges } from "../lib/targets/swarm/plan-changes.ts";

export interface ActionView {
  type: Action["type"];
  service: string;
  replica: number;
  container?: string;
  why?: string;
}

export function actionView(a: Action): ActionView {
  const container = "container" in a ? a.container.name : undefined;
  const why = a.type === "recreate" ? `${a.causes.map(describeCause).join(", ")}${a.order ? `; ${a.order}` : ""}` : a.type === "create" || a.type === "remove" || a.type === "stop" || a.type === "restart" ? a.reason : undefined;
  return { type: a.type, service: a.service, replica: a.number, ...(container ? { container } : {}), ...(why ? { why } : {}) };
}

export function planView(plan: Plan) {
  return plan.projects.filter(projectHasChanges).map((p) => ({
    project: p.project,
    kind: p.kind,
    actions: p.actions.map(actionView),
    unchanged: p.unchanged,
    networks: p.networks,
    volumes: p.volumes,
    blockers: p.blockers,
  }));
}

const VERB: Record<Action["type"], string> = { create: "create", recreate: "recreate", start: "start", stop: "stop", remove: "remove", restart: "restart" };

export type Details = (project: string, a: Action) => string[];

export function formatProjectPlan(p: ProjectPlan, details?: Details): string[] {
  const lines = [`${p.project}${p.kind === "remove" ? " (app removed from Git)" : ""}:`];
  for (const key of p.networks.create) lines.push(`  + network ${key}`);
  for (const key of p.networks.recreate) lines.push(`  ~ network ${key} (definition changed)`);
  for (const name of p.networks.remove) lines.push(`  - network ${name}`);
  for (const key of p.volumes.create) lines.push(`  + volume ${key}`);
  for (const a of p.actions) {
    const v = actionView(a);
    const mark = a.type === "create" ? "+" : a.type === "remove" ? "-" : a.type === "recreate" ? "~" : a.type === "start" || a.type === "restart" ? ">" : "■";
    const replica = v.replica > 1 || a.type === "remove" ? ` #${v.replica}` : "";
    lines.push(`  ${mark} ${VERB[a.type]} ${v.service}${replica}${v.why ? ` (${v.why})` : ""}`);
    for (const d of details?.(p.project, a) ?? []) lines.push(`      ${d}`);
  }
  if (p.unchanged.length) lines.push(`  = unchanged: ${p.unchanged.join(", ")}`);
  for (const b of p.blockers) lines.push(`  ! ${b}`);
  if (p.kind === "remove" && p.volumes.kept.length) lines.push(`  (volumes kept: ${p.volumes.kept.join(", ")})`);
  return lines;
}

export function formatPlan(plan: Plan, details?: Details): string[] {
  const changed = plan.projects.filter(projectHasChanges);
  if (!changed.length) return ["nothing to do"];
  return changed.flatMap((p) => formatProjectPlan(p, details));
}

/** A Swarm stack's plan for --json: names, not the specs. */
export function stackView(p: StackPlan) {
  return {
    stack: p.stack,
    kind: p.kind,
    networks: p.networks.map((n) => n.Name as string),
    objects: p.objects.map((o) => ({ kind: o.kind, name: o.name })),
    steps: p.steps.map((x) => ({ op: x.op, service: x.service, ...(x.op === "update" ? { why: x.cause } : {}) })),
    unchanged: p.unchanged,
    blockers: p.blockers,
  };
}

export function formatStacks(stacks: StackPlan[], details?: (stack: string, service: string) => string[]): string[] {
  const changed = stacks.filter(stackHasChanges);
  if (!changed.length) return ["nothing to do"];
  return changed.flatMap((p) => {
    const lines = [`${p.stack} (stack${p.kind === "remove" ? "; app removed from Git" : ""}):`];
    for (const n of p.networks) lines.push(`  + network ${n.Name}`);
    for (const o of p.objects) lines.push(`  + ${o.kind} ${o.name}`);
    for (const x of p.steps) {
      lines.push(x.op === "create" ? `  + create ${x.service}` : x.op === "update" ? `  ~ update ${x.service} (${x.cause})` : `  - remove ${x.service}`);
      if (x.op !== "remove") for (const d of details?.(p.stack, x.service) ?? []) lines.push(`      ${d}`);
    }
    if (p.unchanged.length) lines.push(`  = unchanged: ${p.unchanged.join(", ")}`);
    for (const b of p.blockers) lines.push(`  ! ${b}`);
    return lines;
  });
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
