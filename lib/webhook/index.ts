// `konta webhook`: one HTTP request, socket-activated by systemd (konta-webhook.socket, Accept=yes),
// read from stdin and answered on stdout. Nothing stays resident: an accepted push only starts
// konta.service, so the deploy runs in the timer's sandbox, under the same lock; GET answers the
// status page, status.json and metrics behind Basic auth.
// The decisions are pure (route, decide); reading and answering the socket is readRequest/formatHttp.
import { timingSafeEqual } from "node:crypto";

export const MAX_BODY = 1024 * 1024;
const MAX_HEAD = 16 * 1024;

export interface WebhookRequest {
  method: string;
  path: string;
  /** lower-case names */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface WebhookAnswer {
  status: number;
  reason: string;
  /** start konta.service */
  deploy: boolean;
}

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
  408: "Request Timeout", 411: "Length Required", 413: "Content Too Large", 500: "Internal Server Error",
};

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // compared in constant time; a length difference says nothing about the secret's content
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Which of the supported ways the request proves it knows the secret, and whether it does. */
function authenticated(req: WebhookRequest, secret: string): boolean {
  const github = req.headers["x-hub-signature-256"];
  if (github !== undefined) {
    const mac = new Bun.CryptoHasher("sha256", secret).update(req.body).digest("hex");
    return sameSecret(github, `sha256=${mac}`);
  }
  const gitlab = req.headers["x-gitlab-token"];
  if (gitlab !== undefined) return sameSecret(gitlab, secret);
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
  if (bearer !== undefined) return sameSecret(bearer, secret);
  return false;
}

export type StatusPage = "html" | "json" | "metrics";

const PAGES: Record<string, StatusPage> = { "/": "html", "/status.json": "json", "/metrics": "metrics" };

/** What a request is: a push for the webhook, a page of the status read model, or a refusal. */
export type Route = { kind: "webhook" } | { kind: "page"; page: StatusPage } | { kind: "refuse"; status: number; reason: string };

/** The status page's Basic auth: any user name, the password compared in constant time (over digests, so not even its length shows). */
export function basicAuthOk(header: string | undefined, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!m) return false;
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return false;
  const digest = (v: string) => new Bun.CryptoHasher("sha256").update(v).digest();
  return timingSafeEqual(digest(decoded.slice(i + 1)), digest(password));
}

/**
 * POST is the webhook. GET and HEAD read the status routes; with no status.password set they do not
 * exist (404). A path that is not a route is 404 with or without auth (the routes are documented);
 * a route without the password is 401.
 */
export function route(req: WebhookRequest, password: string | undefined): Route {
  if (req.method === "POST") return { kind: "webhook" };
  if (req.method !== "GET" && req.method !== "HEAD") return { kind: "refuse", status: 405, reason: "only GET, HEAD and POST are accepted" };
  const page = PAGES[req.path.split("?")[0] ?? ""];
  if (!password || !page) return { kind: "refuse", status: 404, reason: password ? "no such page (/, /status.json, /metrics)" : "not found" };
  if (!basicAuthOk(req.headers.authorization, password)) return { kind: "refuse", status: 401, reason: "the status page needs the password (HTTP Basic auth, any user name)" };
  return { kind: "page", page };
}

