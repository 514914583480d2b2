// Errors inside the loader carry the key path they are about; the loader turns them into an
// InputError naming the file, the key and (when the parser knows it) the line.
import type { SopsDocument } from "../sops/index.ts";

export type KeyPath = (string | number)[];

export class ComposeKeyError extends Error {
  constructor(
    message: string,
    readonly path: KeyPath,
    /** the file the key is in, when it is not the project's main file */
    readonly file?: string,
    /** what only the server has that the refusal comes from (see ErrorDetails.unknown) */
    readonly unknown?: string,
  ) {
    super(message);
  }
}

/** Run `fn`; rethrow a plain Error from a parser helper as a ComposeKeyError at `path`. */
export function at<T>(path: KeyPath, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ComposeKeyError || err instanceof LockedSopsFile) throw err;
    throw new ComposeKeyError((err as Error).message, path, undefined, (err as { unknown?: string }).unknown);
  }
}

/** A load met references to a secret manager not fetched yet: not an error, a request (loadReleaseUnlocking fetches them all). */
export class UnfetchedSecrets extends Error {
  constructor(readonly refs: string[]) {
    super(`secrets not fetched yet: ${refs.join(", ")}`);
  }
}

/** A load met a SOPS file whose data key is not unlocked yet: not an error, a request (decrypt.ts). */
export class LockedSopsFile extends Error {
  constructor(
    readonly doc: SopsDocument,
    readonly identities: string[],
    readonly label: string,
  ) {
    super(`${label}: its SOPS data key is not unlocked yet`);
  }
}
