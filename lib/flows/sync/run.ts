// What one `konta sync` carries from its start to its end: the runtime, the options, the state as
// read under the lock (never written here: see ../transition.ts), the live release, and what each
// path (idle, deploy, failure) ends with: a report for the caller and an Outcome to record.
import type { LoadedProject } from "../../compose/index.ts";
import type { ExitCode } from "../../base/errors.ts";
import type { Summary } from "../../base/summary.ts";
import type { DriftItem, PendingUpdate, PlanView } from "../../targets/index.ts";
import type { AttemptResult, State } from "../../state/index.ts";
import type { Trigger } from "../../history/index.ts";
import type { Outcome } from "../transition.ts";
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
  plan?: PlanView;
  /** the release's projects, for explaining a plan */
  projects?: LoadedProject[];
  drift?: DriftItem[];
  error?: string;
  hint?: string;
  /** a failed deploy: the touched projects were put back to the live release */
  rolledBack?: boolean;
  durationMs: number;
}

/** How a path ends: what to tell the caller, and what to record (none for a dry run). */
export interface Ending {
  report: SyncReport;
  outcome?: Outcome;
}

// The Git object code loads only when there is something to fetch: an idle tick runs without it
// (its peak RSS is a target). The targets load their own code as it is used (lib/targets/index.ts).
export const gitModule = () => import("../../git/index.ts");
/** sync.windows: loaded only where windows are configured */
export const windowModule = () => import("../window.ts");

export class SyncRun {
  readonly started = Date.now();
  /** the moved tags an "updated" converge is deploying */
  updates: PendingUpdate[] = [];
  /** the commit this run set out to deploy (what a failure that ends the run names) */
  tried?: string;
  /** repository.tag: the tag the head was selected by (its object, for verify.mode: tag) */
  tag?: { name: string; oid: string };
  /**
   * sync.windows, closed now: `deploy` (a new commit is checked and planned, then waits), `repair`
   * (drift repairs and image updates wait too, unless sync.repair_outside_windows), `opensAt`
   */
  closed?: { deploy: boolean; repair: boolean; opensAt?: Date };
  /** `konta sync --now` outside the windows: it deploys, and the history says so */
  outsideWindow?: boolean;

  constructor(
    readonly rt: Runtime,
    readonly opts: SyncOptions,
    /** state.json as this run found it */
    readonly state: State,
    readonly live: string | undefined,
    readonly trigger: Trigger,
  ) {}

  /** image references an "updated" converge is bringing (none for a deploy or a repair) */
  updatedImages(): string[] {
    return this.updates.map((u) => u.ref);
  }

  report(r: Omit<SyncReport, "durationMs">): SyncReport {
    return { ...r, durationMs: Date.now() - this.started };
  }
}
