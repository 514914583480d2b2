import { nextWindowText } from "../../lib/flows/window.ts";
import { defineCommand } from "citty";
import { InputError } from "../../lib/base/errors.ts";
import { readHistory } from "../../lib/history/index.ts";
import { globalArgs, jsonArg } from "../args.ts";
import { duration } from "../format.ts";
import { out, printJson, withRuntime } from "../run.ts";

export default defineCommand({
  meta: {
    name: "history",
    description:
      "Show the deploy history, newest first. Every run that did something (deploy, rollback, drift repair, image update, failure, resume), with its commit, trigger, result, duration and what it did to each service.",
  },
  args: { ...globalArgs, ...jsonArg, n: { type: "string", description: "show the newest N entries (default 20; --json: all kept)", valueHint: "N" } },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const n = ctx.args.n === undefined ? (ctx.args.json ? undefined : 20) : Number(ctx.args.n);
      if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new InputError(`-n ${ctx.args.n}: give a whole number above 0`);
      const entries = readHistory(rt.paths.history, n);
      if (ctx.args.json) return printJson(entries);
      if (!entries.length) return out("no history yet: nothing has been deployed, repaired or rolled back");
      const lines: string[] = [];
      for (const e of entries) {
        const when = e.at.replace(/\.\d+Z$/, "Z");
        const commit = e.sha ? `${e.sha.slice(0, 12)}${e.tag ? ` ${e.tag}` : ""}${e.subject ? ` "${e.subject}"` : ""}` : "-";
        const again = e.repeated ? ` (${e.repeated + 1} times, last ${e.lastAt?.replace(/\.\d+Z$/, "Z")})` : "";
        lines.push(`${when}  ${e.kind.padEnd(12)} ${e.result.padEnd(11)} ${e.trigger.padEnd(8)} ${duration(e.durationMs).padStart(6)}  ${commit}${again}`);
        if (e.error) lines.push(`    error: ${e.error.split("\n")[0]}${e.rolledBack ? " (rolled back)" : ""}`);
        if (e.images?.length) lines.push(`    images: ${e.images.join(", ")}`);
        if (e.signer) lines.push(`    signed by ${e.signer}`);
        if (e.kind === "waiting") lines.push(`    checked and planned; waits for ${nextWindowText(rt.config.sync, e.opensAt)}`);
        if (e.outsideWindow) lines.push("    outside the deploy windows (konta sync --now)");
        for (const a of e.actions) lines.push(`    ${a.action.padEnd(8)} ${a.service}`);
      }
      out(lines.join("\n"));
    }),
});
