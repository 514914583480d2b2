import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { loadConfig } from "../../lib/config/index.ts";
import { InputError } from "../../lib/base/errors.ts";
import { parseSshUrl } from "../../lib/git/url.ts";
import { defaultBinary, install, renderUnits } from "../../lib/flows/install.ts";
import { DEFAULT_UNIT_DIR } from "../../lib/base/paths.ts";
import { resolveInstance } from "../../lib/base/instances.ts";
import { globalArgs, unitArgs } from "../args.ts";
import { execute, out } from "../run.ts";
import { readSecret } from "../stdin.ts";

export default defineCommand({
  meta: {
    name: "install",
    description:
      "Set Konta up on this server: config, state, systemd timer. It writes the config if it is missing (token from stdin, stored encrypted), creates the state directory, installs and enables konta.service and konta.timer. Safe to re-run. With --instance NAME: another repository or branch beside it (/etc/konta/instances/NAME.yaml, /var/lib/konta/NAME, konta@NAME.timer). More: docs/install.md.",
  },
  args: {
    ...globalArgs,
    ...unitArgs,
    print: { type: "boolean", description: "print the systemd units and change nothing" },
    repo: { type: "string", description: "clone URL of the repository: https://... (a token on stdin) or ssh://... / git@host:path (a deploy key)", valueHint: "url" },
    ssh: { type: "boolean", description: "Git over SSH: make a deploy key if there is none, pin the host's key (printed to compare), print the public key" },
    branch: { type: "string", description: "branch or tag to deploy (default main)" },
    path: { type: "string", description: "folder of the repository holding apps/ and hooks/ (default .)" },
    interval: { type: "string", description: "seconds between runs (default 120)", valueHint: "seconds" },
    binary: { type: "string", description: "path of the konta binary systemd runs (default: this one)", valueHint: "file" },
    "webhook-port": { type: "string", description: "also install konta-webhook.socket listening on this port (konta webhook answers it)", valueHint: "port" },
  },
  run: (ctx) =>
    execute(ctx, async () => {
      const a = ctx.args;
      const { ref, family } = resolveInstance({ config: a.config, stateDir: a["state-dir"], instance: a.instance });
      const { config, stateDir } = ref;
      const instance = ref.name ? { name: ref.name, family } : undefined;
      const existing = existsSync(config) ? await loadConfig(config) : undefined;
      const interval = a.interval ? Number(a.interval) : (existing?.repository.interval ?? 120);
      if (!Number.isInteger(interval) || interval < 10) throw new InputError("--interval must be a whole number of seconds, at least 10");
      const webhookPort = a["webhook-port"] ? Number(a["webhook-port"]) : undefined;
      if (webhookPort !== undefined && !(Number.isInteger(webhookPort) && webhookPort > 0 && webhookPort < 65536)) throw new InputError("--webhook-port must be a TCP port (1-65535)");
      const units = { binary: a.binary || defaultBinary(), config, stateDir, interval, hookPaths: [...(existing?.hooks.writable_paths ?? []), ...(existing?.metrics?.textfile_dir ? [existing.metrics.textfile_dir] : [])], webhookPort, instance };
      if (a.print) {
        for (const [name, text] of Object.entries(renderUnits(units))) out(`# ${name}\n${text}`);
        return;
      }
      // a deploy key needs no token: stdin is not read for an SSH repository
      const sshRepo = a.ssh || parseSshUrl(a.repo ?? existing?.repository.url ?? "") !== undefined;
      const token = !process.stdin.isTTY && !existing && !sshRepo ? await readSecret("").catch(() => undefined) : undefined;
      const done = await install({ ...units, repo: a.repo, branch: a.branch, path: a.path, token, ssh: a.ssh, unitDir: a["unit-dir"] || DEFAULT_UNIT_DIR, enable: a.enable });
      out(`${done.join("\n")}`);
    }),
});
