// What the scenarios on real applications share (tests/apps/*.test.ts, bench/wordpress-512.ts): an
// example repository as a person copies it, the application images in a server box, and Konta
// installed as the README's worked examples do it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { sh } from "../support/docker.ts";
import { kontaBinary } from "../support/konta.ts";
import { type FileSpec, TestRepo } from "../support/repo.ts";
import { Box, SRC } from "../server/box.ts";

export const APPS_CACHE = process.env.KONTA_APPS_CACHE ?? "/var/cache/konta-tests/apps-1";

/** examples/<name>, every file with its mode. */
export function exampleFiles(name: string): Record<string, FileSpec> {
  const root = resolve(import.meta.dir, "../../examples", name);
  const files: Record<string, FileSpec> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else files[relative(root, path)] = { content: readFileSync(path, "utf8"), mode: st.mode & 0o777 };
    }
  };
  walk(root);
  return files;
}

export interface ServerOptions {
  /** the repository's name on the Git server */
  repo: string;
  token: string;
  /** tests/apps/images.sh's names of the images the example runs */
  images: string[];
  /** users of the box's registry ("user:password ..."); none: no registry */
  registryUsers?: string;
  /** the server's memory and swap, e.g. "512m" (its containers count against it) */
  memory?: string;
}

export interface ExampleServer {
  box: Box;
  repo: TestRepo;
  tmp: string;
}

/** A server in a box with the Git server on its loopback (serving tmp/git, mounted), the images, and a registry if asked for. */
export async function startBox(name: string, tmp: string, o: ServerOptions): Promise<Box> {
  const box = await Box.start({ name, memory: o.memory, mounts: { [join(tmp, "git")]: "/srv/git", [APPS_CACHE]: "/opt/konta-apps" } });
  await box.sh(`GIT_TOKEN=${o.token}${o.registryUsers ? ` REGISTRY_USERS="${o.registryUsers}"` : ""} bash ${SRC}/tests/server/box-setup.sh`);
  await loadImages(box, o.images);
  return box;
}

/** The repository and its first server; the roots of the images made once on the host (debootstrap) and cached. */
export async function exampleServer(name: string, o: ServerOptions): Promise<ExampleServer> {
  kontaBinary();
  sh("bash", [resolve(import.meta.dir, "images.sh"), "--roots"]);
  const tmp = mkdtempSync(`/var/tmp/konta-${o.repo}-`);
  const repo = new TestRepo(join(tmp, "git"), o.repo);
  return { tmp, repo, box: await startBox(name, tmp, o) };
}

export function removeExampleServer(s: Partial<ExampleServer>): void {
  if (process.env.KONTA_KEEP_BOX) return console.log(`kept the box: docker exec -it ${s.box?.name} bash`);
  s.box?.remove();
  s.repo?.dispose();
  if (s.tmp) rmSync(s.tmp, { recursive: true, force: true });
}

/** The application images (tests/apps/images.sh) in a box, from the roots cached on the host (mounted at /opt/konta-apps). */
export function loadImages(box: Box, images: string[]): Promise<string> {
  return box.sh(`KONTA_APPS_CACHE=/opt/konta-apps bash ${SRC}/tests/apps/images.sh ${images.join(" ")}`);
}

/**
 * As the README's worked examples: install.sh as in the Quick start (`branch`, default main; timer every `interval` s), the
 * project's secrets in the server's env file /etc/konta/env/<project>.env, time for a first start
 * of a database on this disk; `edit`: a sed script for the config before the timer starts (e.g. a
 * Git server's address).
 */
export async function installKonta(box: Box, o: { repo: string; branch?: string; token: string; project: string; secrets: string; interval?: number; edit?: string }): Promise<void> {
  await box.sh(
    `cd /root && bash ${SRC}/packaging/install.sh --binary ${SRC}/dist/konta --checksum-file ${SRC}/dist/konta-linux-x64.sha256 -- --repo ${o.repo} --branch ${o.branch ?? "main"} --interval ${o.interval ?? 10} --no-enable`,
    { input: `${o.token}\n` },
  );
  await box.sh(`install -m 0600 /dev/null /etc/konta/env/${o.project}.env && cat >/etc/konta/env/${o.project}.env`, { input: o.secrets });
  await box.sh(`sed -i 's/^  health_timeout: 120/  health_timeout: 300/${o.edit ? `; ${o.edit}` : ""}' /etc/konta/config.yaml && systemctl enable --now konta.timer`);
}

/** A random password, as `openssl rand -hex 16` makes one. */
export function password(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
