// What projects share on one engine: container names and host ports. Within one release two
// projects may not ask for the same one (refused before anything changes), and a project that
// takes a name or port another project gives up in the same commit is applied after it.
import type { ProjectModel } from "../compose/model.ts";
import { containerName } from "./labels.ts";
import type { Observed } from "./observe.ts";
import type { DesiredProject, ProjectPlan } from "./plan.ts";

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

/** Blockers: a container name or host port that two projects of the release both ask for. */
export function crossProjectConflicts(desired: Map<string, DesiredProject>): Map<string, string[]> {
  const owner = new Map<string, string>();
  const out = new Map<string, string[]>();
  for (const [name, d] of [...desired.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const { names, ports } = wants(d.model);
    const clash = (key: string, what: string) => {
      const first = owner.get(key);
      if (first && first !== name) out.set(name, [...(out.get(name) ?? []), `${what} is asked for by ${first} too; one of them must change it`]);
      else owner.set(key, name);
    };
    for (const n of new Set(names)) clash(`name ${n}`, `container name "${n}"`);
    for (const p of new Set(ports)) clash(`port ${p}`, `host port ${p}`);
  }
  return out;
}

/**
 * Apply order: a project that holds a name or host port another project wants goes first (it gives
 * it up in this commit), otherwise alphabetical. Cycles keep alphabetical order.
 */
export function orderProjects(plans: ProjectPlan[], desired: Map<string, DesiredProject>, observed: Observed): ProjectPlan[] {
  const holder = new Map<string, string>();
  for (const c of observed.containers) {
    if (!c.project) continue;
    holder.set(`name ${c.name}`, c.project);
    if (c.state === "running") for (const p of c.hostPorts) holder.set(`port ${p}`, c.project);
  }
  const before = new Map<string, Set<string>>(plans.map((p) => [p.project, new Set<string>()]));
  for (const [name, d] of desired) {
    const { names, ports } = wants(d.model);
    for (const key of [...names.map((n) => `name ${n}`), ...ports.map((p) => `port ${p}`)]) {
      const h = holder.get(key);
      if (h && h !== name && before.has(h)) before.get(name)?.add(h);
    }
  }
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
