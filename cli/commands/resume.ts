import { defineCommand } from "citty";
import { resume } from "../../lib/rollback.ts";
import { globalArgs } from "../args.ts";
import { withRuntime } from "../run.ts";

export default defineCommand({
  meta: { name: "resume", description: "Lift the hold a `konta rollback` put on timer runs: the next sync deploys the branch head again." },
  args: { ...globalArgs },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const held = await resume(rt);
      process.stdout.write(held ? `hold at ${held.slice(0, 12)} lifted; the next sync deploys the branch head\n` : "nothing was held\n");
    }),
});
