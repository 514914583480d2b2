// The command tree of `konta`, without running anything: cli/index.ts runs it, and the completion
// scripts and man pages (packaging/man.ts) are generated from it, so none of them can drift.
import { type CommandDef, defineCommand } from "citty";
import { VERSION } from "../lib/base/version.ts";

export const EXIT_CODES = `Exit codes: 0 success or up to date, 1 deploy failed (rolled back), 2 bad configuration or input,
3 cannot reach Git or Docker, 4 another run holds the lock, 10 (plan) changes pending.`;

export type Lazy = () => Promise<CommandDef<any>>;

// Loaded on demand: a timer run pays only for the command it runs (peak RSS is a target).
export const commands: Record<string, Lazy> = {
  sync: () => import("./commands/sync.ts").then((m) => m.default),
  plan: () => import("./commands/plan.ts").then((m) => m.default),
  check: () => import("./commands/check.ts").then((m) => m.default),
  rollback: () => import("./commands/rollback.ts").then((m) => m.default),
  resume: () => import("./commands/resume.ts").then((m) => m.default),
  status: () => import("./commands/status.ts").then((m) => m.default),
  releases: () => import("./commands/releases.ts").then((m) => m.default),
  history: () => import("./commands/history.ts").then((m) => m.default),
  install: () => import("./commands/install.ts").then((m) => m.default),
  uninstall: () => import("./commands/uninstall.ts").then((m) => m.default),
  token: () => import("./commands/token.ts").then((m) => m.default),
  "self-update": () => import("./commands/self-update.ts").then((m) => m.default),
  version: () => import("./commands/version.ts").then((m) => m.default),
  webhook: () => import("./commands/webhook.ts").then((m) => m.default),
  // over the root command defined below: the scripts follow the commands as they are
  completion: () => import("./commands/completion.ts").then((m) => m.completionCommand(() => main)),
};

export const main = defineCommand({
  meta: {
    name: "konta",
    version: VERSION,
    description: `GitOps for Docker Compose on a single server: a systemd timer runs \`konta sync\`, which deploys the
Compose projects in apps/<name>/ of a Git branch when it moves, with health gates and automatic rollback.`,
  },
  subCommands: commands,
});

