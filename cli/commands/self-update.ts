import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { runHook } from "../../lib/hooks/index.ts";
import { log } from "../../lib/log.ts";
import { resolveConfigFile } from "../../lib/paths.ts";
import { Runtime } from "../../lib/runtime.ts";
import { selfUpdate } from "../../lib/selfupdate.ts";
import { globalArgs } from "../args.ts";
import { execute, out } from "../run.ts";

export default defineCommand({
  meta: {
    name: "self-update",
    description:
      "Replace this binary with a new one after checking its SHA-256 and that it runs; the old one is kept as <binary>.old. Then hooks/post_update.sh of the live release runs.",
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
      const config = resolveConfigFile(ctx.args.config);
      if (!existsSync(config)) return void log.info("no config: post_update.sh skipped");
      const rt = await Runtime.load({ config, stateDir: ctx.args["state-dir"] });
      const live = rt.store.current();
      if (!live) return void log.info("no live release: post_update.sh skipped");
      const hook = await runHook("post_update", { commit: live, previous: live, releaseDir: rt.store.root(live), projects: [] }, rt.config.hooks);
      if (hook.ran && hook.exitCode !== 0) log.warn(`hooks/post_update.sh exited with ${hook.exitCode}`);
    }),
});
