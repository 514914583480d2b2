// The kept releases with what is known of each: commit message and date (from state or the Git
// cache), whether it is live, and whether it is the target of a plain `konta rollback`.
import { commitInfo } from "../git/index.ts";
import type { Runtime } from "./runtime.ts";
import { readState, rollbackTarget } from "../state/index.ts";

export interface ReleaseEntry {
  sha: string;
  message: string;
  author: string;
  date: string;
  createdAt: string;
  live: boolean;
  rollbackTarget: boolean;
}

export async function listReleases(rt: Runtime): Promise<ReleaseEntry[]> {
  const { state } = readState(rt.paths.state);
  const live = rt.store.current();
  const target = rollbackTarget(state, (s) => rt.store.has(s));
  return Promise.all(
    rt.store.list().map(async (r) => {
      const known = state.history.find((h) => h.sha === r.sha) ?? (await commitInfo(rt.paths.repo, r.sha).catch(() => undefined));
      return {
        sha: r.sha,
        message: known?.message ?? "",
        author: known?.author ?? "",
        date: known?.date ?? "",
        createdAt: r.createdAt.toISOString(),
        live: r.sha === live,
        rollbackTarget: r.sha === target,
      };
    }),
  );
}
