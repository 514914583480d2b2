// Lifecycle hooks from the release: hooks/{pre,success,failure,post_update}.sh, run with bash
// from the release directory, in their own process group (a timeout kills the hook and every
// child), with a minimal environment: nothing of Konta's own environment (tokens!) leaks in.
import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { HooksConfig } from "../config/types.ts";
import { InputError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { redact } from "../base/redact.ts";
import { isInside } from "../base/fsutil.ts";
import { userHome } from "../base/host.ts";

export type HookEvent = "pre" | "success" | "failure" | "post_update";

export interface HookContext {
  commit: string;
  previous?: string;
  /** folder holding apps/ and hooks/ in the release */
  releaseDir: string;
  projects: string[];
  error?: string;
  summaryFile?: string;
  /** positional arguments, as the original Konta passes them (success: result JSON, failure: the error) */
  args?: string[];
}

export interface HookResult {
  ran: boolean;
  exitCode?: number;
  timedOut?: boolean;
}

const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const KILL_GRACE_MS = 3000;

/** The documented hook environment, and nothing else. */
export function hookEnvironment(event: HookEvent, ctx: HookContext): Record<string, string> {
  const env: Record<string, string> = {
    PATH: SAFE_PATH,
    HOME: userHome(),
    LANG: "C.UTF-8",
    KONTA_EVENT: event,
    KONTA_COMMIT: ctx.commit,
    KONTA_PREVIOUS_COMMIT: ctx.previous ?? "",
    KONTA_RELEASE_DIR: ctx.releaseDir,
    KONTA_PROJECTS: ctx.projects.join(" "),
  };
  if (ctx.summaryFile) env.KONTA_SUMMARY = ctx.summaryFile;
  if (event === "failure") env.KONTA_ERROR = redact(ctx.error ?? "");
  return env;
}

export function hookPath(releaseDir: string, event: HookEvent, name = `${event}.sh`): string | undefined {
  const file = join(releaseDir, "hooks", name);
  if (!existsSync(file)) return undefined;
  if (!isInside(realpathSync(releaseDir), realpathSync(file))) {
    throw new InputError(`hooks/${name} is a symlink that leads outside the release; refused`);
  }
  return file;
}

export async function runHook(event: HookEvent, ctx: HookContext, settings: Pick<HooksConfig, "timeout" | "enabled" | "files">): Promise<HookResult> {
  const file = hookPath(ctx.releaseDir, event, settings.files?.[event]);
  if (!file) return { ran: false };
  if (!settings.enabled) {
    log.info(`hooks/${event}.sh skipped: hooks are disabled (hooks.enabled: false)`);
    return { ran: false };
  }
  const timeoutSeconds = settings.timeout;
  const tag = `hook ${event}.sh`;
  log.info(`[${tag}] running`);
  const child = spawn("bash", [file, ...(ctx.args ?? []).map(redact)], {
    cwd: ctx.releaseDir,
    env: hookEnvironment(event, ctx),
    detached: true, // its own process group, so the timeout reaches grandchildren too
    stdio: ["ignore", "pipe", "pipe"],
  });
  const emit = (stream: NodeJS.ReadableStream, warn: boolean) => {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) (warn ? log.warn : log.info)(`[${tag}] ${redact(line)}`);
    });
    stream.on("end", () => rest && (warn ? log.warn : log.info)(`[${tag}] ${redact(rest)}`));
  };
  emit(child.stdout, false);
  emit(child.stderr, true);

  let timedOut = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    log.error(`[${tag}] timed out after ${timeoutSeconds}s; killing it and its children`);
    killGroup("SIGTERM");
    setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS).unref();
  }, timeoutSeconds * 1000);

  const exitCode = await new Promise<number>((resolve) => {
    child.on("error", (err) => {
      log.error(`[${tag}] cannot run: ${err.message}`);
      resolve(127);
    });
    // "exit", not "close": a background grandchild may hold the pipes open
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  clearTimeout(timer);
  // a hook that forked into the background must not outlive its run
  killGroup("SIGKILL");
  if (!timedOut) log.info(`[${tag}] exited with ${exitCode}`);
  return { ran: true, exitCode: timedOut ? 124 : exitCode, timedOut };
}
