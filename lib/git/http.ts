// The HTTP client isomorphic-git talks through: fetch with an idle timeout, and retries with
// exponential backoff and jitter for network faults and 5xx. 4xx answers are returned untouched,
// so the caller can say "authentication failed" at once instead of retrying a bad token.
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import { log } from "../log.ts";
import { redact } from "../redact.ts";

export interface RetryPolicy {
  /** retries after the first attempt */
  retries: number;
  /** abort a request when no byte arrived for this long */
  idleTimeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export class TransientHttpError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  // "equal jitter": half fixed, half random, so retries from many hosts spread out
  return exp / 2 + random() * (exp / 2);
}

async function collect(body: GitHttpRequest["body"]): Promise<Uint8Array | undefined> {
  if (!body) return undefined;
  const parts: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Read the whole body under an idle timeout, so a stalled server fails the attempt and gets retried. */
async function readAll(res: Response, controller: AbortController, idleMs: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(parts);
}

async function once(req: GitHttpRequest, body: Uint8Array | undefined, idleMs: number): Promise<{ res: Response; data: Uint8Array }> {
  const controller = new AbortController();
  const headerTimer = setTimeout(() => controller.abort(new Error(`no answer within ${idleMs} ms`)), idleMs);
  try {
    const res = await fetch(req.url, {
      method: req.method ?? "GET",
      headers: req.headers,
      body,
      signal: controller.signal,
      redirect: "follow",
    });
    clearTimeout(headerTimer);
    return { res, data: await readAll(res, controller, idleMs) };
  } finally {
    clearTimeout(headerTimer);
  }
}

export function retryingHttp(policy: RetryPolicy, sleep = (ms: number) => Bun.sleep(ms)): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = await collect(req.body);
      const where = redact(req.url.replace(/\?.*$/, ""));
      let lastError = "";
      for (let attempt = 0; attempt <= policy.retries; attempt++) {
        if (attempt > 0) {
          const delay = backoffDelay(attempt - 1, policy);
          log.warn(`git: ${lastError}; retry ${attempt}/${policy.retries} in ${(delay / 1000).toFixed(1)}s`);
          await sleep(delay);
        }
        try {
          const { res, data } = await once(req, body, policy.idleTimeoutMs);
          if (RETRY_STATUS.has(res.status)) {
            lastError = `${req.method ?? "GET"} ${where} answered HTTP ${res.status}`;
            continue;
          }
          return {
            url: res.url,
            method: req.method,
            statusCode: res.status,
            statusMessage: res.statusText,
            headers: Object.fromEntries(res.headers.entries()),
            body: [data] as unknown as AsyncIterableIterator<Uint8Array>,
          };
        } catch (err) {
          lastError = `${req.method ?? "GET"} ${where} failed: ${redact(describeNetworkError(err))}`;
        }
      }
      throw new TransientHttpError(`${lastError} (gave up after ${policy.retries + 1} attempts)`, policy.retries + 1);
    },
  };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { message?: string } };
  if (e?.code === "ConnectionRefused" || e?.code === "ECONNREFUSED") return "connection refused";
  if (e?.code === "ECONNRESET" || /reset|socket connection was closed/i.test(e?.message ?? "")) return "connection reset";
  const msg = e?.message ?? String(err);
  return msg === "The operation was aborted." || e?.code === "ABORT_ERR" ? "timed out" : msg;
}
