// Secrets and configs from `environment:` and `content:` against Compose v2: one project deployed
// by `docker compose up -d` and by Konta, then what a process in each container finds at each
// target (text, owner, mode). Compose copies the files into the container; Konta mounts a copy it
// writes under its state dir: the container sees the same file. Compose 2.26 predates `content:`
// for secrets (its schema refuses it), so that one is checked against the Compose specification
// ("content: the content is created with the inlined value"), Konta's side only.
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerCompose } from "../support/compose-oracle.ts";
import { execText, IMAGE, inspect } from "../support/docker.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const work = mkdtempSync(join(tmpdir(), "konta-oracle-written-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// `mode: 0400` is octal, as go-yaml (Compose's parser) reads a leading 0
const compose = (inline: boolean) => `services:
  app:
    image: ${IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels: { konta.managed: "true" }
    secrets:
      - source: token
        uid: "1000"
        gid: "1001"
        mode: 0400
      - db_password
      - source: db_password
        target: /etc/app/password
${inline ? "      - inline\n" : ""}    configs:
      - source: app_conf
        target: /etc/app.conf
      - source: motd
        mode: 0440
secrets:
  token:
    environment: TOKEN
  db_password:
    environment: DB_PASSWORD
${inline ? '  inline:\n    content: "s3cr3t-${PORT}"\n' : ""}configs:
  app_conf:
    content: |
      listen=\${PORT}
      name=\${COMPOSE_PROJECT_NAME}
  motd:
    environment: MOTD
`;
const FILES = ["/run/secrets/token", "/run/secrets/db_password", "/etc/app/password", "/etc/app.conf", "/motd"];
const DOTENV = "TOKEN=t0k3n-from-env\nDB_PASSWORD=pw with spaces\nPORT=8080\nMOTD=hello\n";

/** What a process in the container finds at each path: owner, mode, text. */
async function seen(container: string, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) out.push(await execText(container, ["sh", "-c", `stat -c '%u:%g %a' ${p}; cat ${p}`]));
  return out;
}

test("the files at their targets: the same text, owner and mode as Compose gives them", async () => {
  const KONTA = "kt-or-written";
  const COMPOSE = `${KONTA}c`;
  const repo = rig.repo();
  repo.write({ [`apps/${KONTA}/compose.yaml`]: compose(false), [`apps/${KONTA}/.env`]: DOTENV }).commit("written files");
  const env = rig.env(repo);
  const r = await env.run(["sync"]);
  expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });

  const cDir = join(work, COMPOSE);
  cpSync(join(env.state, "current", "apps", KONTA), cDir, { recursive: true });
  try {
    dockerCompose(cDir, COMPOSE, ["up", "-d"]);
    const ours = await seen(`${KONTA}-app-1`, FILES);
    const theirs = (await seen(`${COMPOSE}-app-1`, FILES)).map((t) => t.replaceAll(COMPOSE, KONTA));
    expect(ours).toEqual(theirs);
    expect(ours[0]).toBe("1000:1001 400\nt0k3n-from-env");
    // the text is never in Konta's output, its state or the container's labels
    const c = await inspect(`${KONTA}-app-1`);
    for (const where of [r.all, JSON.stringify(env.readState()), JSON.stringify(c?.Config.Labels)]) {
      expect(where).not.toContain("t0k3n-from-env");
      expect(where).not.toContain("pw with spaces");
    }
    // the copies on the host: root-only folders
    const source = c?.Mounts.find((m) => m.Destination === "/run/secrets/token")?.Source ?? "";
    expect(source.startsWith(join(env.state, "secrets", KONTA))).toBe(true);
    expect(statSync(join(env.state, "secrets", KONTA)).mode & 0o777).toBe(0o700);
  } finally {
    dockerCompose(cDir, COMPOSE, ["down", "-v", "-t", "0"]);
  }
});

test("a secret from content (newer than Compose 2.26): the inlined value, 0444, root's; a change recreates what uses it", async () => {
  const KONTA = "kt-or-inline";
  const repo = rig.repo();
  const doc = compose(true);
  repo.write({ [`apps/${KONTA}/compose.yaml`]: doc, [`apps/${KONTA}/.env`]: DOTENV }).commit("inline secret");
  const env = rig.env(repo);
  await env.ok(["sync"]);
  expect(await seen(`${KONTA}-app-1`, ["/run/secrets/inline", "/run/secrets/token", "/motd"])).toEqual(["0:0 444\ns3cr3t-8080", "1000:1001 400\nt0k3n-from-env", "0:0 440\nhello"]);
  const before = (await inspect(`${KONTA}-app-1`))?.Id;

  repo.write({ [`apps/${KONTA}/.env`]: DOTENV.replace("PORT=8080", "PORT=9090") }).commit("the value changes");
  await env.ok(["sync"]);
  const after = await inspect(`${KONTA}-app-1`);
  expect(after?.Id).not.toBe(before as string);
  expect(await seen(`${KONTA}-app-1`, ["/run/secrets/inline"])).toEqual(["0:0 444\ns3cr3t-9090"]);
  // the copy the old container used is gone with it
  const secrets = join(env.state, "secrets", KONTA);
  const { readdirSync } = await import("node:fs");
  expect(readdirSync(secrets).filter((f) => f.startsWith("secret-inline-"))).toHaveLength(1);
});
