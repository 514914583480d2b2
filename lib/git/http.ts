// HTTP for the Git side: fetch with an idle timeout, and retries with exponential backoff and
// jitter for network faults and 5xx. 4xx answers go to the caller untouched, so it can say
// "authentication failed" at once instead of retrying a bad token. Bodies are handed over chunk by
// chunk: a pack is written to disk as it arrives, never held whole.
import { log } from "../base/log.ts";
import { redact } from "../base/redact.ts";

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

/** The connection failed while the body was being read: the attempt is retried. */
class BodyReadError extends Error {}

export interface HttpRequest {
  url: string;
  method?: "GET" | "POST";
  headers: Record<string, string>;
  body?: Uint8Array;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  contentType: string;
  /** the body, read under the idle timeout; a connection lost mid-body retries the whole request */
  body: AsyncIterable<Uint8Array>;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  // "equal jitter": half fixed, half random, so retries from many hosts spread out
  return exp / 2 + random() * (exp / 2);
}

async function* idleTimed(res: Response, controller: AbortController, idleMs: number): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const arm = () => setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
  let timer = arm();
  try {
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (err) {
        throw new BodyReadError(describeNetworkError(err));
      }
      clearTimeout(timer);
      if (step.done) return;
      yield step.value;
      timer = arm();
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/**
 * Send `req`, retrying network faults and 5xx, and let `consume` read the answer. Errors that
 * `consume` throws itself (a protocol error, a full disk) are not retried.
 */
export async function requestWithRetries<T>(
  policy: RetryPolicy,
  req: HttpRequest,
  consume: (answer: HttpAnswer) => Promise<T>,
  sleep = (ms: number) => Bun.sleep(ms),
): Promise<T> {
  const method = req.method ?? "GET";
  const where = `${method} ${redact(req.url.replace(/\?.*$/, ""))}`;
  let lastError = "";
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) {
      const delay = backoffDelay(attempt - 1, policy);
      log.warn(`git: ${lastError}; retry ${attempt}/${policy.retries} in ${(delay / 1000).toFixed(1)}s`);
      await sleep(delay);
    }
    const controller = new AbortController();
    const headerTimer = setTimeout(() => controller.abort(new Error(`no answer within ${policy.idleTimeoutMs} ms`)), policy.idleTimeoutMs);
    let res: Response;
    try {
      res = await fetch(req.url, { method, headers: req.headers, body: req.body, signal: controller.signal, redirect: "follow" });
    } catch (err) {
      lastError = `${where} failed: ${redact(describeNetworkError(err))}`;
      continue;
    } finally {
      clearTimeout(headerTimer);
    }
    if (RETRY_STATUS.has(res.status)) {
      lastError = `${where} answered HTTP ${res.status}`;
      await res.body?.cancel().catch(() => {});
      continue;
    }
    try {
      const body = idleTimed(res, controller, policy.idleTimeoutMs);
      return await consume({ status: res.status, statusText: res.statusText, contentType: res.headers.get("content-type") ?? "", body });
    } catch (err) {
      if (!(err instanceof BodyReadError)) throw err;
      lastError = `${where} failed: ${redact(err.message)}`;
    }
  }
  throw new TransientHttpError(`${lastError} (gave up after ${policy.retries + 1} attempts)`, policy.retries + 1);
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === "ConnectionRefused" || e?.code === "ECONNREFUSED") return "connection refused";
  if (e?.code === "ECONNRESET" || /reset|socket connection was closed/i.test(e?.message ?? "")) return "connection reset";
  const msg = e?.message ?? String(err);
  return msg === "The operation was aborted." || e?.code === "ABORT_ERR" ? "timed out" : msg;
}
