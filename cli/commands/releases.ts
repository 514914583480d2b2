import { defineCommand } from "citty";
import { listReleases } from "../../lib/flows/release-list.ts";
import { globalArgs, jsonArg } from "../args.ts";
import { out, printJson, withRuntime } from "../run.ts";

export default defineCommand({
  meta: { name: "releases", description: "List the kept releases, newest first. * marks the live one, < the target of a plain `konta rollback`." },
  args: { ...globalArgs, ...jsonArg },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const list = await listReleases(rt);
      if (ctx.args.json) return printJson(list);
      if (!list.length) return out("no releases yet");
      const lines = list.map((r) => {
        const mark = r.live ? "*" : r.rollbackTarget ? "<" : " ";
        const when = r.date ? r.date.replace(/\.\d+Z$/, "Z") : "";
        return `${mark} ${r.sha.slice(0, 12)}  ${when.padEnd(20)}  ${r.message.split("\n")[0] ?? ""}`;
      });
      out(`${lines.join("\n")}`);
    }),
});
