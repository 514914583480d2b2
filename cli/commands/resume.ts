import { defineCommand } from "citty";
import { resume } from "../../lib/flows/rollback.ts";
import { globalArgs, waitArg, waitSeconds } from "../args.ts";
import { out, withRuntime } from "../run.ts";

export default defineCommand({
  meta: { name: "resume", description: "Lift the hold of a rollback: the next sync deploys the branch head again." },
  args: { ...globalArgs, ...waitArg },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const held = await resume(rt, waitSeconds(ctx.args));
      out(held ? `hold at ${held.slice(0, 12)} lifted; the next sync deploys the branch head` : "nothing was held");
    }),
});
