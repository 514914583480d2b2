// Logging for humans (colours on a TTY) and for journald (plain `level message` lines otherwise).
// Logs always go to stderr so that `--json` output on stdout stays one clean document.
// Every line passes through redact(): no library can print a token through us.
import { createConsola, type ConsolaReporter, type LogObject } from "consola";
import { formatWithOptions } from "node:util";
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

function plainLine(obj: LogObject): string {
  const text = formatWithOptions({ colors: false, depth: 4 }, ...obj.args.map(stringifyArg));
  const tag = obj.tag ? `[${obj.tag}] ` : "";
  return text
    .split("\n")
    .map((line) => `${obj.type.padEnd(7)} ${tag}${line}`)
    .join("\n");
}

function stringifyArg(arg: unknown): unknown {
  return arg instanceof Error ? arg.message : arg;
}

const plainReporter: ConsolaReporter = {
  log(obj) {
    process.stderr.write(`${redact(plainLine(obj))}\n`);
  },
};

function redacting(reporter: ConsolaReporter): ConsolaReporter {
  return {
    log(obj, ctx) {
      const args = obj.args.map((a) => (typeof a === "string" ? redact(a) : a instanceof Error ? redact(a.message) : a));
      reporter.log({ ...obj, args }, ctx);
    },
  };
}

export const log = createConsola({ level: LEVEL.normal, fancy: false, stdout: process.stderr, stderr: process.stderr });
log.setReporters([plainReporter]);

let showProgress = false;

/** A step of a deploy: shown with --now or --verbose, otherwise only in debug output. */
export function progress(message: string): void {
  if (showProgress) log.info(message);
  else log.debug(message);
}

export function configureLog(opts: LogOptions): void {
  showProgress = opts.progress === true;
  log.level = opts.quiet ? LEVEL.quiet : opts.verbose ? LEVEL.verbose : LEVEL.normal;
  const fancy = !opts.plain && process.stderr.isTTY === true;
  const reporters = fancy ? createConsola({ fancy: true }).options.reporters.map(redacting) : [plainReporter];
  log.setReporters(reporters);
}
