// lib/sops/index.ts against files the real `sops` wrote (tests/fixtures/sops/README.md): each decrypts to
// its known plaintext with its MAC checked; an edit made without the key, a value moved to another
// key, the wrong identity and a file without age recipients are refused.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decryptDocument, parseIdentities, parseSops, plaintextOf, type SopsDocument, SopsError, unlockDataKey } from "../../lib/sops/index.ts";

const DIR = join(import.meta.dir, "../fixtures/sops");
const read = (f: string) => readFileSync(join(DIR, f), "utf8");
const HUMPHD = parseIdentities(read("key.txt"));
const FLUX = parseIdentities(read("flux/keys-age.txt"));
const FLUX_PQ = parseIdentities(read("flux/keys-age-pq.txt"));

async function decrypt(text: string, name: string, ids: string[]): Promise<{ doc: SopsDocument; plain: string; tree: Map<string, unknown> }> {
  const doc = parseSops(text, name);
  if (!doc) throw new Error(`${name} is not recognised as SOPS`);
  const { tree } = decryptDocument(doc, await unlockDataKey(doc, ids));
  return { doc, plain: plaintextOf(doc, tree), tree };
}

/** Plain JS value of a decrypted tree, for comparing with the fixture's plaintext JSON. */
const plain = (v: unknown): unknown => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)])) : Array.isArray(v) ? v.map(plain) : v);

describe("files written by sops decrypt, MAC checked", () => {
  const expected = JSON.parse(read("secret.json"));

  test("JSON (sops 3.8.1, three age recipients)", async () => {
    const { doc, tree } = await decrypt(read("secret.enc.json"), "secret.enc.json", HUMPHD);
    expect(doc.format).toBe("json");
    expect(plain(tree)).toEqual(expected);
  });

  test("YAML (sops 3.8.1): ints, floats, booleans, nested lists", async () => {
    const { doc, tree } = await decrypt(read("secret.enc.yaml"), "secret.enc.yaml", HUMPHD);
    expect(doc.format).toBe("yaml");
    const { "0word": _omitted, ...rest } = expected;
    expect(plain(tree)).toEqual(rest);
  });

  test("dotenv (sops 3.8.1 and 3.9.0)", async () => {
    expect((await decrypt(read("secret.enc.env"), "secret.enc.env", HUMPHD)).plain).toBe("secret=this is a secret\nanother_secret=7\n");
    expect((await decrypt(read("flux/envs-env.env"), "env.env", FLUX)).plain).toBe("key=value\n");
  });

  test("a dotenv SOPS file is recognised by its content under any name (.env, app.secrets)", async () => {
    expect((await decrypt(read("flux/envs-env.env"), ".env", FLUX)).doc.format).toBe("dotenv");
    expect((await decrypt(read("flux/envs-env.env"), "app.secrets", FLUX)).doc.format).toBe("dotenv");
  });

  test("binary format (any other extension): the file's content is the data value", async () => {
    const { doc, plain: text } = await decrypt(read("flux/files-file.txt"), "db_password.txt", FLUX);
    expect(doc.format).toBe("binary");
    expect(text).toBe("value");
  });

  test("encrypted_regex: values left in clear are part of the MAC too", async () => {
    const { tree } = await decrypt(read("flux/algorithms-age.yaml"), "secret.yaml", FLUX);
    expect(plain(tree)).toEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "age" }, stringData: { key: "value" } });
  });

  test("a post-quantum hybrid age identity (sops 3.12.1)", async () => {
    const { tree } = await decrypt(read("flux/algorithms-age-pq.yaml"), "secret.yaml", FLUX_PQ);
    expect(plain(tree)).toMatchObject({ stringData: { key: "value" } });
  });
});

describe("refused", () => {
  const fails = async (text: string, name: string, ids: string[], message: RegExp) => {
    const err = await decrypt(text, name, ids).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SopsError);
    expect((err as Error).message).toMatch(message);
  };

  test("a value in clear changed by hand: MAC mismatch", async () => {
    await fails(read("flux/algorithms-age.yaml").replace("name: age", "name: evil"), "secret.yaml", FLUX, /MAC mismatch/);
  });

  test("a key removed: MAC mismatch", async () => {
    const text = read("secret.enc.env").split("\n").filter((l) => !l.startsWith("another_secret=")).join("\n");
    await fails(text, "secret.enc.env", HUMPHD, /MAC mismatch/);
  });

  test("two encrypted values swapped between keys: authentication fails", async () => {
    const lines = read("secret.enc.yaml").split("\n");
    const a = lines.findIndex((l) => l.startsWith("secret:"));
    const b = lines.findIndex((l) => l.startsWith("string:"));
    const [va, vb] = [lines[a]!.slice(8), lines[b]!.slice(8)];
    lines[a] = `secret: ${vb}`;
    lines[b] = `string: ${va}`;
    await fails(lines.join("\n"), "secret.enc.yaml", HUMPHD, /fails authentication/);
  });

  test("a ciphertext altered: authentication fails", async () => {
    const text = read("flux/envs-env.env").replace("data:3PTvx6o=", "data:4PTvx6o=");
    await fails(text, "env.env", FLUX, /fails authentication/);
  });

  test("the wrong identity names the file's recipients", async () => {
    await fails(read("secret.enc.yaml"), "secret.enc.yaml", FLUX, /none of the age identities can open it \(it is encrypted for age1je6kjhzuhdjy/);
  });

  test("a file encrypted only for PGP", async () => {
    await fails(read("flux/algorithms-pgp.yaml"), "secret.yaml", FLUX, /not encrypted for any age recipient/);
  });

  test("an identity file that is not one", () => {
    expect(() => parseIdentities("# nothing here\n")).toThrow(SopsError);
    expect(() => parseIdentities("ssh-ed25519 AAAA...\n")).toThrow(/not an age identity file/);
  });
});

describe("plain files are left alone", () => {
  test.each([
    [".env", "A=1\nB=two\n"],
    ["secret.yaml", "a: 1\nsops: no\n"],
    ["config.json", '{"mac": "x"}'],
    ["password.txt", "hunter2\n"],
  ])("%s", (name, text) => {
    expect(parseSops(text, name)).toBeUndefined();
  });
});
