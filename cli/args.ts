// Flags every command takes, defined once and spread into each command's args.
import type { ArgsDef } from "citty";

export const globalArgs = {
  config: { type: "string", description: "config file (default /etc/konta/config.yaml, or KONTA_CONFIG)", valueHint: "file" },
  "state-dir": { type: "string", description: "state directory (default /var/lib/konta, or KONTA_HOME)", valueHint: "dir" },
  verbose: { type: "boolean", description: "show debug detail" },
  quiet: { type: "boolean", description: "print errors only" },
} as const satisfies ArgsDef;

export const jsonArg = {
  json: { type: "boolean", description: "print one JSON document on stdout" },
} as const satisfies ArgsDef;
