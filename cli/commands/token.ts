import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { storeSecretInConfig } from "../../lib/config/token.ts";
import { InputError } from "../../lib/base/errors.ts";
import { globalArgs } from "../args.ts";
import { withRuntime } from "../run.ts";
import { readSecret } from "../stdin.ts";

const set = defineCommand({
  meta: {
    name: "set",
    description:
      "Store the Git token (a GitHub personal access token with `repo` scope) in the config, encrypted with the key in <state-dir>/key. The token is read from stdin, never from the command line. With --report: the token that posts each deploy's result on its commit (report.token; it needs the right to write commit statuses, which a read-only deploy token lacks). With --provider NAME: the token (or with --approle the AppRole secret_id) of a secret manager of secrets.providers.",
  },
  args: {
    ...globalArgs,
    report: { type: "boolean", description: "store report.token (commit statuses) instead of the Git token" },
    provider: { type: "string", description: "store the token of secret manager NAME (secrets.providers.NAME.token) instead" },
    approle: { type: "boolean", description: "with --provider: store its AppRole secret_id instead of a token" },
  },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const provider = ctx.args.provider;
      if (ctx.args.approle && !provider) throw new InputError("--approle goes with --provider NAME");
      if (provider && !rt.config.secrets.providers[provider]) throw new InputError(`there is no secrets.providers.${provider} in ${rt.config.file}`, { hint: "add the provider (type and url) first" });
      const key = provider ? ["secrets", "providers", provider, ...(ctx.args.approle ? ["approle", "secret_id"] : ["token"])] : ctx.args.report ? ["report", "token"] : ["repository", "token"];
      const token = await readSecret(provider ? `${key.slice(2).join(".")} of ${provider} (input hidden): ` : ctx.args.report ? "token for commit statuses (input hidden): " : "GitHub token (input hidden): ");
      rt.ensureStateDirs();
      await storeSecretInConfig(rt.config.file, key, token, rt.paths.key);
      log.success(`${key.join(".")} stored encrypted in ${rt.config.file} (key: ${rt.paths.key})`);
    }),
});

export default defineCommand({
  meta: { name: "token", description: "Store the Git token (or another credential), encrypted." },
  subCommands: { set },
});
