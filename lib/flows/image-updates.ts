// Image updates for moving tags: services labelled konta.image-updates follow new images pushed
// under the same tag, and so do those with pull_policy daily, weekly or every_<duration> on their
// own schedule. An idle tick due for a check (state.imagesDue) asks the registry for each such
// tag's digest; one that the running image does not have is pulled, and the tick converges the
// live release on it, health-gated, rolled back to the old image ID on failure.
import type { DockerClient } from "../docker/client.ts";
import { inspectImage, splitImageRef } from "../docker/images.ts";
import { remoteDigest } from "../docker/registry.ts";
import { errorMessage } from "../base/errors.ts";
import { log } from "../base/log.ts";
import type { ProjectExpectation } from "../state/index.ts";

export interface PendingUpdate {
  ref: string;
  digest: string;
}

/** Image references followed by the live release (those in `due`, when given), with the image IDs they run now. */
export function followedImages(expected: Record<string, ProjectExpectation>, due?: Set<string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of Object.values(expected)) {
    for (const t of Object.values(p.services)) {
      if (!t.imageUpdates && t.pullEvery === undefined) continue;
      if (due && !due.has(t.image)) continue;
      const ids = out.get(t.image) ?? new Set<string>();
      if (t.imageId) ids.add(t.imageId);
      out.set(t.image, ids);
    }
  }
  return out;
}

/** Tags whose registry digest none of the running images has, skipping digests that failed before. */
export async function findUpdates(docker: DockerClient, expected: Record<string, ProjectExpectation>, failed: Record<string, string>, due: Set<string>): Promise<PendingUpdate[]> {
  const out: PendingUpdate[] = [];
  for (const [ref, ids] of followedImages(expected, due)) {
    let digest: string;
    try {
      digest = await remoteDigest(ref);
    } catch (err) {
      // a registry that is down must not fail the tick: the next due check asks again
      log.warn(`image updates: cannot check ${ref}: ${errorMessage(err)}`);
      continue;
    }
    const running = await Promise.all([...ids].map((id) => inspectImage(docker, id)));
    const have = new Set(running.flatMap((i) => i?.RepoDigests ?? []).map((d) => d.slice(d.indexOf("@") + 1)));
    if (have.has(digest)) continue;
    if (failed[ref] === digest) {
      log.debug(`image updates: ${ref} ${digest.slice(0, 19)} failed before; waiting for another push`);
      continue;
    }
    out.push({ ref, digest });
  }
  return out;
}

/**
 * After a failed update the containers run the old image again (pinned by ID), but the local tag
 * still names the new one: point it back, so that the next deploy of a commit does not pick the
 * image that just failed.
 */
export async function restoreTags(docker: DockerClient, expected: Record<string, ProjectExpectation>, refs: string[]): Promise<void> {
  const followed = followedImages(expected);
  for (const ref of refs) {
    const [id] = followed.get(ref) ?? [];
    if (!id) continue;
    const { repo, tag } = splitImageRef(ref);
    try {
      await docker.request("POST", `/images/${encodeURIComponent(id)}/tag`, { query: { repo, tag: tag ?? "latest" }, what: `tag ${id.slice(7, 19)} as ${ref}` });
    } catch (err) {
      log.warn(`image updates: could not point ${ref} back at ${id.slice(7, 19)}: ${errorMessage(err)}`);
    }
  }
}
