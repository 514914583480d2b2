import { defineCommand } from "citty";
import { uninstall } from "../../lib/flows/install.ts";
import { DEFAULT_UNIT_DIR, resolveConfigFile, resolveStateDir } from "../../lib/base/paths.ts";
import { globalArgs, unitArgs } from "../args.ts";
import { execute, out } from "../run.ts";

export default defineCommand({
  meta: {
    name: "uninstall",
    description: "Disable and remove the systemd units. State and config are kept unless --purge. Running containers are left as they are.",
  },
  args: { ...globalArgs, ...unitArgs, purge: { type: "boolean", description: "also remove the state directory and the config file" } },
  run: (ctx) =>
    execute(ctx, async () => {
      const a = ctx.args;
      const done = uninstall({
        unitDir: a["unit-dir"] || DEFAULT_UNIT_DIR,
        config: resolveConfigFile(a.config),
        stateDir: resolveStateDir(a["state-dir"]),
        purge: a.purge ?? false,
        enable: a.enable,
      });
      out(`${done.join("\n")}`);
    }),
});
