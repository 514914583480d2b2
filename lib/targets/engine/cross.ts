// What projects share on one engine: container names and host ports. Within one release two
// projects may not ask for the same one (refused before anything changes), and a project that
// takes a name or port another project gives up in the same commit is applied after it, as one
// that depends on another (x-konta.depends_on) is.
import { ComposeKeyError } from "../../compose/errors.ts";
import type { ProjectModel } from "../../compose/model.ts";
import { containerName } from "./labels.ts";
import type { Observed } from "./observe.ts";
import type { DesiredProject, ProjectPlan } from "./plan.ts";
import { collate } from "../../base/collate.ts";
import { prerequisitesOf } from "../../compose/graph.ts";
import { type Held, held } from "../held.ts";

/** Host ports a port mapping binds, as "port/protocol" (small ranges expanded). */
function hostPorts(published: string | undefined, protocol: string): string[] {
  if (!published) return [];
  const [from, to = from] = published.split("-").map(Number) as [number, number?];
  if (!Number.isInteger(from) || !Number.isInteger(to) || to < from || to - from > 1000) return [];
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}/${protocol}`);
}

/** Names and host ports each desired project asks for (managed services only). */
function wants(model: ProjectModel): { names: string[]; ports: string[] } {
  const names: string[] = [];
  const ports: string[] = [];
  for (const s of Object.values(model.services)) {
    if (!s.managed) continue;
    for (let n = 1; n <= s.replicas; n++) names.push(containerName(model.name, s.name, n, s.container_name));
    for (const p of s.ports ?? []) ports.push(...hostPorts(p.published, p.protocol));
  }
  return { names, ports };
}

/**
 * A container name or host port that two projects of the release both ask for: refused in the
 * second (alphabetically), at the service key that asks for it.
 */
export function projectConflicts(models: ProjectModel[]): { project: ProjectModel; error: ComposeKeyError }[] {
  const owner = new Map<string, string>();
  const out: { project: ProjectModel; error: ComposeKeyError }[] = [];
  for (const model of [...models].sort((a, b) => collate(a.name, b.name))) {
    for (const s of Object.values(model.services)) {
      if (!s.managed) continue;
      const names = Array.from({ length: s.replicas }, (_, i) => containerName(model.name, s.name, i + 1, s.container_name));
      const clash = (key: string, what: string, path: string[]) => {
        const first = owner.get(key);
        if (first && first !== model.name) out.push({ project: model, error: new ComposeKeyError(`${what} is asked for by ${first} too; one of them must change it`, ["services", s.name, ...path]) });
        else owner.set(key, model.name);
      };
      for (const n of new Set(names)) clash(`name ${n}`, `container name "${n}"`, s.container_name ? ["container_name"] : []);
      for (const p of new Set((s.ports ?? []).flatMap((x) => hostPorts(x.published, x.protocol)))) clash(`port ${p}`, `host port ${p}`, ["ports"]);
    }
  }
  return out;
}

/** projectConflicts, as messages by project. */
export function crossProjectConflicts(desired: Map<string, DesiredProject>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { project, error } of projectConflicts([...desired.values()].map((d) => d.model))) out.set(project.name, [...(out.get(project.name) ?? []), error.message]);
  return out;
}

/**
 * For each project to apply, the projects of `plans` that must be applied before it: those it
 * depends on (x-konta.depends_on, transitively), and those holding a container name or host port it
 * asks for (they give it up in this commit).
 */
export function projectPrerequisites(plans: ProjectPlan[], desired: Map<string, DesiredProject>, observed: Observed): Map<string, Set<string>> {
  const declared = prerequisitesOf([...desired.values()].map((d) => d.model));
  const holder = new Map<string, string>();
  for (const c of observed.containers) {
    if (!c.project) continue;
    holder.set(`name ${c.name}`, c.project);
    if (c.state === "running") for (const p of c.hostPorts) holder.set(`port ${p}`, c.project);
  }
  const before = new Map<string, Set<string>>(plans.map((p) => [p.project, new Set([...(declared.get(p.project) ?? [])].filter((d) => d !== p.project))]));
  const applied = new Set(plans.map((p) => p.project));
  for (const deps of before.values()) for (const d of deps) if (!applied.has(d)) deps.delete(d);
  for (const [name, d] of desired) {
    const { names, ports } = wants(d.model);
    for (const key of [...names.map((n) => `name ${n}`), ...ports.map((p) => `port ${p}`)]) {
      const h = holder.get(key);
      if (h && h !== name && before.has(h)) before.get(name)?.add(h);
    }
  }
  return before;
}

/** Apply order: prerequisites first (projectPrerequisites), otherwise alphabetical. Cycles keep alphabetical order. */
export function orderProjects(plans: ProjectPlan[], desired: Map<string, DesiredProject>, observed: Observed): ProjectPlan[] {
  const before = projectPrerequisites(plans, desired, observed);
  const done = new Set<string>();
  const ordered: ProjectPlan[] = [];
  let pending = [...plans];
  while (pending.length) {
    const ready = pending.filter((p) => [...(before.get(p.project) ?? [])].every((h) => done.has(h)));
    const next = ready.length ? ready : pending; // a cycle: keep the given order
    const first = next[0] as ProjectPlan;
    ordered.push(first);
    done.add(first.project);
    pending = pending.filter((p) => p !== first);
  }
  return ordered;
}

/**
 * Run `apply` for every plan (in `ordered` order), up to `limit` at once, each after its
 * prerequisites finished. After a failure nothing new starts; what runs finishes. Returns the
 * projects started, the first error and the project it came from, if any.
 */
export async function applyConcurrently(
  ordered: ProjectPlan[],
  before: Map<string, Set<string>>,
  limit: number,
  apply: (p: ProjectPlan) => Promise<void>,
): Promise<{ started: string[]; error?: unknown; failed?: string }> {
  const done = new Set<string>();
  const started: string[] = [];
  const running = new Map<string, Promise<void>>();
  let error: unknown;
  let failed: string | undefined;
  const pending = [...ordered];
  while (pending.length && failed === undefined) {
    // a cycle among prerequisites would wait forever: the first pending project goes when nothing runs
    const ready = pending.filter((p) => [...(before.get(p.project) ?? [])].every((h) => done.has(h)));
    const next = ready[0] ?? (running.size === 0 ? pending[0] : undefined);
    if (next && running.size < limit) {
      pending.splice(pending.indexOf(next), 1);
      started.push(next.project);
      running.set(
        next.project,
        apply(next).then(
          () => {
            done.add(next.project);
            running.delete(next.project);
          },
          (err) => {
            if (failed === undefined) [failed, error] = [next.project, err];
            running.delete(next.project);
          },
        ),
      );
      continue;
    }
    await Promise.race(running.values());
  }
  await Promise.all(running.values());
  return { started, ...(failed !== undefined ? { error, failed } : {}) };
}

/**
 * The projects a failed apply never started: those that wait for the failed project (or for one
 * that waits for it) are held back by it; the others by the stop after a failure.
 */
export function heldBack(ordered: ProjectPlan[], before: Map<string, Set<string>>, started: string[], failed: string): Held[] {
  return ordered.filter((p) => !started.includes(p.project)).map((p) => held(p.project, before.get(p.project)?.has(failed) ? [failed] : []));
}
