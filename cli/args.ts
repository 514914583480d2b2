// Flags every command takes, defined once and spread into each command's args.
import type { ArgsDef } from "citty";
import { DEFAULT_UNIT_DIR } from "../lib/base/paths.ts";

export const globalArgs = {
  config: { type: "string", description: "config file (default /etc/konta/config.yaml, or KONTA_CONFIG)", valueHint: "file" },
  "state-dir": { type: "string", description: "state directory (default /var/lib/konta, or KONTA_HOME)", valueHint: "dir" },
  instance: { type: "string", description: "a named instance (or KONTA_INSTANCE): /etc/konta/instances/NAME.yaml, /var/lib/konta/NAME, konta@NAME.timer", valueHint: "name" },
  verbose: { type: "boolean", description: "show debug detail" },
  quiet: { type: "boolean", description: "print errors only" },
} as const satisfies ArgsDef;

export const jsonArg = {
  json: { type: "boolean", description: "print one JSON document on stdout" },
} as const satisfies ArgsDef;

export const waitArg = {
  wait: { type: "string", description: "wait up to this many seconds for another run's lock instead of exiting 4", valueHint: "seconds" },
} as const satisfies ArgsDef;

/** `--wait` as seconds (0: do not wait). */
export const waitSeconds = (args: { wait?: string }): number => Number(args.wait ?? 0);

/** Where `konta install` / `uninstall` put the systemd units. */
export const unitArgs = {
  "unit-dir": { type: "string", description: `where the systemd units go (default ${DEFAULT_UNIT_DIR})`, valueHint: "dir" },
  enable: { type: "boolean", default: true, description: "run systemctl daemon-reload / enable --now (--no-enable to skip)" },
} as const satisfies ArgsDef;

/**
 * The options every command takes may come before the command, as people type them (`docker
 * --host … ps`, `git -C … status`): they move behind it, where the command's own parser reads them.
 */
export function hoistGlobalFlags(argv: string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const [name, inline] = (argv[i] as string).split(/=(.*)/s) as [string, string | undefined];
    const def = name.startsWith("--") ? (globalArgs as Record<string, { type: string }>)[name.slice(2)] : undefined;
    if (!def) break;
    const takesValue = def.type !== "boolean" && inline === undefined;
    lead.push(...argv.slice(i, i + (takesValue ? 2 : 1)));
    i += takesValue ? 2 : 1;
  }
  return lead.length && i < argv.length ? [...argv.slice(i), ...lead] : argv;
}
