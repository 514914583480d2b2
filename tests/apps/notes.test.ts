// The second real stack (issue 34): examples/notes, nginx in front of a Python app built on the
// server from the repository, PostgreSQL and Redis, all from Debian's packages
// (tests/apps/images.sh), on a server in a box driven by konta.timer. The scenarios run in order, as
// one application's life: the note stored first must survive every one of them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FileSpec, TestRepo } from "../support/repo.ts";
import type { Box } from "../server/box.ts";
import { exampleFiles, exampleServer, installKonta, password, removeExampleServer, startBox } from "./examples.ts";

const TOKEN = "notes-box-token-2d81c9";
const PORT = 18091;
const NOTE = "Konta keeps this note";

let box: Box;
let repo: TestRepo;
let tmp: string;
const shas: Record<string, string> = {};

interface Change {
  /** the app's version string (app.py) */
  version?: string;
  /** the header nginx adds (nginx/default.conf) */
  servedBy?: string;
  /** app.py exits at start, as a misconfigured release would */
  broken?: boolean;
}

/** examples/notes as a person copies it, with the images this machine has. */
function example(c: Change = {}): Record<string, FileSpec> {
  const files = exampleFiles("notes");
  const app = files["apps/notes/app/app.py"] as { content: string };
  if (c.version) app.content = app.content.replace('VERSION = "1"', `VERSION = "${c.version}"`);
  if (c.broken) app.content = app.content.replace("    migrate()\n", '    raise SystemExit("NOTES_SECRET is not set")\n');
  const conf = files["apps/notes/nginx/default.conf"] as { content: string };
  if (c.servedBy) conf.content = conf.content.replace('"konta-notes"', `"${c.servedBy}"`);
  files["apps/notes/.env"] = [
    "POSTGRES_IMAGE=konta-apps/postgres:15",
    "REDIS_IMAGE=konta-apps/redis:7",
    "NGINX_IMAGE=konta-apps/nginx:1.22",
    "PYTHON_IMAGE=konta-apps/python:3.11",
    `HTTP_PORT=127.0.0.1:${PORT}`,
    "",
  ].join("\n");
  return files;
}

interface Status {
  live?: { sha: string };
  failed?: { sha: string };
}
const status = async () => JSON.parse(await box.sh("konta status --json")) as Status;
const liveAt = (sha: string, timeoutMs = 300_000) => box.poll(`live release ${sha.slice(0, 12)}`, async () => (await status()).live?.sha === sha || undefined, timeoutMs);
/** each service's container ID */
const ids = async () => Object.fromEntries(await Promise.all(["db", "cache", "app", "web"].map(async (s) => [s, (await box.sh(`docker inspect -f '{{.Id}}' notes-${s}-1`)).trim()]))) as Record<string, string>;
/** GET / through nginx: the notes, the app's version, the view count, and nginx's header */
async function page(server = box): Promise<{ version: string; notes: string[]; views: number; servedBy: string }> {
  const r = await server.sh(`curl -sS -i --max-time 10 http://127.0.0.1:${PORT}/`);
  const [head, body] = r.split("\r\n\r\n");
  return { ...JSON.parse(body as string), servedBy: /^X-Served-By: ([^\r\n]*)/im.exec(head as string)?.[1] ?? "" };
}
/** the note is served, by that version of the app */
const serves = (version: string, server = box, note = NOTE) => server.poll(`version ${version} serving the note`, async () => {
  const p = await page(server);
  return (p.version === version && p.notes.includes(note)) || undefined;
}, 120_000);

const SERVER = { repo: "notes", token: TOKEN, images: ["postgres", "redis", "nginx", "python"] };
const REPO = "http://127.0.0.1:8418/notes.git";

beforeAll(async () => {
  ({ box, repo, tmp } = await exampleServer("kt-notes-box", SERVER));
}, 900_000);

afterAll(() => removeExampleServer({ box, repo, tmp }));

