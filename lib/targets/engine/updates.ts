// Image updates for moving tags on the engine: services labelled konta.image-updates follow new
// images pushed under the same tag, and so do those with pull_policy daily, weekly or
// every_<duration> on their own schedule. An idle tick due for a check (state.imagesDue) asks the
// registry for each such tag's digest; one that the running images do not have is pulled, and the
// tick converges the live release on it, health-gated, rolled back to the old image ID on failure.
import type { DockerClient } from "../../docker/client.ts";
import { inspectImage, splitImageRef } from "../../docker/images.ts";
import { remoteDigest } from "../../docker/registry.ts";
import { errorMessage } from "../../base/errors.ts";
import { log } from "../../base/log.ts";
import type { ProjectExpectation } from "../../state/index.ts";
import type { PendingUpdate } from "../types.ts";
import { followedImages, movedTags } from "../updates.ts";

/** Tags whose registry digest none of the running images has, skipping digests that failed before. */
export function findUpdates(docker: DockerClient, expected: Record<string, ProjectExpectation>, failed: Record<string, string>, due: Set<string>): Promise<PendingUpdate[]> {
  return movedTags(expected, failed, due, remoteDigest, async (ids, digest) => {
    const running = await Promise.all([...ids].map((id) => inspectImage(docker, id)));
    return running.some((i) => (i?.RepoDigests ?? []).some((d) => d.slice(d.indexOf("@") + 1) === digest));
  });
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
