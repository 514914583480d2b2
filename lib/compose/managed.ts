// What one run knows of the secret managers' values (x-konta.secrets): the values fetched so far
// by reference, the providers the server has, and how to fetch more. Data only, so that building
// load options loads no provider code (lib/secrets does the fetching, for the runtime).
export class ManagedSecrets {
  /** reference -> value, fetched once per run */
  readonly values = new Map<string, string>();

  constructor(
    /** the providers of secrets.providers; undefined: not known here (`konta check` without a config) */
    readonly providers: string[] | undefined,
    /** fetches references into `values` (each registered for redaction); unset: values are stood in for (`konta check`) */
    readonly fetch?: (refs: string[]) => Promise<void>,
    /** keys the digest of a project's values (state.json keeps the digest, never a value) */
    private readonly digestKey: () => string | Buffer = () => "",
  ) {}

  /** A digest of `vars` (name -> value) that says whether they changed without saying what they are. */
  digest(vars: Record<string, string>): string {
    const key = this.digestKey();
    const h = new Bun.CryptoHasher("sha256", typeof key === "string" ? key : new Uint8Array(key));
    for (const name of Object.keys(vars).sort()) h.update(`${name}\0${vars[name]}\0`);
    return h.digest("hex");
  }
}