/** A repository URL reduced to host/path, so that https://, ssh:// and git@host:path forms of one repository compare equal. */
export function repositoryKey(url: string): string {
  let u = url.trim().toLowerCase();
  const scp = /^[^/@]+@([^:/]+):(.+)$/.exec(u);
  if (scp) u = `${scp[1]}/${scp[2]}`;
  else u = u.replace(/^[a-z+]+:\/\//, "").replace(/^[^@/]*@/, "").replace(/^([^/:]+):\d+/, "$1");
  return u.replace(/\/+$/, "").replace(/\.git$/, "");
}

/** The repository URLs a push names (GitHub, Gitea, GitLab); none for a bare request. */
export function pushedRepositories(body: Uint8Array): string[] {
  try {
    const p = JSON.parse(new TextDecoder().decode(body)) as { repository?: Record<string, unknown>; project?: Record<string, unknown> };
    const keys = ["clone_url", "ssh_url", "git_url", "html_url", "url", "git_http_url", "git_ssh_url", "web_url", "http_url"];
    return [p.repository, p.project].flatMap((o) => (o ? keys.map((k) => o[k]).filter((v): v is string => typeof v === "string") : []));
  } catch {
    return [];
  }
}

/** One instance a push may be for. */
export interface PushTarget {
  name: string;
  secret?: string;
  branch: string;
  /** repository.tag: any pushed tag may be the newest it selects */
  tags?: boolean;
  url: string;
}

/**
 * A push to a server with several instances: the ones whose secret signs it, whose branch it is
 * and whose repository it names (when it names one) are started. Signed for none: 401. Signed, but
 * for no instance's repository and branch: 202 with the reason, nothing started.
 */
export function routePush(req: WebhookRequest, targets: PushTarget[]): WebhookAnswer & { start: string[] } {
  const signed = targets.filter((t) => t.secret);
  if (!signed.length) return { status: 500, reason: "the webhook is not configured", deploy: false, start: [] };
  const answers = signed.map((t) => ({ t, a: decide(req, t.secret as string, t.branch, t.tags) }));
  const authentic = answers.filter(({ a }) => a.status !== 401);
  if (!authentic.length) return { ...(answers[0] as { a: WebhookAnswer }).a, start: [] };
  const repos = pushedRepositories(req.body).map(repositoryKey);
  const named = (t: PushTarget) => !repos.length || repos.includes(repositoryKey(t.url));
  const start = authentic.filter(({ t, a }) => a.deploy && named(t)).map(({ t }) => t.name);
  if (start.length) return { status: 202, reason: `accepted: ${start.length === 1 && start[0] === "default" ? "konta.service started" : `started ${start.join(", ")}`}`, deploy: true, start };
  const first = (authentic[0] as { a: WebhookAnswer }).a;
  if (!first.deploy) return { ...first, start: [] };
  return { status: 202, reason: "ignored: no instance here deploys that repository and branch", deploy: false, start: [] };
}

/** What to answer, and whether to deploy. `branch` is repository.branch (a branch or a tag); `tags`: repository.tag is set (a tag push may bring the newest). */
export function decide(req: WebhookRequest, secret: string, branch: string, tags = false): WebhookAnswer {
  if (req.method !== "POST") return { status: 405, reason: "only POST is accepted", deploy: false };
  if (!authenticated(req, secret)) return { status: 401, reason: "missing or wrong signature (X-Hub-Signature-256, X-Gitlab-Token or Authorization: Bearer)", deploy: false };
  if (req.headers["x-github-event"] === "ping") return { status: 200, reason: "pong", deploy: false };
  let payload: { ref?: unknown } = {};
  if (req.body.length) {
    try {
      payload = JSON.parse(new TextDecoder().decode(req.body)) ?? {};
    } catch {
      return { status: 400, reason: "the body is not JSON", deploy: false };
    }
  }
  const ref = typeof payload.ref === "string" ? payload.ref : undefined;
  const wanted = tags ? ref?.startsWith("refs/tags/") : ref === `refs/heads/${branch}` || ref === `refs/tags/${branch}` || ref === branch;
  if (ref !== undefined && !wanted) {
    return { status: 202, reason: `ignored: a push to ${ref}; Konta deploys ${tags ? "tags" : branch}`, deploy: false };
  }
  return { status: 202, reason: "accepted: konta.service started", deploy: true };
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
  /** HEAD: the headers of the answer without its body */
  head?: boolean;
  /** more header lines, "Name: value" */
  headers?: string[];
}

/** The header a 401 of the status routes carries, so that a browser asks for the password. */
export const BASIC_CHALLENGE = 'WWW-Authenticate: Basic realm="konta", charset="UTF-8"';

const SECURITY_HEADERS = "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n";

export function formatHttp(a: HttpAnswer): string {
  const extra = [...(a.status === 405 ? ["Allow: GET, HEAD, POST"] : []), ...(a.headers ?? [])].map((h) => `${h}\r\n`).join("");
  return `HTTP/1.1 ${a.status} ${STATUS_TEXT[a.status] ?? "Status"}\r\nContent-Type: ${a.contentType}\r\nContent-Length: ${Buffer.byteLength(a.body)}\r\n${extra}${SECURITY_HEADERS}Connection: close\r\n\r\n${a.head ? "" : a.body}`;
}

/** A JSON answer: {status, reason}. */
export function formatResponse(status: number, reason: string, opts: { head?: boolean; headers?: string[] } = {}): string {
  return formatHttp({ status, contentType: "application/json", body: `${JSON.stringify({ status, reason })}\n`, ...opts });
}

/**
 * Read one request from `stream`: head up to 16 KB, a Content-Length body up to 1 MB, all of it
 * within `timeoutMs` (a slow client gets 408, not a process that hangs).
 */
export async function readRequest(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<WebhookRequest> {
  const reader = stream.getReader();
  let buf = new Uint8Array(0);
  const deadline = Date.now() + timeoutMs;
  const more = async (): Promise<boolean> => {
    const left = deadline - Date.now();
    if (left <= 0) throw new RequestError(408, "the request did not arrive in time");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RequestError(408, "the request did not arrive in time")), left);
    });
    try {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) return false;
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
      return true;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    let end = -1;
    while ((end = Buffer.from(buf.buffer, buf.byteOffset, buf.length).indexOf("\r\n\r\n")) < 0) {
      if (buf.length > MAX_HEAD) throw new RequestError(413, "request head too large");
      if (!(await more())) throw new RequestError(400, "the request ended before its head did");
    }
    // a head that came in one piece is held to the same bound
    if (end > MAX_HEAD) throw new RequestError(413, "request head too large");
    const head = new TextDecoder().decode(buf.subarray(0, end)).split("\r\n");
    const [method = "", path = ""] = (head[0] ?? "").split(" ");
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    if (headers["transfer-encoding"]) throw new RequestError(411, "send the body with a Content-Length");
    const length = Number(headers["content-length"] ?? 0);
    if (!Number.isInteger(length) || length < 0) throw new RequestError(400, "bad Content-Length");
    if (length > MAX_BODY) throw new RequestError(413, `the body is over ${MAX_BODY} bytes`);
    const start = end + 4;
    while (buf.length - start < length) {
      if (!(await more())) throw new RequestError(400, "the body ended before its Content-Length");
    }
    return { method, path, headers, body: buf.subarray(start, start + length) };
  } finally {
    reader.releaseLock();
  }
}
