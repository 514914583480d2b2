// `build:` services: tar the context (honouring .dockerignore), POST /build, and tag the result
// with a hash of the context and build options, so a rebuild happens only when one of them changes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import ignore from "@balena/dockerignore";
import * as tar from "tar";
import type { ProjectModel, ServiceModel } from "../compose/model.ts";
import { canonicalJson, contentDigest, sha256 } from "../base/digest.ts";
import { DeployError } from "../base/errors.ts";
import { LABEL } from "../base/labels.ts";
import { log, progress } from "../base/log.ts";
import { type DockerClient, EngineError, readJsonStream, StreamError } from "./client.ts";
import { inspectImage } from "./images.ts";
import { pinnedCommit } from "../compose/canonical.ts";
import { redact } from "../base/redact.ts";

function dockerignore(contextDir: string, dockerfile: string): (rel: string) => boolean {
  const candidates = [join(contextDir, `${dockerfile}.dockerignore`), join(contextDir, ".dockerignore")];
  const file = candidates.find((f) => existsSync(f));
  if (!file) return () => true;
  const ig = ignore().add(readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim() && !l.startsWith("#")));
  // the Dockerfile and .dockerignore always reach the engine (as `docker build` sends them)
  return (rel) => rel === dockerfile || rel === ".dockerignore" || !ig.ignores(rel);
}

/** Build the service's image unless an image with the same build hash exists. True when it built. */
export async function buildImage(docker: DockerClient, project: ProjectModel, s: ServiceModel): Promise<boolean> {
  const b = s.build;
  if (!b) return false;
  if (b.git) return buildFromGit(docker, project, s);
  const contextDir = isAbsolute(b.context) ? b.context : join(project.dir, b.context);
  const inline = b.dockerfile_inline;
  const dockerfile = inline !== undefined ? INLINE_DOCKERFILE : (b.dockerfile ?? "Dockerfile");
  if (inline === undefined && !existsSync(join(contextDir, dockerfile))) {
    throw new DeployError(`${project.name}/${s.name}: no ${dockerfile} in the build context ${relative(project.dir, contextDir) || "."}`);
  }
  const ignored = dockerignore(contextDir, dockerfile);
  // a file of the context with the inline Dockerfile's name would be a second entry of that name
  const include = inline === undefined ? ignored : (rel: string) => rel !== INLINE_DOCKERFILE && ignored(rel);
  const options = { dockerfile, inline, args: b.args, target: b.target, labels: b.labels, platform: b.platform, network: b.network, shm: b.shm_size, hosts: b.extra_hosts };
  const hash = sha256(contentDigest(contextDir, include) + canonicalJson(options)).slice(0, 32);
  const existing = await inspectImage(docker, s.image);
  if (existing?.Config?.Labels?.[LABEL.buildHash] === hash && !b.no_cache) {
    log.debug(`build ${s.image}: up to date`);
    return false;
  }
  progress(`building ${s.image} for ${project.name}/${s.name}`);
  const extra = inline === undefined ? undefined : inlineArchive(inline);
  try {
    await postBuild(docker, project, s, { contextDir, include, extra, dockerfile, hash });
  } finally {
    if (extra) rmSync(extra.dir, { recursive: true, force: true });
  }
  for (const extra of b.tags ?? []) {
    const i = extra.lastIndexOf(":");
    const [repo, tag] = i > extra.lastIndexOf("/") ? [extra.slice(0, i), extra.slice(i + 1)] : [extra, "latest"];
    await docker.request("POST", `/images/${encodeURIComponent(s.image)}/tag`, { query: { repo, tag }, what: `tag ${s.image} as ${extra}` });
  }
  return true;
}

/**
 * A Git URL context: the engine clones it (`remote=`). Pinned to a commit, the build hash is the
 * URL's and options' (built once); a branch or tag can move, so it is built at every deploy (the
 * engine's layer cache keeps an unchanged result the same image, and so the same container).
 */
