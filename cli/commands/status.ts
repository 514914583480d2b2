import { defineCommand } from "citty";
import { ExitCode, InputError } from "../../lib/base/errors.ts";
import { log } from "../../lib/base/log.ts";
import { storeSecretInConfig } from "../../lib/config/token.ts";
import { readSecret } from "../stdin.ts";
import { serviceProgress, status } from "../../lib/flows/status.ts";
import { globalArgs, jsonArg } from "../args.ts";
import { ago, duration } from "../format.ts";
import { out, printJson, withRuntime } from "../run.ts";

const passwordSet = defineCommand({
  meta: { name: "set", description: "Store the status page's password (status.password) in the config, encrypted; read from stdin. The page, /status.json and /metrics then answer with HTTP Basic auth (any user name)." },
  args: { ...globalArgs },
  run: (ctx) =>
    withRuntime(ctx, async (rt) => {
      const password = await readSecret("status page password (input hidden): ");
      if (password.length < 8) throw new InputError("the status page password must have at least 8 characters");
      rt.ensureStateDirs();
      await storeSecretInConfig(rt.config.file, ["status", "password"], password, rt.paths.key);
      log.success(`status page password stored encrypted in ${rt.config.file}`);
    }),
});

export default defineCommand({
  meta: {
    name: "status",
    description:
      "Show the live release, the last run and its result, a held or failed commit, every managed service (state, health, image, uptime) and drift: containers that no longer match the live release.",
  },
  args: { ...globalArgs, ...jsonArg },
  subCommands: { password: defineCommand({ meta: { name: "password", description: "Manage the status page's password." }, subCommands: { set: passwordSet } }) },
  run: (ctx) => {
    // citty runs a parent's run after its subcommand's
    if (ctx.rawArgs[0] === "password") return;
    return withRuntime(ctx, async (rt) => {
      const s = await status(rt);
      if (ctx.args.json) {
        printJson(s);
        return s.engineError ? ExitCode.unreachable : ExitCode.ok;
      }
      const lines: string[] = [];
      const l = s.live;
      lines.push(`repository ${s.repository.url} (branch ${s.repository.branch}${s.repository.path !== "." ? `, path ${s.repository.path}` : ""})`);
      if (s.repository.transport === "ssh") lines.push(`transport  ssh, deploy key ${s.repository.key_fingerprint ?? "missing (konta install --ssh makes one)"}`);
      lines.push(
        l
          ? `live       ${l.sha.slice(0, 12)}${l.message ? ` "${l.message.split("\n")[0]}"` : ""}${l.author ? ` by ${l.author}` : ""}${l.deployedAt ? `, ${l.trigger === "rollback" ? "rolled back to" : "deployed"} ${ago(l.deployedAt)}` : ""}`
          : "live       nothing deployed yet",
      );
      if (s.lastAttempt) {
        const a = s.lastAttempt;
        lines.push(`last run   ${ago(a.at)}: ${a.result}${a.sha ? ` ${a.sha.slice(0, 12)}` : ""} (${duration(a.durationMs)})${a.error ? `: ${a.error.split("\n")[0]}` : ""}`);
      }
      if (s.held) lines.push(`held       at ${s.held.sha.slice(0, 12)} since ${ago(s.held.since)} by konta rollback (a new commit or \`konta resume\` lifts it)`);
      if (s.failed) lines.push(`failed     ${s.failed.sha.slice(0, 12)} ${ago(s.failed.at)}: ${s.failed.error.split("\n")[0]} (not retried until a new commit or \`konta sync --now\`)`);
      for (const w of s.configWarnings) lines.push(`config     ${w}`);
      const iu = s.imageUpdates;
      if (iu?.checkedAt) lines.push(`images     checked ${ago(iu.checkedAt)}${iu.updated ? `; updated ${iu.updated.images.join(", ")} ${ago(iu.updated.at)}` : ""}`);
      for (const [ref, digest] of Object.entries(iu?.failed ?? {})) lines.push(`images     ${ref} ${digest.slice(0, 19)} failed and was rolled back; waiting for another push`);
      if (s.engineError) lines.push(`engine     unreachable: ${s.engineError}`);
      else if (s.engine) lines.push(`engine     Docker ${s.engine.version} (API ${s.engine.api})${s.target === "swarm" ? ", a Swarm manager (deploy.target: swarm)" : ""}`);
      for (const n of s.nodes ?? []) lines.push(`node       ${n.name.padEnd(24)} ${n.role}${n.leader ? " (leader)" : ""}, ${n.state}, ${n.availability}`);
      for (const p of s.projects) {
        lines.push("", p.name);
        for (const svc of p.services) {
          const want = serviceProgress(svc).text;
          lines.push(`  ${svc.name.padEnd(16)} ${want.padEnd(24)} ${svc.image}`);
          for (const c of svc.containers) {
            const health = c.health ? ` ${c.health}` : "";
            const up = c.uptimeSeconds !== undefined ? ` up ${duration(c.uptimeSeconds * 1000)}` : "";
            const node = c.node ? ` on ${c.node}` : "";
            const err = c.error ? ` (${c.error})` : "";
            lines.push(`    ${c.name.padEnd(30)} ${c.state}${node}${health}${up}${err}`);
          }
        }
      }
      lines.push("", s.drift.length ? "drift (the next sync repairs it):" : "drift      none");
      for (const d of s.drift) lines.push(`  ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what}`);
      out(`${lines.join("\n")}`);
      return s.engineError ? ExitCode.unreachable : ExitCode.ok;
    });
  },
});
