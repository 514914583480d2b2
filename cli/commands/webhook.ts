import { spawnSync } from "node:child_process";
import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { resolveStatusPassword, resolveWebhookSecret, storeSecretInConfig } from "../../lib/config/token.ts";
import {
  BASIC_CHALLENGE,
  decide,
  formatHttp,
  formatResponse,
  type HttpAnswer,
  readRequest,
  RequestError,
  route,
  type StatusPage,
  type WebhookAnswer,
  type WebhookRequest,
} from "../../lib/webhook/index.ts";
import { globalArgs } from "../args.ts";
import { execute, withRuntime } from "../run.ts";
import { Runtime } from "../../lib/flows/runtime.ts";
import { markWebhookRequest } from "../../lib/flows/history.ts";
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
      "Answer one HTTP request from stdin (run by konta-webhook@.service for each connection to konta-webhook.socket). A POST push to the configured branch signed with webhook.secret (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token or Authorization: Bearer) starts konta.service without waiting. GET / (the status page), /status.json and /metrics answer behind HTTP Basic auth with status.password.",
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
      let req: WebhookRequest;
      try {
        req = await readRequest(Bun.stdin.stream(), READ_TIMEOUT_MS);
      } catch (err) {
        if (!(err instanceof RequestError)) throw err;
        log.info(`webhook: ${err.status} ${err.message}`);
        await Bun.write(Bun.stdout, formatResponse(err.status, err.message));
        return 2;
      }
      const r = route(req, await resolveStatusPassword(rt.config, rt.paths.key));
      if (r.kind === "page") {
        await Bun.write(Bun.stdout, formatHttp({ ...(await statusPage(rt, r.page)), head: req.method === "HEAD" }));
        return 0;
      }
      if (r.kind === "refuse") {
        log.info(`webhook: ${req.method} ${req.path.split("?")[0]}: ${r.status} ${r.reason}`);
        await Bun.write(Bun.stdout, formatResponse(r.status, r.reason, { head: req.method === "HEAD", headers: r.status === 401 ? [BASIC_CHALLENGE] : [] }));
        return 2;
      }
      const a = await push(rt, req);
      log.info(`webhook: ${a.status} ${a.reason}`);
      await Bun.write(Bun.stdout, formatResponse(a.status, a.reason));
      return a.status < 400 ? 0 : 2;
    });
  },
});

/** A POST: check its signature and branch; an accepted push starts konta.service. */
async function push(rt: Runtime, req: WebhookRequest): Promise<WebhookAnswer> {
  const secret = await resolveWebhookSecret(rt.config, rt.paths.key);
  if (!secret) {
    log.error("webhook: no webhook.secret in the config; every push is refused (konta webhook secret set)");
    return { status: 500, reason: "the webhook is not configured", deploy: false };
  }
  const a = decide(req, secret, rt.config.repository.branch);
  if (!a.deploy) return a;
  markWebhookRequest(rt);
  // the deploy runs in the timer's unit (its sandbox, its lock); this process exits at once
  const r = spawnSync("systemctl", ["start", "--no-block", "konta.service"], { encoding: "utf8" });
  if (r.status === 0) return a;
  log.error(`webhook: systemctl start --no-block konta.service failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  return { status: 500, reason: "could not start konta.service", deploy: false };
}

/** One page of the status read model (the same data as `konta status --json`). */
async function statusPage(rt: Runtime, page: StatusPage): Promise<HttpAnswer> {
  const { status } = await import("../../lib/flows/status.ts");
  const report = await status(rt, { inspect: false, history: page === "json" ? 20 : 50 });
  if (page === "json") return { status: 200, contentType: "application/json", body: `${JSON.stringify(report, null, 2)}\n` };
  if (page === "metrics") return { status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: (await import("../../lib/flows/metrics.ts")).renderMetrics(report) };
  return { status: 200, contentType: "text/html; charset=utf-8", body: (await import("../../lib/flows/status-page.ts")).renderStatusPage(report) };
}