async function buildFromGit(docker: DockerClient, project: ProjectModel, s: ServiceModel): Promise<boolean> {
  const b = s.build as NonNullable<ServiceModel["build"]>;
  const dockerfile = b.dockerfile ?? "Dockerfile";
  const options = { remote: b.context, dockerfile, args: b.args, target: b.target, labels: b.labels, platform: b.platform, network: b.network, shm: b.shm_size, hosts: b.extra_hosts };
  const hash = sha256(canonicalJson(options)).slice(0, 32);
  if (pinnedCommit(b.context) && !b.no_cache && (await inspectImage(docker, s.image))?.Config?.Labels?.[LABEL.buildHash] === hash) {
    log.debug(`build ${s.image}: up to date`);
    return false;
  }
  progress(`building ${s.image} for ${project.name}/${s.name} from ${redact(b.context)}`);
  await postBuild(docker, project, s, { remote: b.context, dockerfile, hash });
  return true;
}

/** The name the inline Dockerfile has in the context sent to the engine (Compose: `.dockerfile.<random>`). */
const INLINE_DOCKERFILE = ".konta-dockerfile-inline";

/** A one-file archive holding the inline Dockerfile, appended to the context's (tar's `@archive`). */
function inlineArchive(text: string): { dir: string; archive: string } {
  const dir = mkdtempSync(join(tmpdir(), "konta-build-"));
  writeFileSync(join(dir, INLINE_DOCKERFILE), text, { mode: 0o644 });
  const archive = join(dir, "inline.tar");
  tar.create({ cwd: dir, portable: true, sync: true, file: archive }, [INLINE_DOCKERFILE]);
  return { dir, archive };
}

/** What is sent: a folder (tarred, with the inline Dockerfile appended when there is one) or a Git URL the engine clones. */
type BuildInput = { dockerfile: string; hash: string } & (
  | { contextDir: string; include: (rel: string) => boolean; extra: { archive: string } | undefined }
  | { remote: string }
);

async function postBuild(docker: DockerClient, project: ProjectModel, s: ServiceModel, input: BuildInput): Promise<void> {
  const b = s.build as NonNullable<ServiceModel["build"]>;
  const { dockerfile, hash } = input;
  const body =
    "remote" in input
      ? undefined
      : toWebStream(
          tar.create(
            // an entry of the appended archive (the inline Dockerfile) comes as a ReadEntry, the context's with an fs.Stats
            { cwd: input.contextDir, portable: true, filter: (p, entry) => entry instanceof tar.ReadEntry || p === "." || input.include(p.replace(/^\.\//, "")) },
            [".", ...(input.extra ? [`@${input.extra.archive}`] : [])],
          ) as unknown as AsyncIterable<Uint8Array>,
        );
  const request = docker.stream("POST", "/build", {
    query: {
      ...("remote" in input ? { remote: input.remote } : {}),
      t: s.image,
      dockerfile,
      buildargs: JSON.stringify(b.args ?? {}),
      labels: JSON.stringify({ ...(b.labels ?? {}), [LABEL.buildHash]: hash }),
      ...(b.target ? { target: b.target } : {}),
      ...(b.network ? { networkmode: b.network } : {}),
      ...(b.shm_size ? { shmsize: b.shm_size } : {}),
      ...(b.extra_hosts ? { extrahosts: Object.entries(b.extra_hosts).flatMap(([h, ips]) => ips.map((ip) => `${h}:${ip}`)).join(",") } : {}),
      ...(b.platform ? { platform: b.platform } : {}),
      ...(b.no_cache ? { nocache: 1 } : {}),
      ...(b.pull ? { pull: 1 } : {}),
      rm: 1,
      forcerm: 1,
    },
    ...(body ? { rawBody: body, headers: { "Content-Type": "application/x-tar" } } : {}),
    what: `build ${s.image}`,
  });
  const stream = await request.catch((err: unknown) => {
    throw err instanceof EngineError ? new DeployError(`build of ${s.image} for ${project.name}/${s.name} failed: ${redact(err.engineMessage.trim())}`) : err;
  });
  const lines: string[] = [];
  try {
    await readJsonStream(stream, (e) => {
      if (typeof e.stream === "string") {
        // a Git URL context may carry credentials, and the engine's words repeat the URL
        const line = redact(e.stream.trimEnd());
        if (line) {
          lines.push(line);
          log.debug(`build ${s.image}: ${line}`);
        }
      }
    });
  } catch (err) {
    if (err instanceof StreamError) {
      throw new DeployError(`build of ${s.image} for ${project.name}/${s.name} failed: ${redact(err.message)}`, {
        hint: lines.length ? `last build output:\n${lines.slice(-8).map((l) => `    ${l}`).join("\n")}` : undefined,
      });
    }
    throw err;
  }
}

function toWebStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
}
