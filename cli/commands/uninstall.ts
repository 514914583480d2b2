import { defineCommand } from "citty";
import { uninstall } from "../../lib/flows/install.ts";
import { DEFAULT_UNIT_DIR } from "../../lib/base/paths.ts";
import { resolveInstance } from "../../lib/base/instances.ts";
import { globalArgs, unitArgs } from "../args.ts";
import { execute, out } from "../run.ts";

export default defineCommand({
  meta: {
    name: "uninstall",
    description: "Remove the systemd units; keep state and config unless --purge. With --instance NAME, only that instance's units (the others keep running). Running containers are left as they are.",
  },
  args: { ...globalArgs, ...unitArgs, purge: { type: "boolean", description: "also remove the state directory and the config file" } },
  run: (ctx) =>
    execute(ctx, async () => {
      const a = ctx.args;
      const { ref, family } = resolveInstance({ config: a.config, stateDir: a["state-dir"], instance: a.instance });
      const done = uninstall({
        unitDir: a["unit-dir"] || DEFAULT_UNIT_DIR,
        config: ref.config,
        stateDir: ref.stateDir,
        purge: a.purge ?? false,
        enable: a.enable,
        ...(ref.name ? { instance: { name: ref.name, family } } : {}),
      });
      out(`${done.join("\n")}`);
    }),
});
