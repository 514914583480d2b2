import { defineCommand } from "citty";
import { ExitCode } from "../../lib/base/errors.ts";
import { log } from "../../lib/base/log.ts";
import { sync } from "../../lib/flows/sync/index.ts";
import { globalArgs, jsonArg, waitArg, waitSeconds } from "../args.ts";
import { formatPlan, formatSummary, planView } from "../format.ts";
import { out, printJson, withRuntime } from "../run.ts";

export default defineCommand({
  meta: {
    name: "sync",
    description:
      "Deploy the branch head, or repair drift (what the timer runs). A new head is deployed; otherwise what drifted from the live release is put back. A commit that failed is not retried by timer runs until a new commit arrives or --now is given.",
  },
  args: {
    ...globalArgs,
    ...jsonArg,
    now: { type: "boolean", description: "retry a commit that failed before, and show progress" },
    "dry-run": { type: "boolean", description: "print the plan, change nothing" },
    ...waitArg,
  },
  run: (ctx) =>
    withRuntime(
      ctx,
      async (rt) => {
        const report = await sync(rt, { now: ctx.args.now, dryRun: ctx.args["dry-run"], wait: waitSeconds(ctx.args) });
        if (ctx.args.json) {
          // the loaded models hold values from host env files: only the plan (masked) is printed
          const { projects: _models, ...shown } = report;
          printJson({ ...shown, plan: report.plan ? planView(report.plan) : undefined });
          return report.exitCode;
        }
        if (report.exitCode !== ExitCode.ok) {
          log.error(report.message);
          if (report.hint) log.info(`hint: ${report.hint}`);
          return report.exitCode;
        }
        const lines = [report.message];
        if (report.result === "planned" && report.plan) lines.push(...formatPlan(report.plan));
        if (report.summary && report.result !== "planned") lines.push(...formatSummary(report.summary));
        if (!ctx.args.quiet || report.result !== "up-to-date") out(`${lines.join("\n")}`);
        return report.exitCode;
      },
      { progress: ctx.args.now },
    ),
});
