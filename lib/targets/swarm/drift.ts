// Drift on a swarm, checked on every idle tick from state.json and one listing of the stacks'
// services (no Compose file loaded): a service removed, scaled or updated by hand, one the release
// does not have, a removed app's stack still there.
import type { DriftItem, DriftOptions } from "../types.ts";
import type { ProjectExpectation } from "../../state/index.ts";
import { STACK_NAMESPACE } from "./spec.ts";
import { type ObservedService, removedStacks, replicasOf } from "./stack.ts";

export function swarmDrift(expected: Record<string, ProjectExpectation>, observed: ObservedService[], opts: DriftOptions): DriftItem[] {
  const drift: DriftItem[] = [];
  for (const [project, exp] of Object.entries(expected)) {
    if (opts.hostInputs && opts.hostInputs(project) !== exp.hostInputs) drift.push({ project, what: "host-side variables changed (env file or allowed process variables)" });
    for (const [service, t] of Object.entries(exp.services)) {
      const name = `${project}_${service}`;
      const o = observed.find((x) => x.name === name);
      if (!o) drift.push({ project, service, what: `service ${name} is missing` });
      else if (o.hash !== t.hash) drift.push({ project, service, what: `${name}: its spec is not the one Konta deployed` });
      else if (replicasOf(o.spec.Mode) !== t.replicas && "Replicated" in o.spec.Mode) drift.push({ project, service, what: `${name}: scaled to ${replicasOf(o.spec.Mode)}, should be ${t.replicas}` });
      else if (t.engineSpec !== undefined && o.specDigest !== t.engineSpec) drift.push({ project, service, what: `${name}: changed by hand (docker service update)` });
    }
    const known = new Set([...Object.keys(exp.services), ...(exp.ignored ?? [])]);
    for (const o of observed) {
      if (o.managed && o.spec.Labels?.[STACK_NAMESPACE] === project && !known.has(o.name.slice(project.length + 1))) drift.push({ project, service: o.name.slice(project.length + 1), what: `service ${o.name} is not in the live release` });
    }
  }
  if (opts.prune) {
    for (const stack of removedStacks(observed, new Set(Object.keys(expected)), opts.instance, new Set())) drift.push({ project: stack, what: "app folder is not in the live release; its services are still there" });
  }
  return drift;
}
