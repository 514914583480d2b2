// Logging for humans (colours on a TTY) and for journald (plain `level message` lines otherwise).
// Logs always go to stderr so that `--json` output on stdout stays one clean document.
// Every line passes through redact(): no library can print a token through us.
import { fstatSync } from "node:fs";
import { createConsola, type ConsolaReporter, type LogObject } from "consola/core";
import { redact } from "./redact.ts";

export interface LogOptions {
  verbose?: boolean;
  quiet?: boolean;
  /** show step-by-step progress (`konta sync --now`) */
  progress?: boolean;
  /** force plain lines even on a TTY (tests, --json) */
  plain?: boolean;
}

const LEVEL = { quiet: 1, normal: 3, verbose: 4 } as const;

// consola/core with our own reporter, writing through console.error: the full consola (node:util,
// node:tty) and Node's process.stderr stream each cost a run ~8-12 MB of a timer tick's memory target.
const COLOURS: Record<string, string> = { fatal: "31", error: "31", warn: "33", success: "32", info: "36", debug: "90", trace: "90" };

function line(obj: LogObject, colour: boolean): string {
  const text = obj.args.map((a) => (typeof a === "string" ? a : Bun.inspect(a instanceof Error ? a.message : a, { depth: 4 }))).join(" ");
  const tag = obj.tag ? `[${obj.tag}] ` : "";
  const code = COLOURS[obj.type];
  const level = colour && code ? `\x1b[${code}m${obj.type.padEnd(7)}\x1b[0m` : obj.type.padEnd(7);
  return text
    .split("\n")
    .map((l) => `${level} ${tag}${l}`)
    .join("\n");
}

function reporter(colour: boolean): ConsolaReporter {
  return { log: (obj) => console.error(redact(line(obj, colour))) };
}

export const log = createConsola({ level: LEVEL.normal });
log.setReporters([reporter(false)]);

let showProgress = false;

/** Whether --verbose is on (debug lines are shown). */
export const isVerbose = (): boolean => log.level >= LEVEL.verbose;

/** A step of a deploy: shown with --now or --verbose, otherwise only in debug output. */
export function progress(message: string): void {
  if (showProgress) log.info(message);
  else log.debug(message);
}

export function configureLog(opts: LogOptions): void {
  showProgress = opts.progress === true;
  log.level = opts.quiet ? LEVEL.quiet : opts.verbose ? LEVEL.verbose : LEVEL.normal;
  const colour = !opts.plain && isTerminal(2) && !process.env.NO_COLOR;
  log.setReporters([reporter(colour)]);
}

/** Whether a descriptor is a terminal, without loading node:tty (a character device: /dev/null counts too). */
export function isTerminal(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}
