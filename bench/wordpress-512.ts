// `bun bench/wordpress-512.ts [--commits N] [--recoveries N]`: the WordPress example
// (examples/wordpress; MariaDB and WordPress built from Debian's packages by tests/apps/images.sh) on
// a 512 MB server: a server box limited with --memory 512m --memory-swap 512m, Konta installed by
// install.sh and run by konta.timer (every 10 s), the Git server outside the box as GitHub would be.
// N commits in a row (default 100): WordPress's settings changed, its image updated (a rebuild under
// a new tag), and every tenth commit an image that cannot start, which must be rolled back. Then N
// disaster recoveries (default 3): a new 512 MB server, install.sh, the last dump, timed.
//
// Checked after every commit: the commit is live (or, broken, rolled back with the previous release
// live), the blog's first post is served, no process in the box was OOM-killed; at the end the db
// container is the one of the first deploy (no commit touched the database). Recorded: every
// konta run's peak RSS (ru_maxrss, as Konta records it in its state and history), and the box's
// anonymous memory (apps, engine, Konta; page cache not counted), sampled every second.
// Writes bench/wordpress-512.json and bench/WORDPRESS-512.md (the table); bench/run.ts puts the same
// section into RESULTS.md. `--report` only writes WORDPRESS-512.md again from the JSON.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startGitServer } from "../tests/support/git-server.ts";
import { sh } from "../tests/support/docker.ts";
import { kontaBinary } from "../tests/support/konta.ts";
import { TestRepo } from "../tests/support/repo.ts";
import { Box, SRC } from "../tests/server/box.ts";
import { example, IMAGES, installAndPost, passwords, served, type Variant } from "../tests/apps/blog.ts";
import { APPS_CACHE, installKonta, loadImages } from "../tests/apps/examples.ts";
import { fmtMb, fmtMs, stats, type Wordpress512, wordpress512Section } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const option = (name: string, dflt: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : dflt;
};
const COMMITS = option("--commits", 100);
/** disaster recoveries timed at the end */
const DR_RUNS = option("--recoveries", 3);
const PORT = 18095;
const TOKEN = "wp512-token-5b7e21";
const OUT = join(ROOT, "bench/wordpress-512.json");
/** the config's URL back to plain HTTP, declared trusted: the Git server is on the box's network */
const INSECURE = "s#https://#http://#; s/^repository:/repository:\\n  allow_insecure_http: true/";

interface Run {
  at: string;
  result: string;
  sha?: string;
  peakRssBytes?: number;
}
interface State {
  current?: { sha: string };
  lastAttempt?: Run;
}

/** A rebuild of WordPress's image under a new tag (konta-apps/wordpress:6.1-r<N>), as a CI job would push one. */
const rebuild = (tag: string) => `printf 'FROM konta-apps/wordpress:6.1\\nLABEL org.example.revision=${tag.split("-r")[1]}\\n' | docker build -q -t ${tag} - >/dev/null`;

const REPORT = join(ROOT, "bench/WORDPRESS-512.md");
const report = (r: Wordpress512) => writeFileSync(REPORT, `${["# WordPress on a 512 MB server", "", "Written by `bun bench/wordpress-512.ts`; do not edit by hand.", "", ...wordpress512Section(r).slice(2)].join("\n")}\n`);
if (process.argv.includes("--report")) {
  report(JSON.parse(readFileSync(OUT, "utf8")) as Wordpress512);
  process.exit(0);
}

const tmp = mkdtempSync("/var/tmp/konta-wp512-");
const repo = new TestRepo(join(tmp, "git"), "blog");
const git = await startGitServer({ root: join(tmp, "git"), token: TOKEN, host: "0.0.0.0" });
let box: Box | undefined;
const runs = new Map<string, Run>();
let anonMax = 0;
const anonSamples: number[] = [];

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

/** One key per run, whether seen in state.json (its end) or in the history (its start): a commit is deployed or fails once. */
const runKey = (r: Run) => (r.sha && r.result !== "up-to-date" && r.result !== "skipped" ? `${r.sha} ${r.result}` : r.at);

