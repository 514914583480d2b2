// `konta plan`: what a sync would do for the branch head (a dry run of the sync flow), with the
// changed fields of each created, recreated or updated service against the live release (secrets
// masked). Changes nothing.
import { loadReleaseUnlocking } from "../compose/index.ts";
import { planDetails } from "../compose/diff.ts";
import { ExitCode } from "../base/errors.ts";
import { planHasChanges, plannedServices } from "../targets/index.ts";
import type { Runtime } from "./runtime.ts";
import { sync, type SyncReport } from "./sync/index.ts";

export interface PlanReport {
  report: SyncReport;
  /** "project/service" -> its changed fields, for the services the plan creates, recreates or updates */
  details: Map<string, string[]>;
  /** something would change (a plan step or drift) */
  changes: boolean;
}

export async function planReport(rt: Runtime, wait: number): Promise<PlanReport> {
  const report = await sync(rt, { dryRun: true, wait });
  const drift = (report.drift?.length ?? 0) > 0;
  if (report.exitCode !== ExitCode.ok || !report.plan) return { report, details: new Map(), changes: drift };
  const live = rt.store.current();
  const before = live ? await loadReleaseUnlocking(rt.store.root(live), rt.composeOptions(live)) : [];
  const details = planDetails(plannedServices(report.plan), report.projects ?? [], before);
  // what changed besides the model, as the target says (a swarm service pinned to another digest)
  for (const unit of report.plan.units) {
    for (const a of unit.actions) {
      const key = `${unit.name}/${a.service}`;
      if (a.details?.length) details.set(key, [...(details.get(key) ?? []), ...a.details]);
    }
  }
  return { report, details, changes: planHasChanges(report.plan) || drift };
}
