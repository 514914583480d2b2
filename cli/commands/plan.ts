import { defineCommand } from "citty";
import { ExitCode } from "../../lib/base/errors.ts";
import { log } from "../../lib/base/log.ts";
import { planReport } from "../../lib/flows/plan-report.ts";
import { globalArgs, jsonArg, waitArg, waitSeconds } from "../args.ts";
import { formatPlan, planView } from "../format.ts";
import { out, printJson, withRuntime } from "../run.ts";

export default defineCommand({
  meta: {
    name: "plan",
    alias: ["diff"],
    description:
      "Show what a sync would do, and change nothing. For the branch head, per project and service: what would be created, recreated (with the changed fields, secrets masked), started, stopped or removed, and any drift. Exit 0 when nothing would change, 10 when something would. Each action lists the engine requests that carry it out, in order (docs/architecture.md).",
  },
  args: { ...globalArgs, ...jsonArg, ...waitArg },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const { report, details, changes } = await planReport(rt, waitSeconds(ctx.args));
      if (report.exitCode !== ExitCode.ok) {
        if (ctx.args.json) printJson(report);
        else {
          log.error(report.message);
          if (report.hint) log.info(`hint: ${report.hint}`);
        }
        return report.exitCode;
      }
      if (ctx.args.json) {
        printJson({ sha: report.sha, changes, plan: report.plan ? planView(report.plan) : [], details: Object.fromEntries(details), drift: report.drift ?? [] });
      } else {
        const lines = [report.message];
        if (report.plan) lines.push(...formatPlan(report.plan, (unit, a) => (a.type === "recreate" || a.type === "update" ? (details.get(`${unit}/${a.service}`) ?? []) : [])));
        for (const d of report.drift ?? []) lines.push(`  drift ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what}`);
        out(`${lines.join("\n")}`);
      }
      return changes ? ExitCode.planHasChanges : ExitCode.ok;
    }),
});
