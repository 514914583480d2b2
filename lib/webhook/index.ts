// `konta webhook`: one HTTP request, socket-activated by systemd (konta-webhook.socket, Accept=yes),
// read from stdin and answered on stdout. Nothing stays resident: an accepted push only starts
// konta.service, so the deploy runs in the timer's sandbox, under the same lock.
// The decision is pure (decide); reading and answering the socket is readRequest/formatResponse.
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
  200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed",
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

/** What to answer, and whether to deploy. `branch` is repository.branch (a branch or a tag). */
export function decide(req: WebhookRequest, secret: string, branch: string): WebhookAnswer {
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
  if (ref !== undefined && ref !== `refs/heads/${branch}` && ref !== `refs/tags/${branch}` && ref !== branch) {
    return { status: 202, reason: `ignored: a push to ${ref}; Konta deploys ${branch}`, deploy: false };
  }
  return { status: 202, reason: "accepted: konta.service started", deploy: true };
}

export function formatResponse(status: number, reason: string): string {
  const body = `${JSON.stringify({ status, reason })}\n`;
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${status === 405 ? "Allow: POST\r\n" : ""}Connection: close\r\n\r\n${body}`;
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
