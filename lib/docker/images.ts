// Images: look up local IDs, pull with registry credentials from the Docker config file, and read
// the progress stream for errors (the engine answers 200 even when a pull fails).
import { DeployError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { type DockerClient, EngineError, readJsonStream, StreamError } from "./client.ts";
import { dockerConfigFile, registryAuthHeader } from "./credentials.ts";

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests?: string[] | null;
  Config: { Labels: Record<string, string> | null } | null;
}

export async function inspectImage(docker: DockerClient, ref: string): Promise<ImageInspect | undefined> {
  try {
    return await docker.request<ImageInspect>("GET", `/images/${encodeURIComponent(ref)}/json`);
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return undefined;
    throw err;
  }
}

/** "nginx" -> {repo: "nginx", tag: "latest"}; "reg:5000/a/b:1" and "a@sha256:..." kept intact. */
export function splitImageRef(ref: string): { repo: string; tag?: string; digest?: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { repo: ref.slice(0, at), digest: ref.slice(at + 1) };
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

export async function pullImage(docker: DockerClient, ref: string, platform?: string): Promise<void> {
  const { repo, tag, digest } = splitImageRef(ref);
  const auth = registryAuthHeader(ref);
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await docker.stream("POST", "/images/create", {
      query: { fromImage: repo, tag: digest ?? tag, ...(platform ? { platform } : {}) },
      headers: auth ? { "X-Registry-Auth": auth } : {},
      what: `pull ${ref}`,
    });
  } catch (err) {
    // a refused pull (401, 404, 500) carries the engine's reason: keep it, and say what to do
    if (err instanceof EngineError) throw pullError(ref, err.engineMessage, auth !== undefined);
    throw err;
  }
  try {
    await readJsonStream(stream, (e) => {
      if (typeof e.status === "string" && !e.progressDetail) log.debug(`pull ${ref}: ${e.status}`);
    });
  } catch (err) {
    if (err instanceof StreamError) throw pullError(ref, err.message, auth !== undefined);
    throw err;
  }
}

function pullError(ref: string, why: string, withCredentials: boolean): DeployError {
  const file = dockerConfigFile();
  return new DeployError(`pull ${ref} failed: ${why}`, {
    hint: withCredentials
      ? `check the image name and the credentials for its registry in ${file}`
      : `check the image name; for a private registry run \`docker login <registry>\` as root (Konta reads ${file}, or $DOCKER_CONFIG)`,
  });
}
