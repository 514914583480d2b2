// Projects that depend on projects: `x-konta: {depends_on: [proxy, db]}` in a project's Compose
// file. Pure: what a release's graph refuses (an unknown name, a cycle), each project's
// prerequisites (transitively: what a prerequisite waits for, its dependents wait for too), and the
// networks a prerequisite creates that a dependent may name as external. Both targets order by it.
import { collate } from "../base/collate.ts";
import { ComposeKeyError } from "./errors.ts";
import type { ProjectModel } from "./model.ts";

type Refusal = { project: ProjectModel; error: ComposeKeyError };

const declared = (p: ProjectModel) => p.konta?.depends_on ?? [];

/** Every name of `x-konta.depends_on` that is not a project of the release, and every cycle (once, at its alphabetically first project). */
export function dependencyErrors(projects: ProjectModel[]): Refusal[] {
  const names = new Set(projects.map((p) => p.name));
  const byName = new Map(projects.map((p) => [p.name, p]));
  const out: Refusal[] = [];
  const sorted = [...projects].sort((a, b) => collate(a.name, b.name));
  for (const p of sorted) {
    declared(p).forEach((dep, i) => {
      if (names.has(dep)) return;
      const known = [...names].sort(collate);
      const list = known.length > 8 ? `${known.slice(0, 8).join(", ")}, …` : known.join(", ");
      out.push({ project: p, error: new ComposeKeyError(`"${dep}" is not a project of this release (apps/${dep}/ has no Compose file); its projects: ${list}`, ["x-konta", "depends_on", i]) });
    });
  }
  // a cycle, found from each project in name order; reported once, where it is entered
  const reported = new Set<string>();
  for (const start of sorted) {
    const path = cycleFrom(start.name, byName);
    if (!path) continue;
    const key = [...path.slice(0, -1)].sort(collate).join(" ");
    if (reported.has(key)) continue;
    reported.add(key);
    const [first, second] = path as [string, string];
    const project = byName.get(first) as ProjectModel;
    out.push({
      project,
      error: new ComposeKeyError(`${path.join(" -> ")} is a cycle: no project of it could go first; drop one of these dependencies`, ["x-konta", "depends_on", declared(project).indexOf(second)]),
    });
  }
  return out;
}

/** A cycle through `start` (start -> ... -> start), following known names only. */
function cycleFrom(start: string, byName: Map<string, ProjectModel>): string[] | undefined {
  const seen = new Set<string>();
  const walk = (name: string, path: string[]): string[] | undefined => {
    for (const dep of declared(byName.get(name) as ProjectModel)) {
      if (dep === start) return [...path, dep];
      if (seen.has(dep) || !byName.has(dep)) continue;
      seen.add(dep);
      const found = walk(dep, [...path, dep]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

/** Each project's prerequisites, transitively (a project in a cycle or naming an unknown one has been refused before). */
export function prerequisitesOf(projects: ProjectModel[]): Map<string, Set<string>> {
  const byName = new Map(projects.map((p) => [p.name, p]));
  const out = new Map<string, Set<string>>();
  const resolve = (name: string, visiting: Set<string>): Set<string> => {
    const done = out.get(name);
    if (done) return done;
    const all = new Set<string>();
    visiting.add(name);
    for (const dep of declared(byName.get(name) as ProjectModel)) {
      if (!byName.has(dep) || visiting.has(dep)) continue;
      all.add(dep);
      for (const d of resolve(dep, visiting)) all.add(d);
    }
    visiting.delete(name);
    out.set(name, all);
    return all;
  };
  for (const p of projects) resolve(p.name, new Set());
  return out;
}

/**
 * Networks a project's prerequisites create (their own, not external, used by a managed service),
 * by name -> the prerequisite: a dependent may name one as `external: true` before it exists.
 */
export function providedNetworks(project: ProjectModel, projects: ProjectModel[], prerequisites: Map<string, Set<string>>): Map<string, string> {
  const out = new Map<string, string>();
  const mine = prerequisites.get(project.name) ?? new Set();
  for (const p of projects) {
    if (!mine.has(p.name)) continue;
    const used = new Set(Object.values(p.services).filter((s) => s.managed).flatMap((s) => Object.keys(s.networks ?? {})));
    for (const key of used) {
      const n = p.networks[key];
      if (n && !n.external) out.set(n.name, p.name);
    }
  }
  return out;
}

/** `names` in rounds, each name after every prerequisite of it among `names` (given order kept within a round). */
export function rounds(names: string[], after: (name: string) => readonly string[]): string[][] {
  const out: string[][] = [];
  const placed = new Set<string>();
  let pending = [...names];
  while (pending.length) {
    const round = pending.filter((n) => after(n).every((d) => placed.has(d) || !names.includes(d)));
    // the graph was checked for cycles; should one slip through, the rest go together rather than never
    const next = round.length ? round : pending;
    out.push(next);
    for (const n of next) placed.add(n);
    pending = pending.filter((n) => !placed.has(n));
  }
  return out;
}
