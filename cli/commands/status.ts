import { defineCommand } from "citty";
import { ExitCode, InputError } from "../../lib/base/errors.ts";
import { log } from "../../lib/base/log.ts";
import { storeSecretInConfig } from "../../lib/config/token.ts";
import { readSecret } from "../stdin.ts";
import { serviceProgress, status } from "../../lib/flows/status.ts";
import { globalArgs, jsonArg } from "../args.ts";
import { ago, duration } from "../format.ts";
import { execute, out, printJson, withRuntime } from "../run.ts";
import { resolveInstance } from "../../lib/base/instances.ts";
import { instancesOverview } from "../../lib/flows/instances.ts";

async function allInstances(a: { config?: string; "state-dir"?: string; instance?: string; json?: boolean }): Promise<number> {
  const { family } = resolveInstance({ config: a.config, stateDir: a["state-dir"], instance: a.instance });
  const list = await instancesOverview(family);
  if (a.json) {
    printJson(list);
    return ExitCode.ok;
  }
  if (!list.length) {
    out(`no instance set up here (no ${family.configDir}/config.yaml nor ${family.configDir}/instances/*.yaml)`);
    return ExitCode.ok;
  }
  const lines: string[] = [];
  for (const i of list) {
    lines.push(`${i.name}  (${i.timer}, ${i.config})`);
    if (i.error) lines.push(`  config     ${i.error.split("\n")[0]}`);
    if (i.repository) lines.push(`  repository ${i.repository.url} (branch ${i.repository.branch}${i.repository.path !== "." ? `, path ${i.repository.path}` : ""})`);
    lines.push(`  live       ${i.live ? i.live.slice(0, 12) : "nothing deployed yet"}${i.lastAttempt ? `; last run ${ago(i.lastAttempt.at)}: ${i.lastAttempt.result}` : ""}`);
    if (i.held) lines.push(`  held       at ${i.held.slice(0, 12)}`);
    if (i.failed) lines.push(`  failed     ${i.failed.sha.slice(0, 12)}: ${i.failed.error.split("\n")[0]}`);
    lines.push(`  projects   ${i.projects.length ? `${i.projects.length}: ${i.projects.join(", ")}` : "none"}`);
  }
  out(lines.join("\n"));
  return ExitCode.ok;
}

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
      "Show the live release, the last run, the services and drift. Also a held or failed commit, and for every managed service its state, health, image and uptime; drift is what no longer matches the live release. The page and the metrics: docs/status.md.",
  },
  args: { ...globalArgs, ...jsonArg, all: { type: "boolean", description: "every instance of this server: its live commit, hold, failed commit and projects" } },
  subCommands: { password: defineCommand({ meta: { name: "password", description: "Manage the status page's password." }, subCommands: { set: passwordSet } }) },
  run: (ctx) => {
    // citty runs a parent's run after its subcommand's
    if (ctx.rawArgs[0] === "password") return;
    if (ctx.args.all) return execute(ctx, () => allInstances(ctx.args));
    return withRuntime(ctx, async (rt) => {
      const s = await status(rt);
      if (ctx.args.json) {
        printJson(s);
        return s.engineError ? ExitCode.unreachable : ExitCode.ok;
      }
      const lines: string[] = [];
      const l = s.live;
      lines.push(`repository ${s.repository.url} (${s.repository.tag ? `tags ${s.repository.tag}` : `branch ${s.repository.branch}`}${s.repository.path !== "." ? `, path ${s.repository.path}` : ""})`);
      if (s.repository.transport === "ssh") lines.push(`transport  ssh, deploy key ${s.repository.key_fingerprint ?? "missing (konta install --ssh makes one)"}`);
      lines.push(
        l
          ? `live       ${l.sha.slice(0, 12)}${l.message ? ` "${l.message.split("\n")[0]}"` : ""}${l.author ? ` by ${l.author}` : ""}${l.deployedAt ? `, ${l.trigger === "rollback" ? "rolled back to" : "deployed"} ${ago(l.deployedAt)}` : ""}`
          : "live       nothing deployed yet",
      );
      if (l?.tag) lines.push(`tag        ${l.tag}`);
      if (l?.signer) lines.push(`signed by  ${l.signer}`);
      if (s.lastAttempt) {
        const a = s.lastAttempt;
        lines.push(`last run   ${ago(a.at)}: ${a.result}${a.sha ? ` ${a.sha.slice(0, 12)}` : ""} (${duration(a.durationMs)}${a.peakRssBytes ? `, peak ${(a.peakRssBytes / 1048576).toFixed(1)} MB` : ""})${a.error ? `: ${a.error.split("\n")[0]}` : ""}`);
      }
      if (s.window) lines.push(`window     ${s.window.open ? "open" : "closed"} (${s.window.windows.join(", ")}${s.window.timezone ? `, ${s.window.timezone}` : ""})${s.window.opens ? `; next: ${s.window.opens.replace(/^the deploy window that opens at /, "")}` : ""}`);
      if (s.waiting) lines.push(`waiting    ${s.waiting.sha.slice(0, 12)}${s.waiting.tag ? ` (${s.waiting.tag})` : ""} for ${s.waiting.opens}, since ${ago(s.waiting.since)} (\`konta sync --now\` deploys it now)`);
      if (s.held) lines.push(`held       at ${s.held.sha.slice(0, 12)} since ${ago(s.held.since)} by konta rollback (a new commit or \`konta resume\` lifts it)`);
      if (s.failed) lines.push(`failed     ${s.failed.sha.slice(0, 12)} ${ago(s.failed.at)}: ${s.failed.error.split("\n")[0]} (not retried until a new commit or \`konta sync --now\`)`);
      for (const w of s.configWarnings) lines.push(`config     ${w}`);
      const iu = s.imageUpdates;
      if (iu?.checkedAt) lines.push(`images     checked ${ago(iu.checkedAt)}${iu.updated ? `; updated ${iu.updated.images.join(", ")} ${ago(iu.updated.at)}` : ""}`);
      for (const [ref, digest] of Object.entries(iu?.failed ?? {})) lines.push(`images     ${ref} ${digest.slice(0, 19)} failed and was rolled back; waiting for another push`);
      if (s.engineError) lines.push(`engine     unreachable: ${s.engineError}`);
      else if (s.engine) lines.push(`engine     Docker ${s.engine.version} (API ${s.engine.api})${s.targetRole ? `, ${s.targetRole}` : ""}`);
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
