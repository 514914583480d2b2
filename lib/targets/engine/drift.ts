// Drift: containers that no longer match the live release (changed, stopped or removed by hand).
// Checked on every idle tick from what state.json remembers, without loading any Compose file.
import type { ProjectExpectation } from "../../state/index.ts";
import type { DriftItem, DriftOptions } from "../types.ts";
import { isOurs } from "./labels.ts";
import { byProjectService, type ObservedContainer } from "./observe.ts";
import { type Action, describeCause, planService } from "./plan.ts";

function describe(a: Action): string {
  switch (a.type) {
    case "create":
      return `container #${a.number} is missing`;
    case "recreate":
      return `${a.container.name}: ${a.causes.map(describeCause).join(", ")}`;
    case "start":
      return `${a.container.name} is ${a.container.state}, should be running`;
    case "stop":
      return `${a.container.name} is running, should be stopped (konta.stopped)`;
    case "remove":
    case "restart":
      return `${a.container.name}: ${a.reason}`;
  }
}

export function detectDrift(expected: Record<string, ProjectExpectation>, containers: ObservedContainer[], opts: DriftOptions): DriftItem[] {
  const drift: DriftItem[] = [];
  const grouped = byProjectService(containers);
  for (const [project, exp] of Object.entries(expected)) {
    if (opts.hostInputs && opts.hostInputs(project) !== exp.hostInputs) {
      drift.push({ project, what: "host-side variables changed (env file or allowed process variables)" });
    }
    for (const [service, target] of Object.entries(exp.services)) {
      for (const a of planService(project, service, target, grouped.get(project)?.get(service) ?? [])) {
        drift.push({ project, service, what: describe(a) });
      }
    }
    const known = new Set([...Object.keys(exp.services), ...(exp.ignored ?? [])]);
    for (const c of containers) {
      if (c.project === project && c.managed && c.service && !known.has(c.service)) {
        drift.push({ project, service: c.service, what: `${c.name} is not in the live release` });
      }
    }
  }
  if (opts.prune) {
    const gone = new Set(containers.filter((c) => isOurs(c, opts.instance) && c.project && !expected[c.project]).map((c) => c.project as string));
    for (const project of gone) drift.push({ project, what: "app folder is not in the live release; its containers are still there" });
  }
  return drift;
}
