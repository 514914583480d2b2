// Images: look up local IDs, pull with registry credentials from the Docker config file, and read
// the progress stream for errors (the engine answers 200 even when a pull fails).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { DeployError } from "../errors.ts";
import { log } from "../log.ts";
import { type DockerClient, EngineError, readJsonStream, StreamError } from "./client.ts";

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
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

/** The registry an image reference lives on, as keys appear in ~/.docker/config.json. */
export function registryOf(ref: string): string {
  const first = ref.split("/")[0] ?? "";
  if (ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) return first;
  return "https://index.docker.io/v1/";
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
}

/** X-Registry-Auth for `ref` from the Docker config file ($DOCKER_CONFIG or ~/.docker), if it has credentials. */
export function registryAuthHeader(ref: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  if (!existsSync(file)) return undefined;
  let config: DockerConfigFile;
  try {
    config = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    log.warn(`docker: ${file} is not valid JSON; pulling without credentials`);
    return undefined;
  }
  const registry = registryOf(ref);
  const candidates = registry.startsWith("https://index.docker.io")
    ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
    : [registry, `https://${registry}`, `http://${registry}`];
  for (const key of candidates) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
    const auth = entry.identitytoken ? { identitytoken: entry.identitytoken, serveraddress: key } : { username, password, serveraddress: key };
    return Buffer.from(JSON.stringify(auth)).toString("base64url");
  }
  return undefined;
}

export async function pullImage(docker: DockerClient, ref: string, platform?: string): Promise<void> {
  const { repo, tag, digest } = splitImageRef(ref);
  const auth = registryAuthHeader(ref);
  const stream = await docker.stream("POST", "/images/create", {
    query: { fromImage: repo, tag: digest ?? tag, ...(platform ? { platform } : {}) },
    headers: auth ? { "X-Registry-Auth": auth } : {},
    what: `pull ${ref}`,
  });
  try {
    await readJsonStream(stream, (e) => {
      if (typeof e.status === "string" && !e.progressDetail) log.debug(`pull ${ref}: ${e.status}`);
    });
  } catch (err) {
    if (err instanceof StreamError) {
      throw new DeployError(`pull ${ref} failed: ${err.message}`, {
        hint: auth ? "check the image name and the registry credentials in the Docker config file" : "check the image name; for a private registry run `docker login` as root",
      });
    }
    throw err;
  }
}
