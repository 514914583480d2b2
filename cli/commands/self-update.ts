import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { runPostUpdateHook, selfUpdate } from "../../lib/flows/selfupdate.ts";
import { globalArgs } from "../args.ts";
import { execute, out } from "../run.ts";

export default defineCommand({
  meta: {
    name: "self-update",
    description:
      "Replace this binary with a checked new one. Its SHA-256 is checked and it must run; the old one is kept as <binary>.old. Then hooks/post_update.sh of the live release runs.",
  },
  args: {
    ...globalArgs,
    from: { type: "string", required: true, description: "URL or file of the new binary", valueHint: "url|file" },
    sha256: { type: "string", required: true, description: "expected SHA-256 of the new binary (hex)", valueHint: "hex" },
  },
  run: (ctx) =>
    execute(ctx, async () => {
      const r = await selfUpdate(ctx.args.from, ctx.args.sha256, process.execPath);
      out(`updated ${r.target} to ${r.version}; the previous binary is ${r.backup}`);
      const hook = await runPostUpdateHook({ config: ctx.args.config, stateDir: ctx.args["state-dir"] });
      if ("skipped" in hook) log.info(`${hook.skipped}: post_update.sh skipped`);
      else if (hook.exitCode !== 0) log.warn(`hooks/post_update.sh exited with ${hook.exitCode}`);
    }),
});
