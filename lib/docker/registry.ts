// The digest a registry serves for a tag, asked with one HEAD of the manifest (Registry HTTP API
// v2), anonymously or with the credentials `docker login` stored: Basic, or the Bearer token dance
// (WWW-Authenticate: Bearer realm=...,service=...,scope=...). Pulling is the engine's job; this only
// tells whether a moving tag (`:latest`, `:1.27`) moved.
import { type RegistryAuth, registryAuth, registryOf } from "./credentials.ts";
import { splitImageRef } from "./images.ts";
import { isLoopbackHost } from "../base/host.ts";

const ACCEPT = [
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
].join(", ");

/** Where the manifest of `ref` lives: base URL (loopback registries speak plain HTTP, as Docker assumes) and repository path. */
export function manifestLocation(ref: string): { base: string; repository: string; reference: string } {
  const { repo, tag, digest } = splitImageRef(ref);
  const registry = registryOf(ref);
  const hub = registry.startsWith("https://index.docker.io");
  const host = hub ? "registry-1.docker.io" : registry;
  let repository = hub ? repo.replace(/^(docker\.io|index\.docker\.io)\//, "") : repo.slice(registry.length + 1);
  if (hub && !repository.includes("/")) repository = `library/${repository}`;
  const hostname = host.replace(/:\d+$/, "");
  return { base: `${isLoopbackHost(hostname) ? "http" : "https"}://${host}`, repository, reference: digest ?? tag ?? "latest" };
}

/** `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"` -> its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.split(" ")[0]?.toLowerCase() ?? "";
  const params: Record<string, string> = {};
  for (const m of header.slice(scheme.length).matchAll(/(\w+)="([^"]*)"/g)) params[m[1] as string] = m[2] as string;
  return { scheme, params };
}

function basic(auth: RegistryAuth | undefined): string | undefined {
  return auth?.username !== undefined && auth.password !== undefined ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` : undefined;
}

async function bearerToken(challenge: Record<string, string>, repository: string, auth: RegistryAuth | undefined): Promise<string> {
  const url = new URL(challenge.realm ?? "");
  if (challenge.service) url.searchParams.set("service", challenge.service);
  url.searchParams.set("scope", challenge.scope ?? `repository:${repository}:pull`);
  const headers: Record<string, string> = {};
  const b = basic(auth);
  if (b) headers.authorization = b;
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
  if (!res.ok) throw new Error(`token endpoint ${url.origin} answered ${res.status}`);
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`token endpoint ${url.origin} gave no token`);
  return token;
}

/** The manifest digest the registry serves for `ref` now. */
export async function remoteDigest(ref: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  const { base, repository, reference } = manifestLocation(ref);
  const url = `${base}/v2/${repository}/manifests/${reference}`;
  const auth = registryAuth(ref, env);
  const head = (authorization?: string) =>
    fetch(url, { method: "HEAD", headers: { accept: ACCEPT, ...(authorization ? { authorization } : {}) }, signal: AbortSignal.timeout(20_000) });
  let res = await head();
  if (res.status === 401) {
    const { scheme, params } = parseChallenge(res.headers.get("www-authenticate") ?? "");
    const authorization = scheme === "bearer" ? `Bearer ${await bearerToken(params, repository, auth)}` : basic(auth);
    if (authorization) res = await head(authorization);
  }
  if (!res.ok) throw new Error(`${ref}: the registry answered ${res.status} for its manifest`);
  const digest = res.headers.get("docker-content-digest");
  if (!digest) throw new Error(`${ref}: the registry did not say the manifest's digest`);
  return digest;
}
