// Errors inside the loader carry the key path they are about; the loader turns them into an
// InputError naming the file, the key and (when the parser knows it) the line.

export type KeyPath = (string | number)[];

export class ComposeKeyError extends Error {
  constructor(
    message: string,
    readonly path: KeyPath,
    /** the file the key is in, when it is not the project's main file */
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Run `fn`; rethrow a plain Error from a parser helper as a ComposeKeyError at `path`. */
export function at<T>(path: KeyPath, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ComposeKeyError) throw err;
    throw new ComposeKeyError((err as Error).message, path);
  }
}
