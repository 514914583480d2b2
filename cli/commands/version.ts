import { defineCommand } from "citty";
import { COMMIT, VERSION, versionLine } from "../../lib/base/version.ts";
import { globalArgs, jsonArg } from "../args.ts";
import { execute, out, printJson } from "../run.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the version. With it the commit it was built from and the Bun version." },
  args: { ...globalArgs, ...jsonArg },
  run: (ctx) =>
    execute(ctx, async () => {
      if (ctx.args.json) printJson({ version: VERSION, commit: COMMIT, bun: Bun.version });
      else out(`${versionLine()}`);
    }),
});
