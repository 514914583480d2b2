import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { setTokenInConfig, storeSecretInConfig } from "../../lib/config/token.ts";
import { globalArgs } from "../args.ts";
import { withRuntime } from "../run.ts";
import { readSecret } from "../stdin.ts";

const set = defineCommand({
  meta: {
    name: "set",
    description:
      "Store the Git token (a GitHub personal access token with `repo` scope) in the config, encrypted with the key in <state-dir>/key. The token is read from stdin, never from the command line. With --report: the token that posts each deploy's result on its commit (report.token; it needs the right to write commit statuses, which a read-only deploy token lacks).",
  },
  args: { ...globalArgs, report: { type: "boolean", description: "store report.token (commit statuses) instead of the Git token" } },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const report = !!ctx.args.report;
      const token = await readSecret(report ? "token for commit statuses (input hidden): " : "GitHub token (input hidden): ");
      rt.ensureStateDirs();
      if (report) await storeSecretInConfig(rt.config.file, ["report", "token"], token, rt.paths.key);
      else await setTokenInConfig(rt.config.file, token, rt.paths.key);
      log.success(`${report ? "report.token" : "token"} stored encrypted in ${rt.config.file} (key: ${rt.paths.key})`);
    }),
});

export default defineCommand({
  meta: { name: "token", description: "Store the Git token (or the commit statuses' token), encrypted." },
  subCommands: { set },
});
