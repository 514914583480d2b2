// Image updates for moving tags, the part both targets share: which followed tags moved to a digest
// that what runs does not have, and that did not fail before. Each target asks its registry its own
// way (the engine's registry client, a swarm manager's distribution endpoint) and knows what runs.
import { errorMessage } from "../base/errors.ts";
import { log } from "../base/log.ts";
import type { ProjectExpectation } from "../state/index.ts";
import type { PendingUpdate } from "./types.ts";

/** Image references the live release follows (those in `due`, when given), with the image IDs (a swarm: digests) they run now. */
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

/**
 * The tags in `due` whose registry digest (`ask`) none of the running images has (`runs`),
 * skipping digests that failed before. A registry that does not answer is skipped with a warning:
 * the next due check asks again.
 */
export async function movedTags(
  expected: Record<string, ProjectExpectation>,
  failed: Record<string, string>,
  due: Set<string>,
  ask: (ref: string) => Promise<string>,
  runs: (ids: Set<string>, digest: string) => Promise<boolean>,
): Promise<PendingUpdate[]> {
  const out: PendingUpdate[] = [];
  for (const [ref, ids] of followedImages(expected, due)) {
    let digest: string;
    try {
      digest = await ask(ref);
    } catch (err) {
      log.warn(`image updates: cannot check ${ref}: ${errorMessage(err).split("\n")[0]}`);
      continue;
    }
    if (await runs(ids, digest)) continue;
    if (failed[ref] === digest) {
      log.debug(`image updates: ${ref} ${digest.slice(0, 19)} failed before; waiting for another push`);
      continue;
    }
    out.push({ ref, digest });
  }
  return out;
}
