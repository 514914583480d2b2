#!/usr/bin/env bun
// konta: GitOps for Docker Compose on one small server. Each command is a file in cli/commands/,
// a thin layer over lib/.
import "./runtime.ts";
import "./tty.ts";
import { type CommandDef, runCommand } from "citty";
import { ExitCode } from "../lib/base/errors.ts";
import { describeMemory, memoryBreakdown, peakRssBytes } from "../lib/base/host.ts";
import { isVerbose, log } from "../lib/base/log.ts";
import { describeSteps } from "../lib/base/steps.ts";
import { VERSION } from "../lib/base/version.ts";
import { EXIT_CODES, type Lazy, main } from "./main.ts";
import { translateOriginal } from "./original.ts";
import { hoistGlobalFlags } from "./args.ts";
import { out, printError } from "./run.ts";

type Resolvable = CommandDef<any> | Lazy;
const resolve = async (c: Resolvable): Promise<CommandDef<any>> => (typeof c === "function" ? c() : c);

/** The (sub)command named on the command line, and the words that name it ("token set"), for --help. */
async function findCommand(argv: string[]): Promise<[CommandDef<any>, string]> {
  let cmd: CommandDef<any> = main;
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
    path.push(word);
    cmd = sub;
  }
  return [cmd, path.join(" ")];
}

async function run(original: string[]): Promise<number> {
  const translated = translateOriginal(original);
  if (typeof translated === "number") return translated;
  const argv = hoistGlobalFlags(translated);
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    const [cmd, path] = await findCommand(argv);
    // loaded only for --help: a timer run does not carry it
    const { commandHelp, rootHelp } = await import("./help.ts");
    out(cmd === main ? await rootHelp(main, EXIT_CODES) : await commandHelp(cmd, path));
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
/** With --verbose: where the run's time went, and what its memory is made of as it ends, near its peak (a one-shot run frees little). */
function reportRun(): void {
  if (!isVerbose()) return;
  const steps = describeSteps();
  if (steps) log.debug(steps);
  const m = memoryBreakdown();
  if (m) log.debug(describeMemory(m, peakRssBytes()));
}

// no top-level await: the binary is compiled to bytecode, which needs a CommonJS-shaped entry
run(process.argv.slice(2)).then((code) => {
  reportRun();
  process.exit(code);
});
