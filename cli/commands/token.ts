import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { setTokenInConfig } from "../../lib/config/token.ts";
import { globalArgs } from "../args.ts";
import { withRuntime } from "../run.ts";
import { readSecret } from "../stdin.ts";

const set = defineCommand({
  meta: {
    name: "set",
    description:
      "Store the Git token (a GitHub personal access token with `repo` scope) in the config, encrypted with the key in <state-dir>/key. The token is read from stdin, never from the command line.",
  },
  args: { ...globalArgs },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const token = await readSecret("GitHub token (input hidden): ");
      rt.ensureStateDirs();
      await setTokenInConfig(rt.config.file, token, rt.paths.key);
      log.success(`token stored encrypted in ${rt.config.file} (key: ${rt.paths.key})`);
    }),
});

export default defineCommand({
  meta: { name: "token", description: "Store the Git token, encrypted." },
  subCommands: { set },
});
