import { spawnSync } from "node:child_process";
import { defineCommand } from "citty";
import { log } from "../../lib/base/log.ts";
import { resolveStatusPassword, resolveWebhookSecret, storeSecretInConfig } from "../../lib/config/token.ts";
import {
  BASIC_CHALLENGE,
  formatHttp,
  formatResponse,
  type HttpAnswer,
  readRequest,
  RequestError,
  route,
  type StatusPage,
  routePush,
  type WebhookAnswer,
  type WebhookRequest,
} from "../../lib/webhook/index.ts";
import { globalArgs } from "../args.ts";
import { execute, withRuntime } from "../run.ts";
import { Runtime } from "../../lib/flows/runtime.ts";
import { markWebhookRequest } from "../../lib/flows/history.ts";
import { type Family, instanceLabel, listInstances, resolveInstance, serviceUnit } from "../../lib/base/instances.ts";
import { errorMessage } from "../../lib/base/errors.ts";
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
      "Answer one HTTP request from stdin: a push, or the status page. Run by konta-webhook@.service for each connection to konta-webhook.socket. A POST push to the configured branch signed with webhook.secret (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token or Authorization: Bearer) starts konta.service without waiting. GET / (the status page), /status.json and /metrics answer behind HTTP Basic auth with status.password. More: docs/webhook.md.",
  },
  args: { ...globalArgs },
  subCommands: { secret: defineCommand({ meta: { name: "secret", description: "Manage the webhook secret." }, subCommands: { set } }) },
  run: (ctx) => {
    // citty runs a parent's run after its subcommand's
    if (ctx.rawArgs[0] === "secret") return;
    return execute(ctx, async () => {
      const { ref, family } = resolveInstance({ config: ctx.args.config, stateDir: ctx.args["state-dir"], instance: ctx.args.instance });
      // the instance the unit names (the default) answers the status routes; a push may be for any instance here
      const main = await Runtime.of(ref, family).catch((err) => {
        log.warn(`webhook: ${errorMessage(err)}`);
        return undefined;
      });
      let req: WebhookRequest;
      try {
        req = await readRequest(Bun.stdin.stream(), READ_TIMEOUT_MS);
      } catch (err) {
        if (!(err instanceof RequestError)) throw err;
        log.info(`webhook: ${err.status} ${err.message}`);
        await Bun.write(Bun.stdout, formatResponse(err.status, err.message));
        return 2;
      }
      const r = route(req, main ? await resolveStatusPassword(main.config, main.paths.key) : undefined);
      if (r.kind === "page" && main) {
        await Bun.write(Bun.stdout, formatHttp({ ...(await statusPage(main, r.page)), head: req.method === "HEAD" }));
        return 0;
      }
      if (r.kind === "refuse") {
        log.info(`webhook: ${req.method} ${req.path.split("?")[0]}: ${r.status} ${r.reason}`);
        await Bun.write(Bun.stdout, formatResponse(r.status, r.reason, { head: req.method === "HEAD", headers: r.status === 401 ? [BASIC_CHALLENGE] : [] }));
        return 2;
      }
      const a = await push(family, main, req);
      log.info(`webhook: ${a.status} ${a.reason}`);
      await Bun.write(Bun.stdout, formatResponse(a.status, a.reason));
      return a.status < 400 ? 0 : 2;
    });
  },
});

/** A POST: the instances whose secret signs it and whose repository and branch it is for; each one's unit is started. */
async function push(family: Family, main: Runtime | undefined, req: WebhookRequest): Promise<WebhookAnswer> {
  const runtimes = new Map<string, Runtime>();
  for (const ref of listInstances(family)) {
    const rt = main && ref.config === main.ref.config ? main : await Runtime.of(ref, family).catch((err) => log.warn(`webhook: instance ${instanceLabel(ref)}: ${errorMessage(err)}`));
    if (rt) runtimes.set(instanceLabel(ref), rt);
  }
  // a config outside the family's layout (konta webhook --config elsewhere) is an instance too
  if (main && !runtimes.has(instanceLabel(main.ref))) runtimes.set(instanceLabel(main.ref), main);
  const targets = await Promise.all(
    [...runtimes].map(async ([name, rt]) => ({ name, secret: await resolveWebhookSecret(rt.config, rt.paths.key), branch: rt.config.repository.branch, tags: !!rt.config.repository.tag, url: rt.config.repository.url })),
  );
  if (!targets.some((t) => t.secret)) log.error("webhook: no instance has a webhook.secret; every push is refused (konta webhook secret set)");
  const a = routePush(req, targets);
  for (const name of a.start) {
    const rt = runtimes.get(name) as Runtime;
    markWebhookRequest(rt);
    // the deploy runs in the timer's unit (its sandbox, its lock); this process exits at once
    const unit = serviceUnit(rt.ref);
    const r = spawnSync("systemctl", ["start", "--no-block", unit], { encoding: "utf8" });
    if (r.status !== 0) {
      log.error(`webhook: systemctl start --no-block ${unit} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
      return { status: 500, reason: `could not start ${unit}`, deploy: false };
    }
  }
  return a;
}

/** One page of the status read model (the same data as `konta status --json`). */
async function statusPage(rt: Runtime, page: StatusPage): Promise<HttpAnswer> {
  const { status } = await import("../../lib/flows/status.ts");
  const report = await status(rt, { inspect: false, history: page === "json" ? 20 : 50 });
  if (page === "json") return { status: 200, contentType: "application/json", body: `${JSON.stringify(report, null, 2)}\n` };
  if (page === "metrics") return { status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: (await import("../../lib/flows/metrics.ts")).renderMetrics(report) };
  return { status: 200, contentType: "text/html; charset=utf-8", body: (await import("../../lib/flows/status-page.ts")).renderStatusPage(report) };
}
