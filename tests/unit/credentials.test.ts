// Registry credentials as the Docker CLI finds them, and the X-Registry-Auth encoding the engine
// accepts (found in the server box: unpadded base64url made Docker 20.10 pull anonymously).
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerConfigFile, encodeRegistryAuth, registryAuth, registryOf } from "../../lib/docker/credentials.ts";

const dirs: string[] = [];
const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dockerConfig(doc: unknown): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "konta-dockercfg-"));
  dirs.push(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(doc));
  return { DOCKER_CONFIG: dir };
}

/** A docker-credential-<name> on PATH that logs its calls and answers `answer` (or fails). */
function helper(name: string, answer: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), "konta-helper-"));
  dirs.push(dir);
  const log = join(dir, "calls");
  const script = join(dir, `docker-credential-${name}`);
  writeFileSync(script, `#!/bin/bash\nread -r server\necho "$1 $server" >> ${log}\n${answer === undefined ? 'echo "credentials not found in native keychain"; exit 1' : `echo '${answer}'`}\n`);
  chmodSync(script, 0o755);
  process.env.PATH = `${dir}:${savedPath}`;
  return log;
}

describe("X-Registry-Auth", () => {
  test("base64url with padding, for every length modulo 3", () => {
    const seen = new Set<number>();
    for (const password of ["pw-a1", "pw-b12", "pw-c123"]) {
      const auth = { username: "alice", password, serveraddress: "localhost:5000" };
      const header = encodeRegistryAuth(auth);
      seen.add(JSON.stringify(auth).length % 3);
      expect(header.length % 4).toBe(0);
      expect(header).not.toMatch(/[+/]/);
      expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual(auth);
    }
    expect(seen.size).toBe(3);
  });
});

describe("where credentials come from", () => {
  test("the config file is found from the password database, not $HOME", () => {
    expect(dockerConfigFile({ HOME: "/nonexistent" })).toBe(dockerConfigFile({}));
    expect(dockerConfigFile({ DOCKER_CONFIG: "/etc/dc" })).toBe("/etc/dc/config.json");
  });

  test("auths entries: auth field, username/password, identity token; Docker Hub aliases", () => {
    const auth = Buffer.from("bob:s3:cret").toString("base64");
    const env = dockerConfig({ auths: { "reg.example.com": { auth }, "https://index.docker.io/v1/": { identitytoken: "idt" } } });
    expect(registryAuth("reg.example.com/team/app:1", env)).toEqual({ username: "bob", password: "s3:cret", serveraddress: "reg.example.com" });
    expect(registryAuth("nginx:1", env)).toEqual({ identitytoken: "idt", serveraddress: "https://index.docker.io/v1/" });
    expect(registryAuth("other.example.com/app", env)).toBeUndefined();
    expect(registryOf("localhost:5000/app")).toBe("localhost:5000");
  });

  test("credHelpers for the registry win over auths, and are called like the Docker CLI calls them", () => {
    const calls = helper("ktest", '{"ServerURL":"localhost:5000","Username":"carol","Secret":"pw"}');
    const env = dockerConfig({ credHelpers: { "localhost:5000": "ktest" }, auths: { "localhost:5000": { auth: Buffer.from("x:y").toString("base64") } } });
    expect(registryAuth("localhost:5000/team/app:t1", env)).toEqual({ username: "carol", password: "pw", serveraddress: "localhost:5000" });
    expect(readFileSync(calls, "utf8")).toBe("get localhost:5000\n");
  });

  test("credsStore serves every registry; <token> means an identity token; not found means anonymous", () => {
    helper("store", '{"ServerURL":"r","Username":"<token>","Secret":"tok"}');
    expect(registryAuth("r.example.com/app", dockerConfig({ credsStore: "store" }))).toEqual({ identitytoken: "tok", serveraddress: "r.example.com" });
    helper("none", undefined);
    expect(registryAuth("r.example.com/app", dockerConfig({ credsStore: "none" }))).toBeUndefined();
    expect(registryAuth("r.example.com/app", dockerConfig({ credsStore: "missing-helper-xyz" }))).toBeUndefined();
  });
});
