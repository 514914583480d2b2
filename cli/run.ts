// The glue every command shares: logging set up from the flags, unknown flags refused, the
// runtime loaded, errors printed as "what failed / what to do" with the exit code of DESIGN §6.
import type { ArgsDef } from "citty";
import { ExitCode, KontaError, InputError } from "../lib/base/errors.ts";
import { configureLog, log } from "../lib/base/log.ts";
import { redact } from "../lib/base/redact.ts";
import { recordSteps } from "../lib/base/steps.ts";
import { Runtime } from "../lib/flows/runtime.ts";

export interface CommonArgs {
  config?: string;
  "state-dir"?: string;
  instance?: string;
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** citty ignores flags it does not know; a typo like `--dryrun` must not run a real deploy. */
export function checkUnknownFlags(rawArgs: string[], def: ArgsDef): void {
  const known = new Set<string>();
  for (const [name, arg] of Object.entries(def)) {
    known.add(name);
    if (arg.type === "boolean") known.add(`no-${name}`);
    for (const alias of ["alias" in arg ? (arg.alias ?? []) : []].flat()) known.add(alias);
  }
  for (const raw of rawArgs) {
    if (raw === "--") break;
    if (!raw.startsWith("-") || raw === "-") continue;
    const name = raw.replace(/^--?/, "").split("=")[0] as string;
    if (!known.has(name)) throw new InputError(`unknown option ${raw.split("=")[0]}`, { hint: "see --help for the options of this command" });
  }
}

/** One line (or block) on stdout; console.log is native, Node's process.stdout stream costs ~8 MB. */
export function out(text: string): void {
  console.log(text);
}

export function printJson(value: unknown): void {
  out(`${redact(JSON.stringify(value, null, 2))}`);
}

export function printError(err: unknown, json: boolean | undefined): ExitCode {
  const e = err instanceof KontaError ? err : undefined;
  const code = e?.exitCode ?? ExitCode.deployFailed;
  const message = redact(err instanceof Error ? err.message : String(err));
  if (json) printJson({ ok: false, exitCode: code, error: message, ...(e?.hint ? { hint: redact(e.hint) } : {}) });
  log.error(message);
  if (e?.hint) log.info(`hint: ${redact(e.hint)}`);
  if (!e) log.debug(err instanceof Error ? (err.stack ?? "") : "");
  return code;
}

/** The part of citty's context these helpers use (any command's args include the global ones). */
interface Ctx {
  args: CommonArgs;
  rawArgs: string[];
  cmd: { args?: unknown };
}

/** Run a command body with logging configured; its return value is the exit code. */
export async function execute(ctx: Ctx, body: () => Promise<number | void>, opts: { progress?: boolean } = {}): Promise<void> {
  const a = ctx.args;
  configureLog({ verbose: a.verbose, quiet: a.quiet, plain: a.json, progress: opts.progress || a.verbose });
  if (a.verbose) recordSteps();
  try {
    checkUnknownFlags(ctx.rawArgs, (ctx.cmd.args ?? {}) as ArgsDef);
    process.exitCode = (await body()) ?? 0;
  } catch (err) {
    process.exitCode = printError(err, a.json);
  }
}

/** Like execute, with the config and state dir loaded. */
export function withRuntime(ctx: Ctx, body: (rt: Runtime) => Promise<number | void>, opts: { progress?: boolean } = {}): Promise<void> {
  return execute(ctx, async () => body(await Runtime.load({ config: ctx.args.config, stateDir: ctx.args["state-dir"], instance: ctx.args.instance })), opts);
}