/** state.json as the last run left it; every run seen is kept (a run every 10 s, read every second). */
async function observe(b: Box): Promise<State> {
  // nothing before the first run has written it
  const s = JSON.parse(await b.sh("cat /var/lib/konta/state.json 2>/dev/null || echo {}")) as State;
  const a = s.lastAttempt;
  if (a && !runs.has(runKey(a))) runs.set(runKey(a), a);
  const anon = b.anonMemory();
  anonSamples.push(anon);
  anonMax = Math.max(anonMax, anon);
  return s;
}

async function until<T>(b: Box, what: string, fn: (s: State) => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await observe(b);
    const v = await Promise.resolve()
      .then(() => fn(s))
      .catch(() => undefined);
    if (v !== undefined) return v;
    await Bun.sleep(1000);
  }
  throw new Error(`timed out waiting for ${what}\n${await b.sh("journalctl -u konta.service --no-pager -o cat -n 40")}`);
}

try {
  kontaBinary();
  sh("bash", [join(ROOT, "tests/apps/images.sh"), "--roots"]);
  box = await Box.start({ name: "kt-wp512-box", memory: "512m", mounts: { [APPS_CACHE]: "/opt/konta-apps" } });
  const b = box;
  await b.sh(`bash ${SRC}/tests/server/box-setup.sh`);
  await loadImages(b, IMAGES);
  await b.sh(`printf 'FROM konta-apps/wordpress:6.1\\nENTRYPOINT ["false"]\\n' | docker build -q -t konta-apps/wordpress:cannot-start - >/dev/null`);
  const host = (await b.sh("ip route | awk '/default/ {print $3}'")).trim();

  const variant = (i: number, image: string, broken = false): Variant => ({
    env: { WORDPRESS_IMAGE: broken ? "konta-apps/wordpress:cannot-start" : image },
    wordpressEnv: { BLOG_REVISION: String(i) },
  });
  let image = "konta-apps/wordpress:6.1";
  const first = repo.write(example(PORT, variant(0, image))).commit("the blog");
  // installed with an https:// URL (install refuses a token over plain HTTP), then pointed at the Git
  // server on the box's network, declared trusted, as in tests/server/small-server.test.ts
  await installKonta(b, {
    repo: `https://${host}:${git.port}/blog.git`,
    token: TOKEN,
    project: "blog",
    secrets: passwords(),
    edit: INSECURE,
  });
  await until(b, "the first deploy", (s) => s.current?.sha === first || undefined, 600_000);
  const postId = await installAndPost(b, PORT);
  const db = (await b.sh("docker inspect -f '{{.Id}}' blog-db-1")).trim();
  log(`first deploy live, post ${postId}; ${COMMITS} commits follow`);

  let live = first;
  const kinds = { settings: 0, image: 0, broken: 0 };
  const started = Date.now();
  for (let i = 1; i <= COMMITS; i++) {
    const kind = i % 10 === 0 ? "broken" : i % 3 === 0 ? "image" : "settings";
    kinds[kind]++;
    if (kind === "image") {
      image = `konta-apps/wordpress:6.1-r${i}`;
      await b.sh(rebuild(image));
    }
    const sha = repo.write(example(PORT, variant(i, image, kind === "broken"))).commit(`${kind} ${i}`);
    if (kind === "broken") {
      await until(b, `commit ${i} rolled back`, (s) => (s.lastAttempt?.sha === sha && s.lastAttempt.result === "failed") || undefined, 600_000);
      const s = await observe(b);
      if (s.current?.sha !== live) throw new Error(`commit ${i} (broken): ${s.current?.sha} is live, not ${live}`);
    } else {
      await until(b, `commit ${i} live`, (s) => s.current?.sha === sha || undefined, 600_000);
      live = sha;
    }
    await until(b, `the post served after commit ${i}`, async () => (await served(b, PORT, postId)) || undefined, 180_000);
    const kills = b.oomKills();
    if (kills !== 0) throw new Error(`after commit ${i}: ${kills} processes OOM-killed in the box`);
    if (i % 10 === 0) log(`${i} commits; box anonymous memory max ${fmtMb(anonMax / 1024)}; ${runs.size} runs seen`);
  }
  const minutes = (Date.now() - started) / 60_000;
  // the branch as it should be before a new server takes it: the last commit (the hundredth) was broken
  if (COMMITS % 10 === 0) {
    live = repo.write(example(PORT, variant(COMMITS, image))).commit("revert the broken image");
    await until(b, "the revert live", (s) => s.current?.sha === live || undefined, 600_000);
  }
  if ((await b.sh("docker inspect -f '{{.Id}}' blog-db-1")).trim() !== db) throw new Error("the db container was recreated");
  const pw = await b.sh("cat /etc/konta/env/blog.env");
  const dump = join(tmp, "blog.sql.gz");
  sh("docker", ["cp", `${b.name}:${(await b.sh("ls -1t /var/backups/konta/blog-*.sql.gz | head -n 1")).trim()}`, dump]);
  // the history holds every run that did something, including any a one-second poll missed
  for (const line of (await b.sh("cat /var/lib/konta/history.jsonl")).trim().split("\n")) {
    const e = JSON.parse(line) as Run & { kind: string };
    if (!runs.has(runKey(e)) && e.peakRssBytes) runs.set(runKey(e), e);
  }

  const all = [...runs.values()].filter((r) => r.peakRssBytes);
  const figure = (list: Run[]) => {
    if (!list.length) return { runs: 0, medianKb: 0, maxKb: 0 };
    const st = stats(list.map((r) => (r.peakRssBytes as number) / 1024));
    return { runs: st.n, medianKb: st.median, maxKb: st.max };
  };
  const konta = {
    all: figure(all),
    deploys: figure(all.filter((r) => r.result === "deployed")),
    failed: figure(all.filter((r) => r.result === "failed")),
    idle: figure(all.filter((r) => r.result === "up-to-date" || r.result === "skipped")),
  };
  const oomKills = b.oomKills();
  // printed now: a failure in what follows does not lose them
  log(`${COMMITS} commits in ${minutes.toFixed(1)} min, ${oomKills} OOM kills; Konta's peak RSS: ${JSON.stringify(konta)}`);
  // disaster recovery: a new 512 MB server, install.sh, the same repository, the passwords and
  // the last dump kept elsewhere; from install.sh until the post is served (images already there)
  const recoveries: number[] = [];
  for (let i = 0; i < DR_RUNS; i++) {
    const fresh = await Box.start({ name: "kt-wp512-dr", memory: "512m", mounts: { [APPS_CACHE]: "/opt/konta-apps" } });
    try {
      await fresh.sh(`bash ${SRC}/tests/server/box-setup.sh`);
      await loadImages(fresh, IMAGES);
      if (image !== "konta-apps/wordpress:6.1") await fresh.sh(rebuild(image));
      sh("docker", ["cp", dump, `${fresh.name}:/root/blog.sql.gz`]);
      const t0 = Date.now();
      await installKonta(fresh, { repo: `https://${host}:${git.port}/blog.git`, token: TOKEN, project: "blog", secrets: pw, edit: INSECURE });
      await until(fresh, "the recovered release", (s) => s.current?.sha === live || undefined, 600_000);
      await fresh.sh(`gunzip -c /root/blog.sql.gz | docker exec -i blog-db-1 sh -c 'mariadb -uroot -p"$(cat /run/secrets/db_root_password)"'`);
      await until(fresh, "the post on the new server", async () => (await served(fresh, PORT, postId)) || undefined, 180_000);
      recoveries.push(Date.now() - t0);
      log(`disaster recovery ${i + 1}: ${fmtMs(recoveries.at(-1) as number)}`);
    } finally {
      fresh.remove();
    }
  }

  const result: Wordpress512 = {
    date: new Date().toISOString(),
    commit: sh("git", ["-C", ROOT, "rev-parse", "--short=12", "HEAD"]).trim(),
    commits: COMMITS,
    kinds,
    minutes: Number(minutes.toFixed(1)),
    oomKills,
    konta,
    boxAnonKb: { median: stats(anonSamples).median / 1024, max: anonMax / 1024 },
    recoveryMs: stats(recoveries),
  };
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  report(result);
  console.log(wordpress512Section(result).join("\n"));
} finally {
  if (process.env.KONTA_KEEP_BOX) console.log(`kept the box: docker exec -it ${box?.name} bash`);
  else box?.remove();
  await git.close();
  repo.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
