// Registry credentials the way the Docker CLI finds them: `credHelpers` for the registry, else
// `credsStore`, else the `auths` entry of the Docker config file. The file is looked up in
// $DOCKER_CONFIG, else in the home directory of the user Konta runs as (from the password
// database, not $HOME: a systemd unit and a login shell must find the same file).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { userHome } from "../base/host.ts";
import { log } from "../base/log.ts";

export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const DOCKER_HUB = "https://index.docker.io/v1/";

export function dockerConfigFile(env: Record<string, string | undefined> = process.env): string {
  return join(env.DOCKER_CONFIG || join(userHome(), ".docker"), "config.json");
}

/** The registry an image reference lives on, as keys appear in the Docker config file. */
export function registryOf(ref: string): string {
  const first = ref.split("/")[0] ?? "";
  if (ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) return first;
  return DOCKER_HUB;
}

function readConfig(file: string): DockerConfigFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as DockerConfigFile;
  } catch {
    log.warn(`docker: ${file} is not valid JSON; pulling without credentials`);
    return undefined;
  }
}

/** `docker-credential-<helper> get`, as the Docker CLI calls it: the server address on stdin, JSON out. */
function fromHelper(helper: string, server: string): RegistryAuth | undefined {
  const program = `docker-credential-${helper}`;
  const r = spawnSync(program, ["get"], { input: server, encoding: "utf8", timeout: 30_000 });
  if (r.error) {
    log.warn(`docker: credential helper ${program} cannot run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); pulling without credentials`);
    return undefined;
  }
  if (r.status !== 0) {
    // "credentials not found" is an ordinary answer: the registry is then used anonymously
    const why = (r.stdout || r.stderr).trim().split("\n")[0];
    if (!/not found/i.test(why ?? "")) log.warn(`docker: ${program} get ${server} failed: ${why}`);
    return undefined;
  }
  try {
    const c = JSON.parse(r.stdout) as { Username?: string; Secret?: string };
    if (!c.Secret) return undefined;
    // the CLI's convention for identity tokens
    if (c.Username === "<token>") return { identitytoken: c.Secret, serveraddress: server };
    return { username: c.Username, password: c.Secret, serveraddress: server };
  } catch {
    log.warn(`docker: ${program} get ${server} did not answer JSON`);
    return undefined;
  }
}

function fromFile(config: DockerConfigFile, registry: string): RegistryAuth | undefined {
  const candidates = registry === DOCKER_HUB ? [DOCKER_HUB, "index.docker.io", "docker.io", "registry-1.docker.io"] : [registry, `https://${registry}`, `http://${registry}`];
  for (const key of candidates) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: key };
    let { username, password } = entry;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
    if (username || password) return { username, password, serveraddress: key };
  }
  return undefined;
}

/** Credentials for the registry of `ref`, or undefined to pull anonymously. */
export function registryAuth(ref: string, env: Record<string, string | undefined> = process.env): RegistryAuth | undefined {
  const config = readConfig(dockerConfigFile(env));
  if (!config) return undefined;
  const registry = registryOf(ref);
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  return helper ? fromHelper(helper, registry) : fromFile(config, registry);
}

/**
 * The X-Registry-Auth header: base64url *with* padding, which is what the engine's decoder
 * (Go's base64.URLEncoding) expects; without it Docker 20.10 ignores the header for two
 * credential lengths in three and pulls anonymously.
 */
export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString("base64").replaceAll("+", "-").replaceAll("/", "_");
}

export function registryAuthHeader(ref: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const auth = registryAuth(ref, env);
  return auth ? encodeRegistryAuth(auth) : undefined;
}
