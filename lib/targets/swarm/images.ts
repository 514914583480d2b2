// Which image every node runs: like `docker stack deploy` (--resolve-image always), a tag is
// resolved to its registry digest on the manager and the service pinned to `tag@digest`, so that
// nodes pulling at different times cannot run different images. A drift repair keeps the digest
// the last deploy pinned; a deploy resolves again (a moved tag is then an update, as with stack
// deploy).
import type { DockerClient } from "../../docker/client.ts";
import type { ProjectExpectation } from "../../state/index.ts";
import type { PendingUpdate } from "../types.ts";
import { movedTags } from "../updates.ts";
import { registryAuthHeader } from "../../docker/credentials.ts";
import { errorMessage } from "../../base/errors.ts";
import { log } from "../../base/log.ts";

/** `ref` pinned to `digest` (a reference already holding a digest is left as it is). */
export function pinned(ref: string, digest: string | undefined): string {
  return digest && !ref.includes("@") ? `${ref}@${digest}` : ref;
}

/** The manager's credentials for `ref`'s registry, as the engine takes them (--with-registry-auth). */
export function registryAuthHeaders(ref: string): Record<string, string> {
  const auth = registryAuthHeader(ref);
  return auth ? { "X-Registry-Auth": auth } : {};
}

/** The digest the registry serves for `ref` now, asked through the manager's engine (its registry settings apply). */
export async function registryDigest(docker: DockerClient, ref: string): Promise<string> {
  const res = await docker.request<{ Descriptor: { digest: string } }>("GET", `/distribution/${ref}/json`, {
    headers: registryAuthHeaders(ref),
    what: `ask the registry for ${ref}`,
  });
  return res.Descriptor.digest;
}

/**
 * The digest of each reference in `refs`: `known` ones (a repair) as they are, the others asked of
 * the registry. One that no registry answers for stays unpinned, with a warning.
 */
export async function resolveImages(docker: DockerClient, refs: string[], known: Map<string, string> = new Map()): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    [...new Set(refs)].map(async (ref) => {
      if (ref.includes("@")) return;
      const digest = known.get(ref);
      if (digest) return out.set(ref, digest);
      try {
        out.set(ref, await registryDigest(docker, ref));
      } catch (err) {
        log.warn(`${ref}: no digest from a registry (${errorMessage(err).split("\n")[0]}); every node pulls the tag on its own and may run another image if it moves`);
      }
    }),
  );
  return out;
}

/**
 * konta.image-updates on a swarm: the followed tags whose registry digest moved away from the one
 * their services are pinned to, skipping digests that failed before.
 */
export function findSwarmUpdates(docker: DockerClient, expected: Record<string, ProjectExpectation>, failed: Record<string, string>, due: Set<string>): Promise<PendingUpdate[]> {
  return movedTags(expected, failed, due, (ref) => registryDigest(docker, ref), async (pinnedTo, digest) => pinnedTo.has(digest));
}
