import { defineCommand } from "citty";
import { rollback } from "../../lib/flows/rollback.ts";
import { globalArgs, jsonArg, waitArg, waitSeconds } from "../args.ts";
import { formatSummary } from "../format.ts";
import { out, printJson, withRuntime } from "../run.ts";

export default defineCommand({
  meta: {
    name: "rollback",
    description:
      "Go back to a kept release, and hold timer runs there. It points `current` at the release (default: the previous good one) and applies it with the images it ran; timer runs then hold at that release until a new commit appears on the branch or `konta resume` is run.",
  },
  args: {
    sha: { type: "positional", required: false, description: "release to go back to (a full SHA or a prefix of at least 4 characters)" },
    ...globalArgs,
    ...jsonArg,
    ...waitArg,
  },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const r = await rollback(rt, ctx.args.sha, waitSeconds(ctx.args));
      if (ctx.args.json) return printJson(r);
      const lines = [
        `rolled back to ${r.sha.slice(0, 12)}${r.from ? ` (from ${r.from.slice(0, 12)})` : ""} in ${(r.durationMs / 1000).toFixed(2)}s`,
        ...formatSummary(r.summary),
        "timer runs hold here until a new commit arrives; `konta resume` lifts the hold now",
      ];
      out(`${lines.join("\n")}`);
    }),
});
