// What one run knows to open SOPS files: the age identity file, the data keys unlocked so far and
// the secret files decrypted for its containers. Data only, so that an idle tick that builds load
// options does not load the decryption code (decrypt.ts).

export class SopsKeyring {
  /** data keys by the file's MAC (one per version of an encrypted file) */
  readonly keys = new Map<string, Uint8Array>();
  /** decrypted secret files, by the host path they are written to before a container uses them */
  readonly files = new Map<string, string>();

  constructor(
    /** the age identity file (secrets.age_key_file) */
    readonly identityFile: string,
    /** where decrypted secret files live on the host (`<state>/secrets`) */
    readonly filesDir: string,
  ) {}
}
