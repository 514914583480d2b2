#!/usr/bin/env bun
// konta: GitOps for Docker Compose on one small server. Each command is a file in cli/commands/,
// a thin layer over lib/.
import "./tty.ts";
import { type CommandDef, defineCommand, runCommand, showUsage } from "citty";
import { ExitCode } from "../lib/errors.ts";
import { VERSION } from "../lib/version.ts";
import { translateOriginal } from "./original.ts";
import { out, printError } from "./run.ts";

export const EXIT_CODES = `Exit codes: 0 success or up to date, 1 deploy failed (rolled back), 2 bad configuration or input,
3 cannot reach Git or Docker, 4 another run holds the lock, 10 (plan) changes pending.`;

type Lazy = () => Promise<CommandDef<any>>;

// Loaded on demand: a timer run pays only for the command it runs (peak RSS is a target).
export const commands: Record<string, Lazy> = {
  sync: () => import("./commands/sync.ts").then((m) => m.default),
  plan: () => import("./commands/plan.ts").then((m) => m.default),
  rollback: () => import("./commands/rollback.ts").then((m) => m.default),
  resume: () => import("./commands/resume.ts").then((m) => m.default),
  status: () => import("./commands/status.ts").then((m) => m.default),
  releases: () => import("./commands/releases.ts").then((m) => m.default),
  install: () => import("./commands/install.ts").then((m) => m.default),
  uninstall: () => import("./commands/uninstall.ts").then((m) => m.default),
  token: () => import("./commands/token.ts").then((m) => m.default),
  "self-update": () => import("./commands/self-update.ts").then((m) => m.default),
  version: () => import("./commands/version.ts").then((m) => m.default),
  webhook: () => import("./commands/webhook.ts").then((m) => m.default),
  // over the root command defined below: the scripts follow the commands as they are
  completion: () => import("./commands/completion.ts").then((m) => m.completionCommand(() => main)),
};

const main = defineCommand({
  meta: {
    name: "konta",
    version: VERSION,
    description: `GitOps for Docker Compose on a single server: a systemd timer runs \`konta sync\`, which deploys the
Compose projects in apps/<name>/ of a Git branch when it moves, with health gates and automatic rollback.`,
  },
  subCommands: commands,
});

type Resolvable = CommandDef<any> | Lazy;
const resolve = async (c: Resolvable): Promise<CommandDef<any>> => (typeof c === "function" ? c() : c);

/** The (sub)command named on the command line, and its parent, for --help. */
async function findCommand(argv: string[]): Promise<[CommandDef<any>, CommandDef<any> | undefined]> {
  let cmd: CommandDef<any> = main;
  let parent: CommandDef<any> | undefined;
  const path: string[] = [];
  for (const word of argv.filter((a) => !a.startsWith("-"))) {
    const subs = Object.entries((cmd.subCommands ?? {}) as Record<string, Resolvable>);
    let sub: CommandDef<any> | undefined;
    for (const [name, c] of subs) {
      const def = await resolve(c);
      if (name === word || [(def.meta as { alias?: string | string[] })?.alias ?? []].flat().includes(word)) {
        sub = def;
        break;
      }
    }
    if (!sub) break;
    path.push(((cmd.meta as { name?: string })?.name ?? "") || "konta");
    parent = cmd;
    cmd = sub;
  }
  // citty names only the direct parent in USAGE: give it the whole path ("konta token set")
  return [cmd, parent && { ...parent, meta: { ...(parent.meta as object), name: path.join(" ") } }];
}

async function run(original: string[]): Promise<number> {
  const argv = translateOriginal(original);
  if (typeof argv === "number") return argv;
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    const [cmd, parent] = await findCommand(argv);
    await showUsage(cmd, parent);
    if (cmd === main) out(`\n${EXIT_CODES}`);
    return argv.length === 0 ? ExitCode.badInput : ExitCode.ok;
  }
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    out(`${VERSION}`);
    return ExitCode.ok;
  }
  try {
    await runCommand(main, { rawArgs: argv });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code === "E_UNKNOWN_COMMAND" || e?.code === "EARG" || e?.code === "E_NO_COMMAND") {
      console.error(`${e.message}\nRun \`konta --help\` for the commands.`);
      return ExitCode.badInput;
    }
    return printError(err, false);
  }
}
// no top-level await: the binary is compiled to bytecode, which needs a CommonJS-shaped entry
run(process.argv.slice(2)).then((code) => process.exit(code));
