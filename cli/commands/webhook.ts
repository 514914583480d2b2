import { spawnSync } from "node:child_process";
import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { storeSecretInConfig, resolveWebhookSecret } from "../../lib/config/token.ts";
import { decide, formatResponse, readRequest, RequestError } from "../../lib/webhook/index.ts";
import { globalArgs } from "../args.ts";
import { execute, withRuntime } from "../run.ts";
import { Runtime } from "../../lib/flows/runtime.ts";
import { readSecret } from "../stdin.ts";

const READ_TIMEOUT_MS = 10_000;

const set = defineCommand({
  meta: { name: "set", description: "Store the webhook's shared secret in the config (webhook.secret), encrypted; read from stdin." },
  args: { ...globalArgs },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const secret = await readSecret("webhook secret (input hidden): ");
      rt.ensureStateDirs();
      await storeSecretInConfig(rt.config.file, ["webhook", "secret"], secret, rt.paths.key);
      log.success(`webhook secret stored encrypted in ${rt.config.file}`);
    }),
});

export default defineCommand({
  meta: {
    name: "webhook",
    description:
      "Answer one HTTP request from stdin (run by konta-webhook@.service for each connection to konta-webhook.socket). A push to the configured branch signed with webhook.secret (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token or Authorization: Bearer) starts konta.service without waiting.",
  },
  args: { ...globalArgs },
  subCommands: { secret: defineCommand({ meta: { name: "secret", description: "Manage the webhook secret." }, subCommands: { set } }) },
  run: (ctx) => {
    // citty runs a parent's run after its subcommand's
    if (ctx.rawArgs[0] === "secret") return;
    return execute(ctx, async () => {
      let rt: Runtime;
      try {
        rt = await Runtime.load({ config: ctx.args.config, stateDir: ctx.args["state-dir"] });
      } catch (err) {
        // the client still gets an answer; the reason goes to the journal
        await Bun.write(Bun.stdout, formatResponse(500, "the webhook is not configured"));
        throw err;
      }
      const answer = async () => {
        const secret = await resolveWebhookSecret(rt.config, rt.paths.key);
        if (!secret) {
          log.error("webhook: no webhook.secret in the config; every request is refused (konta webhook secret set)");
          return { status: 500, reason: "the webhook is not configured", deploy: false };
        }
        try {
          return decide(await readRequest(Bun.stdin.stream(), READ_TIMEOUT_MS), secret, rt.config.repository.branch);
        } catch (err) {
          if (err instanceof RequestError) return { status: err.status, reason: err.message, deploy: false };
          throw err;
        }
      };
      const a = await answer();
      if (a.deploy) {
        // the deploy runs in the timer's unit (its sandbox, its lock); this process exits at once
        const r = spawnSync("systemctl", ["start", "--no-block", "konta.service"], { encoding: "utf8" });
        if (r.status !== 0) {
          log.error(`webhook: systemctl start --no-block konta.service failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
          a.status = 500;
          a.reason = "could not start konta.service";
        }
      }
      log.info(`webhook: ${a.status} ${a.reason}`);
      await Bun.write(Bun.stdout, formatResponse(a.status, a.reason));
      return a.status < 400 ? 0 : 2;
    });
  },
});
