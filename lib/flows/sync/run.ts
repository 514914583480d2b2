// What one `konta sync` carries from its start to its report: the runtime, the options, the state
// being written, the live release, and the helpers every path (idle, deploy, failure) uses.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadedProject } from "../../compose/index.ts";
import type { ExitCode } from "../../base/errors.ts";
import { type HookContext, type HookEvent, hookPath, runHook } from "../../hooks/index.ts";
import { redact } from "../../base/redact.ts";
import { peakRssBytes } from "../../base/host.ts";
import type { Summary } from "../../base/summary.ts";
import type { DriftItem } from "../../targets/index.ts";
import type { Plan } from "../../targets/engine/plan.ts";
import type { StackPlan } from "../../targets/swarm/stack.ts";
import { type AttemptResult, type State, writeState } from "../../state/index.ts";
import type { PendingUpdate } from "../image-updates.ts";
import type { Runtime } from "../runtime.ts";

export interface SyncOptions {
  /** retry a remembered failed commit and show progress */
  now?: boolean;
  /** plan only, change nothing */
  dryRun?: boolean;
  /** seconds to wait for another run's lock */
  wait?: number;
}

export interface SyncReport {
  result: AttemptResult | "planned";
  exitCode: ExitCode;
  message: string;
  sha?: string;
  previous?: string;
  summary?: Summary;
  plan?: Plan;
  /** deploy.target: swarm: the plan, per stack */
  stacks?: StackPlan[];
  /** the release's projects, for explaining a plan */
  projects?: LoadedProject[];
  drift?: DriftItem[];
  error?: string;
  hint?: string;
  /** a failed deploy: the touched projects were put back to the live release */
  rolledBack?: boolean;
  durationMs: number;
}

// The loader, planner, engine code and the Git object code load only when there is something to fetch or
// converge: an idle tick runs without them (its peak RSS is a target).
export const targetModule = () => import("../../targets/index.ts");
export const gitModule = () => import("../../git/index.ts");

/** deployed: a new commit; repaired: drift on the live release; updated: moved image tags on it. */
export type ConvergeMode = "deployed" | "repaired" | "updated";

export class SyncRun {
  readonly started = Date.now();
  state!: State;
  live: string | undefined;
  /** the moved tags an "updated" converge is deploying */
  updates: PendingUpdate[] = [];

  constructor(
    readonly rt: Runtime,
    readonly opts: SyncOptions,
  ) {}

  /** image references an "updated" converge is bringing (none for a deploy or a repair) */
  updatedImages(): string[] {
    return this.updates.map((u) => u.ref);
  }

  report(r: Omit<SyncReport, "durationMs">): SyncReport {
    return { ...r, durationMs: Date.now() - this.started };
  }

  attempt(result: AttemptResult, sha: string | undefined, error?: string): void {
    this.state.lastAttempt = { sha, at: new Date().toISOString(), result, durationMs: Date.now() - this.started, peakRssBytes: peakRssBytes(), ...(error ? { error: redact(error) } : {}) };
    if (!this.opts.dryRun) writeState(this.rt.paths.state, this.state);
  }

  /** Run a hook of release `sha` if it has one; success and failure hooks get a JSON summary file. */
  async hook(event: HookEvent, sha: string, projects: string[], result?: { summary: Summary; error?: string }): Promise<number | undefined> {
    const ctx: HookContext = { commit: sha, previous: this.live, releaseDir: this.rt.store.root(sha), projects, error: result?.error };
    if (!hookPath(ctx.releaseDir, event, this.rt.config.hooks.files?.[event])) return undefined;
    if (result) {
      ctx.summaryFile = join(this.rt.runDir(), "summary.json");
      const images = this.updatedImages();
      const doc = { commit: sha, previous: this.live ?? null, projects, ...result.summary, ...(images.length ? { images } : {}), error: result.error ? redact(result.error) : null };
      writeFileSync(ctx.summaryFile, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
      ctx.args = result.error !== undefined ? [redact(result.error)] : [originalResult(result.summary)];
    }
    return (await runHook(event, ctx, this.rt.config.hooks)).exitCode;
  }
}

/** The original Konta's `$1` for success.sh: the projects each kind of change touched. */
function originalResult(s: Summary): string {
  const projects = (list: string[]) => [...new Set(list.map((x) => x.split("/")[0] as string))];
  return JSON.stringify({ updated: projects(s.updated), added: projects(s.added), removed: projects(s.removed), started: projects(s.started) });
}
