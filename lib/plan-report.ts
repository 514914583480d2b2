// `konta plan`: what a sync would do for the branch head (a dry run of the sync flow), with the
// changed fields of each recreated service against the live release (secrets masked). Changes
// nothing.
import { loadReleaseUnlocking } from "./compose/index.ts";
import { planDetails } from "./diff.ts";
import { ExitCode } from "./errors.ts";
import { planHasChanges } from "./reconcile/plan.ts";
import type { Runtime } from "./runtime.ts";
import { sync, type SyncReport } from "./sync.ts";

export interface PlanReport {
  report: SyncReport;
  /** "project/service" -> its changed fields, for the services the plan recreates */
  details: Map<string, string[]>;
  /** something would change (a plan step or drift) */
  changes: boolean;
}

export async function planReport(rt: Runtime, wait: number): Promise<PlanReport> {
  const report = await sync(rt, { dryRun: true, wait });
  if (report.exitCode !== ExitCode.ok || !report.plan) {
    return { report, details: new Map(), changes: (report.drift?.length ?? 0) > 0 };
  }
  const live = rt.store.current();
  const before = live ? await loadReleaseUnlocking(rt.store.root(live), rt.composeOptions(live)) : [];
  return {
    report,
    details: planDetails(report.plan, report.projects ?? [], before),
    changes: planHasChanges(report.plan) || (report.drift?.length ?? 0) > 0,
  };
}
