// `konta plan`: what a sync would do for the branch head (a dry run of the sync flow), with the
// changed fields of each recreated service against the live release (secrets masked). Changes
// nothing.
import { loadReleaseUnlocking } from "../compose/index.ts";
import { planDetails, plannedServices } from "../targets/engine/diff.ts";
import { ExitCode } from "../base/errors.ts";
import { planHasChanges } from "../targets/engine/plan.ts";
import { stackHasChanges } from "../targets/swarm/plan-changes.ts";
import type { Runtime } from "./runtime.ts";
import { sync, type SyncReport } from "./sync/index.ts";

export interface PlanReport {
  report: SyncReport;
  /** "project/service" -> its changed fields, for the services the plan recreates */
  details: Map<string, string[]>;
  /** something would change (a plan step or drift) */
  changes: boolean;
}

export async function planReport(rt: Runtime, wait: number): Promise<PlanReport> {
  const report = await sync(rt, { dryRun: true, wait });
  const drift = (report.drift?.length ?? 0) > 0;
  if (report.exitCode !== ExitCode.ok || (!report.plan && !report.stacks)) return { report, details: new Map(), changes: drift };
  const live = rt.store.current();
  const before = live ? await loadReleaseUnlocking(rt.store.root(live), rt.composeOptions(live)) : [];
  const services = report.plan
    ? plannedServices(report.plan)
    : (report.stacks ?? []).flatMap((s) => s.steps.filter((x) => x.op !== "remove").map((x) => `${s.stack}/${x.service}`));
  const details = planDetails(services, report.projects ?? [], before);
  // a swarm service pinned to another digest of its tag: the model did not change, the image did
  for (const stack of report.stacks ?? []) {
    for (const step of stack.steps) {
      if (step.op !== "update") continue;
      const image = (spec: { TaskTemplate: Record<string, unknown> }) => (spec.TaskTemplate.ContainerSpec as { Image?: string }).Image;
      const [was, now] = [image(step.current.spec), image(step.spec)];
      const key = `${stack.stack}/${step.service}`;
      if (was !== now) details.set(key, [...(details.get(key) ?? []), `image: ${JSON.stringify(was)} -> ${JSON.stringify(now)}`]);
    }
  }
  return {
    report,
    details,
    changes: (report.plan ? planHasChanges(report.plan) : (report.stacks ?? []).some(stackHasChanges)) || drift,
  };
}
