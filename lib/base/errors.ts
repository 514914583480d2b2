// Every failure Konta reports is a KontaError: a message a person can act on and the exit code
// the design promises (DESIGN section 6). Anything else escaping is a bug and exits 1.

export const ExitCode = {
  ok: 0,
  deployFailed: 1,
  badInput: 2,
  unreachable: 3,
  locked: 4,
  planHasChanges: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** what to do about it, printed after the message */
  hint?: string;
  /** file, URL or object the error is about */
  where?: string;
  /**
   * what only the server has that this refusal comes from (a variable it sets, the key of a SOPS
   * file): `konta check` in CI reports such a refusal as a note, since the server may well have it
   */
  unknown?: string;
  cause?: unknown;
}

export class KontaError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly where?: string;
  readonly unknown?: string;

  constructor(message: string, exitCode: ExitCode, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = details.hint;
    this.where = details.where;
    this.unknown = details.unknown;
  }
}

/** Bad config file, bad flag, bad Compose file, bad repository content: exit 2. */
export class InputError extends KontaError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ExitCode.badInput, details);
  }
}

/** Git remote or Docker engine cannot be reached or refuses us: exit 3. */
export class UnreachableError extends KontaError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ExitCode.unreachable, details);
  }
}

/** Another run holds the lock: exit 4. */
export class LockedError extends KontaError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ExitCode.locked, details);
  }
}

/** A deploy step failed (and was rolled back where anything had changed): exit 1. */
export class DeployError extends KontaError {
  constructor(message: string, details?: ErrorDetails) {
    super(message, ExitCode.deployFailed, details);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A full disk (or quota) under `dir`, however deep the library that hit it wrapped the error. */
export function diskFullError(err: unknown, dir: string): DeployError | undefined {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code !== "ENOSPC" && e?.code !== "EDQUOT" && !/ENOSPC|EDQUOT|no space left on device/i.test(e?.message ?? "")) return undefined;
  return new DeployError(`no space left on device under ${dir} (${e?.message ?? e?.code})`, {
    hint: `free space on the disk holding ${dir} (df -h ${dir}); nothing was changed, the next run tries again`,
  });
}
