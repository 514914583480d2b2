import { defineCommand } from "citty";
import { loadReleaseUnlocking } from "../../lib/compose/index.ts";
import { planDetails } from "../../lib/diff.ts";
import { ExitCode } from "../../lib/errors.ts";
import { log } from "../../lib/log.ts";
import { planHasChanges } from "../../lib/reconcile/plan.ts";
import { sync } from "../../lib/sync.ts";
import { globalArgs, jsonArg } from "../args.ts";
import { formatPlan, planView } from "../format.ts";
import { out, printJson, withRuntime } from "../run.ts";

export default defineCommand({
  meta: {
    name: "plan",
    alias: ["diff"],
    description:
      "Show what a sync would do for the branch head: per project and service what would be created, recreated (with the changed fields, secrets masked), started, stopped or removed, and any drift. Changes nothing. Exit 0 when nothing would change, 10 when something would.",
  },
  args: { ...globalArgs, ...jsonArg, wait: { type: "string", description: "wait up to this many seconds for another run's lock", valueHint: "seconds" } },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const report = await sync(rt, { dryRun: true, wait: Number(ctx.args.wait ?? 0) });
      if (report.exitCode !== ExitCode.ok) {
        if (ctx.args.json) printJson(report);
        else log.error(report.message);
        return report.exitCode;
      }
      const live = rt.store.current();
      const before = live && report.plan ? await loadReleaseUnlocking(rt.store.root(live), rt.composeOptions(live)) : [];
      const details = report.plan ? planDetails(report.plan, report.projects ?? [], before) : new Map<string, string[]>();
      const changes = (report.plan ? planHasChanges(report.plan) : false) || (report.drift?.length ?? 0) > 0;
      if (ctx.args.json) {
        printJson({ sha: report.sha, changes, plan: report.plan ? planView(report.plan) : [], details: Object.fromEntries(details), drift: report.drift ?? [] });
      } else {
        const lines = [report.message];
        if (report.plan) lines.push(...formatPlan(report.plan, (project, a) => (a.type === "recreate" ? (details.get(`${project}/${a.service}`) ?? []) : [])));
        for (const d of report.drift ?? []) lines.push(`  drift ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what}`);
        out(`${lines.join("\n")}`);
      }
      return changes ? ExitCode.planHasChanges : ExitCode.ok;
    }),
});