describe("nginx, a Python app built from the repository, PostgreSQL and Redis, driven by konta.timer", () => {
  test("first deploy by the timer: the app built on the server, a note stored through nginx", async () => {
    shas.v1 = repo.write(example()).commit("notes");
    await installKonta(box, { repo: REPO, token: TOKEN, project: "notes", secrets: `DB_PASSWORD=${password()}\n` });
    await liveAt(shas.v1, 600_000);
    const posted = await box.sh(`curl -sS --max-time 10 -X POST --data-binary '${NOTE}' http://127.0.0.1:${PORT}/notes`);
    expect(JSON.parse(posted).id).toBe(1);
    const p = await page();
    expect(p).toMatchObject({ version: "1", notes: [NOTE], servedBy: "konta-notes" });
    // the password reached the app as a file, never as a variable
    expect(await box.sh("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' notes-app-1")).not.toContain("DB_PASSWORD");
  }, 900_000);

  test("a change of the app's code: the app rebuilt and recreated alone, the note and the view count kept, pre.sh dumped the database first", async () => {
    const before = await ids();
    const views = (await page()).views;
    shas.v2 = repo.write(example({ version: "2" })).commit("notes 2");
    await liveAt(shas.v2);
    const after = await ids();
    expect(after.app).not.toBe(before.app as string);
    expect({ db: after.db, cache: after.cache, web: after.web }).toEqual({ db: before.db as string, cache: before.cache as string, web: before.web as string });
    await serves("2");
    // Redis kept its data (a named volume) and nginx found the new app container by name
    expect((await page()).views).toBeGreaterThan(views);
    const dump = (await box.sh(`ls -1t /var/backups/konta/notes-*-${shas.v2.slice(0, 12)}.sql.gz | head -n 1`)).trim();
    expect(await box.sh(`gunzip -c ${dump} | grep -c '${NOTE}'`)).toBe("1\n");
  }, 600_000);

  test("a change of nginx's file: nginx recreated alone", async () => {
    const before = await ids();
    shas.v3 = repo.write(example({ version: "2", servedBy: "konta-notes-v3" })).commit("nginx: a new header");
    await liveAt(shas.v3);
    const after = await ids();
    expect(after.web).not.toBe(before.web as string);
    expect({ db: after.db, cache: after.cache, app: after.app }).toEqual({ db: before.db as string, cache: before.cache as string, app: before.app as string });
    expect(await box.poll("the new header", async () => (await page()).servedBy === "konta-notes-v3" || undefined, 60_000)).toBe(true);
  }, 600_000);

  test("an app that exits at start: rolled back, version 2 serves the note, the commit is not retried", async () => {
    const before = await ids();
    const bad = repo.write(example({ version: "3", servedBy: "konta-notes-v3", broken: true })).commit("notes 3, misconfigured");
    await box.poll("the broken commit failed", async () => (await status()).failed?.sha === bad || undefined, 600_000);
    expect((await status()).live?.sha).toBe(shas.v3);
    await serves("2");
    const after = await ids();
    expect({ db: after.db, cache: after.cache }).toEqual({ db: before.db as string, cache: before.cache as string });
    await box.waitFor("a tick skipping it", `journalctl -u konta.service --no-pager -o cat | grep -q 'skipped ${bad.slice(0, 12)}'`, 60_000);
  }, 900_000);

  test("staging and production by branches: a change tried on the staging server first, promoted by a merge", async () => {
    // main as it should be (the misconfigured release reverted), and a staging branch from it
    shas.main = repo.write(example({ version: "2", servedBy: "konta-notes-v3" })).commit("revert the misconfigured release");
    await liveAt(shas.main);
    repo.git("checkout", "-q", "-b", "staging");
    const staging = await startBox("kt-notes-staging", tmp, SERVER);
    try {
      await installKonta(staging, { repo: REPO, branch: "staging", token: TOKEN, project: "notes", secrets: `DB_PASSWORD=${password()}\n` });
      // version 4 on staging only: its own database, its own note
      repo.write(example({ version: "4", servedBy: "konta-notes-v3" }));
      repo.git("add", "-A");
      repo.git("commit", "-q", "-m", "notes 4");
      repo.git("push", "-q", repo.bare, "HEAD:refs/heads/staging");
      const v4 = repo.head();
      await staging.poll(`staging live at ${v4.slice(0, 12)}`, async () => (JSON.parse(await staging.sh("konta status --json")) as Status).live?.sha === v4 || undefined, 600_000);
      await staging.sh(`curl -sS --max-time 10 -X POST --data-binary 'tried on staging' http://127.0.0.1:${PORT}/notes`);
      await serves("4", staging, "tried on staging");
      // production has not moved
      expect((await status()).live?.sha).toBe(shas.main);
      await serves("2");

      // promoted: main fast-forwards to what staging ran; production keeps its data
      const db = (await ids()).db;
      repo.git("checkout", "-q", "main");
      repo.git("merge", "-q", "--ff-only", "staging");
      repo.push();
      await liveAt(v4);
      await serves("4");
      expect((await page()).notes).toEqual([NOTE]);
      expect((await ids()).db).toBe(db as string);
    } finally {
      if (!process.env.KONTA_KEEP_BOX) staging.remove();
    }
  }, 900_000);
});
