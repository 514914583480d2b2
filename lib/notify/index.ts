// Optional notifications (notify.url): one POST per deploy, failure or rollback, shaped for the
// chosen service. A notification that fails is logged and never fails a deploy.
import { hostname } from "node:os";
import { ofetch } from "ofetch";
import type { NotifyConfig } from "../config/types.ts";
import { errorMessage } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { redact, redactValue } from "../base/redact.ts";
import type { Summary } from "../base/summary.ts";

export interface NotifyEvent {
  event: "success" | "failure" | "rollback";
  commit: string;
  projects: string[];
  summary?: Summary;
  error?: string;
  durationMs: number;
  /** image references whose new image this deploy brought, or failed to (konta.image-updates) */
  images?: string[];
}

export function notificationText(e: NotifyEvent, host: string): string {
  const sha = e.commit.slice(0, 12);
  const images = e.images?.length ? e.images.join(", ") : undefined;
  const what =
    e.event === "success"
      ? images ? `updated ${images} at ${sha}` : `deployed ${sha}`
      : e.event === "rollback"
        ? `rolled back to ${sha}`
        : images ? `update of ${images} at ${sha} failed and was rolled back` : `deploy of ${sha} failed and was rolled back`;
  const projects = e.projects.length ? ` (${e.projects.join(", ")})` : "";
  const error = e.error ? `: ${e.error}` : "";
  return `konta on ${host}: ${what}${projects} in ${(e.durationMs / 1000).toFixed(1)}s${error}`;
}

export function notificationRequest(cfg: NotifyConfig, e: NotifyEvent, host = hostname()): { body: unknown; headers: Record<string, string> } {
  const text = redact(notificationText(e, host));
  switch (cfg.format) {
    case "slack":
      return { body: { text }, headers: {} };
    case "discord":
      return { body: { content: text }, headers: {} };
    case "ntfy":
      return {
        body: text,
        headers: { Title: `konta ${e.event}`, Tags: e.event === "success" ? "white_check_mark" : "warning", Priority: e.event === "failure" ? "high" : "default" },
      };
    default:
      return { body: redactValue({ ...e, host, duration: e.durationMs }), headers: {} };
  }
}

export async function notify(cfg: NotifyConfig | undefined, e: NotifyEvent): Promise<void> {
  if (!cfg) return;
  const { body, headers } = notificationRequest(cfg, e);
  try {
    await ofetch(cfg.url, { method: "POST", body: body as Record<string, unknown>, headers, timeout: cfg.timeout * 1000, retry: 1 });
  } catch (err) {
    log.warn(`notify: POST to ${redact(new URL(cfg.url).origin)} failed (${redact(errorMessage(err))}); the deploy itself is not affected`);
  }
}
