// Each deploy's result on its commit, where the person who pushed it looks: a commit status on
// GitHub (POST /repos/{owner}/{repo}/statuses/{sha}), GitLab (POST /projects/{id}/statuses/{sha})
// or Gitea and Forgejo (Gitea's API, the same path as GitHub's). A status that cannot be posted
// (the provider down, slow, refusing) never holds a deploy up: it waits in <state>/report-queue.json
// for the next run, and a newer status of the same commit replaces it there.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { ofetch } from "ofetch";
import { errorMessage } from "../base/errors.ts";
import { writeFileAtomic } from "../base/fsutil.ts";
import { log } from "../base/log.ts";
import { redact } from "../base/redact.ts";
import { parseSshUrl } from "../git/url.ts";

export type StatusState = "pending" | "success" | "failure" | "error";

export interface CommitStatus {
  sha: string;
  state: StatusState;
  description: string;
}

export interface Reporter {
  provider: "github" | "gitlab" | "gitea";
  /** the API's base URL */
  url: string;
  token: string;
  /** owner/repo (GitLab: the project's full path) */
  repo: string;
  /** konta/<host>[/<instance>]: several servers deploying one repository show side by side */
  context: string;
  /** the status page, when it has a public address */
  targetUrl?: string;
  timeoutMs: number;
}

/** owner/repo (GitLab: group/subgroup/project) of a clone URL, HTTPS or SSH. */
export function repoPath(url: string): string {
  const ssh = parseSshUrl(url);
  const path = ssh ? ssh.path : new URL(url).pathname;
  return path.replace(/^\/+/, "").replace(/\.git$/, "").replace(/\/+$/, "");
}

/** The providers' limits on a status's description (GitHub: 140 characters). */
const LIMIT = { github: 140, gitea: 255, gitlab: 255 } as const;

function describe(r: Reporter, s: CommitStatus): string {
  const text = redact(s.description.replace(/\s+/g, " ").trim());
  const max = LIMIT[r.provider];
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The request that posts `s`, as each provider documents it. Pure. */
export function statusRequest(r: Reporter, s: CommitStatus): { method: "POST"; url: string; headers: Record<string, string>; body: Record<string, string> } {
  const description = describe(r, s);
  const link: Record<string, string> = r.targetUrl ? { target_url: r.targetUrl } : {};
  if (r.provider === "gitlab") {
    // GitLab's states: pending, running, success, failed, canceled; `name` is its context
    const state = s.state === "success" ? "success" : s.state === "pending" ? "running" : "failed";
    return {
      method: "POST",
      url: `${r.url}/projects/${encodeURIComponent(r.repo)}/statuses/${s.sha}`,
      headers: { "PRIVATE-TOKEN": r.token, "Content-Type": "application/json" },
      body: { state, name: r.context, description, ...link },
    };
  }
  const headers: Record<string, string> =
    r.provider === "github"
      ? { Authorization: `Bearer ${r.token}`, Accept: "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json" }
      : { Authorization: `token ${r.token}`, Accept: "application/json", "Content-Type": "application/json" };
  return { method: "POST", url: `${r.url}/repos/${r.repo}/statuses/${s.sha}`, headers, body: { state: s.state, context: r.context, description, ...link } };
}

/** Post one status; throws what went wrong (redacted). */
export async function postStatus(r: Reporter, s: CommitStatus): Promise<void> {
  const req = statusRequest(r, s);
  await ofetch(req.url, { method: req.method, headers: req.headers, body: req.body, timeout: r.timeoutMs, retry: 0 });
}

/** The statuses still to post, oldest first: each commit's newest only. */
export function queue(waiting: CommitStatus[], fresh: CommitStatus[]): CommitStatus[] {
  const all = [...waiting, ...fresh];
  return all.filter((s, i) => !all.slice(i + 1).some((later) => later.sha === s.sha)).slice(-20);
}

function readQueue(file: string): CommitStatus[] {
  if (!existsSync(file)) return [];
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as CommitStatus[];
    return Array.isArray(v) ? v.filter((s) => typeof s?.sha === "string" && typeof s.state === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Post what waited from earlier runs and `fresh`, in order; what cannot be posted waits for the
 * next run. Never throws: a provider's trouble is a warning, the deploy stands.
 */
export async function report(r: Reporter, queueFile: string, fresh: CommitStatus[]): Promise<void> {
  const waiting = readQueue(queueFile);
  const pending = queue(waiting, fresh);
  const left: CommitStatus[] = [];
  for (const s of pending) {
    if (left.length) {
      left.push(s);
      continue;
    }
    try {
      await postStatus(r, s);
      log.debug(`report: ${s.state} on ${s.sha.slice(0, 12)} (${r.provider})`);
    } catch (err) {
      log.warn(`report: could not post the ${s.state} status of ${s.sha.slice(0, 12)} to ${r.provider} (${redact(errorMessage(err)).split("\n")[0]}); the next run tries again`);
      left.push(s);
    }
  }
  try {
    if (left.length) writeFileAtomic(queueFile, JSON.stringify(left), 0o600);
    else if (waiting.length) rmSync(queueFile, { force: true });
  } catch (err) {
    log.warn(`report: could not keep the statuses to post (${errorMessage(err)})`);
  }
}

/** Whether statuses wait for a later run (an idle tick posts them). */
export function hasQueued(queueFile: string): boolean {
  return existsSync(queueFile);
}
