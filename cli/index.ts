#!/usr/bin/env bun
// konta: GitOps for Docker Compose on one small server. Each command is a file in cli/commands/,
// a thin layer over lib/.
import "./tty.ts";
import { type CommandDef, defineCommand, runCommand, showUsage } from "citty";
import { ExitCode } from "../lib/errors.ts";
import { VERSION } from "../lib/version.ts";
import { printError } from "./run.ts";
import install from "./commands/install.ts";
import plan from "./commands/plan.ts";
import releases from "./commands/releases.ts";
import resume from "./commands/resume.ts";
import rollback from "./commands/rollback.ts";
import selfUpdate from "./commands/self-update.ts";
import status from "./commands/status.ts";
import sync from "./commands/sync.ts";
import token from "./commands/token.ts";
import uninstall from "./commands/uninstall.ts";
import version from "./commands/version.ts";

export const EXIT_CODES = `Exit codes: 0 success or up to date, 1 deploy failed (rolled back), 2 bad configuration or input,
3 cannot reach Git or Docker, 4 another run holds the lock, 10 (plan) changes pending.`;

export const commands: Record<string, CommandDef<any>> = {
  sync,
  plan,
  rollback,
  resume,
  status,
  releases,
  install,
  uninstall,
  token,
  "self-update": selfUpdate,
  version,
};

const main = defineCommand({
  meta: {
    name: "konta",
    version: VERSION,
    description: `GitOps for Docker Compose on a single server: a systemd timer runs \`konta sync\`, which deploys the
Compose projects in apps/<name>/ of a Git branch when it moves, with health gates and automatic rollback.

${EXIT_CODES}`,
  },
  subCommands: commands,
});

/** The (sub)command named on the command line, and its parent, for --help. */
function findCommand(argv: string[]): [CommandDef<any>, CommandDef<any> | undefined] {
  let cmd: CommandDef<any> = main;
  let parent: CommandDef<any> | undefined;
  for (const word of argv.filter((a) => !a.startsWith("-"))) {
    const subs = (cmd.subCommands ?? {}) as Record<string, CommandDef<any>>;
    const sub = Object.entries(subs).find(([name, c]) => name === word || [(c.meta as { alias?: string | string[] })?.alias ?? []].flat().includes(word))?.[1];
    if (!sub) break;
    parent = cmd;
    cmd = sub;
  }
  return [cmd, parent];
}

async function run(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    const [cmd, parent] = findCommand(argv);
    await showUsage(cmd, parent);
    if (cmd === main) process.stdout.write(`\n${EXIT_CODES}\n`);
    return argv.length === 0 ? ExitCode.badInput : ExitCode.ok;
  }
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.ok;
  }
  try {
    await runCommand(main, { rawArgs: argv });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code === "E_UNKNOWN_COMMAND" || e?.code === "EARG" || e?.code === "E_NO_COMMAND") {
      process.stderr.write(`${e.message}\nRun \`konta --help\` for the commands.\n`);
      return ExitCode.badInput;
    }
    return printError(err, false);
  }
}

process.exit(await run(process.argv.slice(2)));
