// SOPS files in a project, as the loader meets them: the project's .env, an env_file and file-based
// secrets written by the real `sops` (tests/fixtures/sops) are decrypted with the host's age
// identity; secrets are mounted from a copy outside the release; a project that used one is never
// kept by the load cache; every failure is exit 2 naming the file.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRelease, loadReleaseUnlocking, SopsKeyring } from "../../lib/compose/index.ts";
import { serviceDiff } from "../../lib/compose/diff.ts";
import { ExitCode, InputError } from "../../lib/base/errors.ts";
import { clearSecrets } from "../../lib/base/redact.ts";

const FIX = join(import.meta.dir, "../fixtures/sops");
const work = mkdtempSync(join(tmpdir(), "konta-sops-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A release with apps/kt-s: .env (sops 3.8.1 dotenv), env_file app.env and secret db_password.txt (sops 3.9.0). */
function release(files: Record<string, string> = {}): string {
  const root = join(work, `release${++n}`);
  const app = join(root, "apps/kt-s");
  mkdirSync(app, { recursive: true });
  copyFileSync(join(FIX, "secret.enc.env"), join(app, ".env"));
  copyFileSync(join(FIX, "flux/envs-env.env"), join(app, "app.env"));
  copyFileSync(join(FIX, "flux/files-file.txt"), join(app, "db_password.txt"));
  copyFileSync(join(FIX, "flux/algorithms-age.yaml"), join(app, "k8s.yaml"));
  writeFileSync(
    join(app, "compose.yaml"),
    `services:
  web:
    image: busybox
    env_file: app.env
    environment:
      FROM_DOTENV: \${secret}
    secrets: [db_password, k8s]
secrets:
  db_password:
    file: ./db_password.txt
  k8s:
    file: ./k8s.yaml
`,
  );
  for (const [f, text] of Object.entries(files)) writeFileSync(join(app, f), text);
  return root;
}

function identityFile(keys: string[] = ["key.txt", "flux/keys-age.txt"], mode = 0o600): string {
  const f = join(work, `age${++n}.key`);
  writeFileSync(f, keys.map((k) => readFileSync(join(FIX, k), "utf8")).join("\n"));
  chmodSync(f, mode);
  return f;
}

const options = (root: string, keyring?: SopsKeyring, cacheFile?: string) => ({
  repoRoot: root,
  processEnv: {},
  ...(keyring ? { sops: keyring } : {}),
  ...(cacheFile ? { cache: { file: cacheFile, build: "test" } } : {}),
});

async function loadError(root: string, keyring: SopsKeyring): Promise<InputError> {
  const err = await loadReleaseUnlocking(root, options(root, keyring)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).exitCode).toBe(ExitCode.badInput);
  return err as InputError;
}

describe("a project's SOPS files are decrypted at load", () => {
  test(".env (interpolation), env_file (environment) and secrets (mounted from <state>/secrets)", async () => {
    const root = release();
    const keyring = new SopsKeyring(identityFile(), join(work, "state/secrets"));
    const [p] = await loadReleaseUnlocking(root, options(root, keyring));
    const web = p!.services.web!;
    expect(web.environment).toEqual({ FROM_DOTENV: "this is a secret", key: "value" });
    const [db, k8s] = web.secrets!;
    expect(db!.target).toBe("/run/secrets/db_password");
    expect(db!.source.startsWith(join(work, "state/secrets/kt-s/db_password-"))).toBe(true);
    expect(db!.decrypted_from).toBe("./db_password.txt");
    expect(keyring.files.get(db!.source)).toBe("value");
    expect(keyring.files.get(k8s!.source)).toContain("stringData:\n  key: value\n");
    // the loader only reads: nothing decrypted is written anywhere yet
    expect(existsSync(join(work, "state"))).toBe(false);
  });

  test("the plan masks decrypted values, whatever their key is called", async () => {
    const root = release();
    const keyring = new SopsKeyring(identityFile(), join(work, "state/secrets"));
    const [p] = await loadReleaseUnlocking(root, options(root, keyring));
    const before = { ...p!.services.web!, environment: { FROM_DOTENV: "old text", key: "old" } };
    const lines = serviceDiff(before, p!.services.web!);
    expect(lines.join("\n")).toContain('environment.FROM_DOTENV: "old text" -> "***"');
    expect(lines.join("\n")).not.toContain("this is a secret");
    clearSecrets();
  });

  test("a project that used a secret is never kept by the load cache", async () => {
    const root = release();
    const cache = join(work, `cache${++n}.json`);
    mkdirSync(join(root, "apps/kt-plain"));
    writeFileSync(join(root, "apps/kt-plain/compose.yaml"), "services:\n  web:\n    image: busybox\n");
    const keyring = new SopsKeyring(identityFile(), join(work, "state/secrets"));
    await loadReleaseUnlocking(root, options(root, keyring, cache));
    expect(Object.keys(JSON.parse(readFileSync(cache, "utf8")).entries)).toEqual(["kt-plain"]);
    expect(readFileSync(cache, "utf8")).not.toContain("this is a secret");
  });

  test("a YAML SOPS file as env_file gives its top-level values exactly", async () => {
    const root = release({ "compose.yaml": "services:\n  web:\n    image: busybox\n    env_file: vars.yaml\n" });
    copyFileSync(join(FIX, "secret.enc.yaml"), join(root, "apps/kt-s/vars.yaml"));
    const keyring = new SopsKeyring(identityFile(), join(work, "s"));
    const err = await loadError(root, keyring);
    // secret.enc.yaml has nested values: not an env file
    expect(err.message).toContain('"complex" is not a plain value');
  });
});

describe("failures are exit 2 naming the file; nothing is loaded", () => {
  test("no identity file", async () => {
    const root = release();
    const err = await loadError(root, new SopsKeyring(join(work, "absent.key"), join(work, "s")));
    expect(err.message).toContain("apps/kt-s/.env is SOPS-encrypted: the age identity file");
    expect(err.message).toContain("absent.key does not exist");
  });

  test("an identity file others can read", async () => {
    const err = await loadError(release(), new SopsKeyring(identityFile(undefined, 0o644), join(work, "s")));
    expect(err.message).toContain("readable by group or others (mode 644)");
    expect(err.hint ?? err.message).toContain("chmod 600");
  });

  test("the wrong key", async () => {
    const err = await loadError(release(), new SopsKeyring(identityFile(["flux/keys-age-pq.txt"]), join(work, "s")));
    expect(err.message).toContain("apps/kt-s/.env is SOPS-encrypted: none of the age identities can open it");
  });

  test("a tampered env_file (edited without sops)", async () => {
    const root = release();
    const f = join(root, "apps/kt-s/app.env");
    writeFileSync(f, readFileSync(f, "utf8").replace("sops_unencrypted_suffix=_unencrypted", "sops_unencrypted_suffix=_unencrypted\nEXTRA_unencrypted=1"));
    const err = await loadError(root, new SopsKeyring(identityFile(), join(work, "s")));
    expect(err.message).toContain("env file ./app.env is SOPS-encrypted: MAC mismatch");
  });

  test("a tampered secret file", async () => {
    const root = release();
    const f = join(root, "apps/kt-s/k8s.yaml");
    writeFileSync(f, readFileSync(f, "utf8").replace("name: age", "name: evil"));
    const err = await loadError(root, new SopsKeyring(identityFile(), join(work, "s")));
    expect(err.message).toContain("secret file ./k8s.yaml is SOPS-encrypted: MAC mismatch");
  });

  test("without a keyring a SOPS file is refused, never used as ciphertext", () => {
    const root = release();
    expect(() => loadRelease(root, options(root))).toThrow("apps/kt-s/.env is SOPS-encrypted, but no age identity is configured");
  });
});
