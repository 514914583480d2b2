// Docker Engine API client: ofetch over the unix socket, API version negotiated with /_ping.
// Every failure becomes a KontaError that says what to do: socket missing, permission denied,
// engine down (exit 3), or the engine's own message for a refused request.
import { FetchError, ofetch, type $Fetch } from "ofetch";
import { DeployError, UnreachableError } from "../base/errors.ts";
import { log } from "../base/log.ts";

declare module "ofetch" {
  interface FetchOptions {
    unix?: string;
  }
}

export const DEFAULT_SOCKET = "/var/run/docker.sock";
/** Oldest API Konta speaks (Debian's Docker 20.10) and newest it knows of. */
export const MIN_API = "1.41";
export const MAX_API = "1.51";

export function compareApi(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split(".").map(Number);
  const [b1 = 0, b2 = 0] = b.split(".").map(Number);
  return a1 - b1 || a2 - b2;
}

export function socketPath(env: Record<string, string | undefined> = process.env): string {
  const host = env.DOCKER_HOST;
  if (!host) return DEFAULT_SOCKET;
  if (!host.startsWith("unix://")) {
    throw new UnreachableError(`DOCKER_HOST=${host} is not supported; Konta talks to the local engine over a unix socket`, {
      hint: "unset DOCKER_HOST or set it to unix:///var/run/docker.sock",
    });
  }
  return host.slice("unix://".length);
}

/** A refused request: the engine's status and message (e.g. 409 name conflict, 404 no such image). */
export class EngineError extends DeployError {
  constructor(
    readonly status: number,
    readonly engineMessage: string,
    what: string,
  ) {
    super(`${what}: Docker answered ${status}: ${engineMessage}`);
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** what the request is for, for error messages ("create container web-web-1") */
  what?: string;
  timeoutMs?: number;
  responseType?: "json" | "arrayBuffer" | "text";
}

export class DockerClient {
  /** write calls made (anything but GET/HEAD): "nothing to do" must mean zero */
  writes = 0;
  /** containers Konta asked to stop in this run: their `kill` events are Konta's own */
  readonly stopping = new Set<string>();
  private readonly api: $Fetch;

  private constructor(
    readonly socket: string,
    readonly apiVersion: string,
    readonly engineVersion: string,
  ) {
    this.api = ofetch.create({ baseURL: `http://localhost/v${apiVersion}`, unix: socket, retry: 0 });
  }

  static async connect(socket = socketPath()): Promise<DockerClient> {
    let res: Response;
    try {
      res = await ofetch.raw(`http://localhost/_ping`, { method: "HEAD", unix: socket, retry: 0, timeout: 10_000 });
    } catch (err) {
      throw connectionError(err, socket);
    }
    const server = res.headers.get("api-version") ?? MIN_API;
    if (compareApi(server, MIN_API) < 0) {
      throw new UnreachableError(`the Docker engine at ${socket} speaks API ${server}; Konta needs ${MIN_API} or newer (Docker 20.10+)`);
    }
    const version = compareApi(server, MAX_API) > 0 ? MAX_API : server;
    const engine = (res.headers.get("server") ?? "").replace(/^Docker\//, "").split(" ")[0] ?? "";
    log.debug(`docker: ${socket}, engine ${engine || "?"}, API ${version}`);
    return new DockerClient(socket, version, engine);
  }

  atLeast(api: string): boolean {
    return compareApi(this.apiVersion, api) >= 0;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (method !== "GET" && method !== "HEAD") this.writes += 1;
    try {
      return await this.api<T>(path, {
        method: method as "GET",
        query: opts.query,
        body: opts.body as Record<string, unknown>,
        headers: opts.headers,
        timeout: opts.timeoutMs ?? 60_000,
        ...(opts.responseType ? { responseType: opts.responseType as "json" } : {}),
      });
    } catch (err) {
      throw this.failure(err, opts.what ?? `${method} ${path}`);
    }
  }

  /** A request whose answer is a stream of JSON lines (pull, build). */
  async stream(method: string, path: string, opts: RequestOptions & { rawBody?: ReadableStream<Uint8Array> | Uint8Array }): Promise<ReadableStream<Uint8Array>> {
    this.writes += 1;
    try {
      const res = await this.api.raw(path, {
        method: method as "POST",
        query: opts.query,
        body: (opts.rawBody ?? opts.body) as Record<string, unknown>,
        headers: opts.headers,
        responseType: "stream",
        timeout: opts.timeoutMs ?? 30 * 60_000,
      });
      if (!res.body) throw new Error("empty answer");
      return res.body as ReadableStream<Uint8Array>;
    } catch (err) {
      // a refused streaming request has its reason in the (unparsed) body: read it
      const data = err instanceof FetchError && err.data instanceof ReadableStream ? await new Response(err.data).text().then(parseMessage, () => undefined) : undefined;
      throw this.failure(err, opts.what ?? `${method} ${path}`, data);
    }
  }

  /** The engine's event stream (GET /events), open until `signal` aborts or the engine goes away. */
  async events(filters: Record<string, string[]>, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.api.raw("/events", { query: { filters: JSON.stringify(filters) }, responseType: "stream", signal });
    if (!res.body) throw new Error("empty answer");
    return res.body as ReadableStream<Uint8Array>;
  }

  private failure(err: unknown, what: string, body?: { message?: string } | string): Error {
    if (err instanceof FetchError && err.status) {
      const data = body ?? (err.data as { message?: string } | string | undefined);
      const message = typeof data === "string" ? data.trim() : (data?.message ?? err.statusText ?? "");
      return new EngineError(err.status, message, what);
    }
    return connectionError(err, this.socket);
  }
}

function parseMessage(text: string): { message: string } | string {
  try {
    return JSON.parse(text) as { message: string };
  } catch {
    return text;
  }
}

function connectionError(err: unknown, socket: string): UnreachableError {
  const e = err as { cause?: { code?: string }; code?: string; message?: string };
  const code = e?.cause?.code ?? e?.code ?? "";
  if (code === "ENOENT") {
    return new UnreachableError(`the Docker socket ${socket} does not exist`, {
      hint: "is Docker installed and running? (systemctl status docker); set DOCKER_HOST=unix://<path> for another socket",
    });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new UnreachableError(`permission denied on the Docker socket ${socket}`, {
      hint: "run Konta as root (the systemd unit does), or add the user to the docker group",
    });
  }
  if (code === "ECONNREFUSED" || code === "ConnectionRefused") {
    return new UnreachableError(`the Docker engine is not answering on ${socket} (connection refused)`, {
      hint: "start it: systemctl start docker",
    });
  }
  return new UnreachableError(`cannot talk to the Docker engine on ${socket}: ${e?.message ?? String(err)}`, {
    hint: "check that dockerd is running: systemctl status docker",
  });
}

/** Read a JSON-lines progress stream; throws on the first `error` entry (pulls answer 200 even when they fail). */
export async function readJsonStream(stream: ReadableStream<Uint8Array>, onEvent?: (e: Record<string, unknown>) => void): Promise<Record<string, unknown>[]> {
  const decoder = new TextDecoder();
  const events: Record<string, unknown>[] = [];
  let buffer = "";
  const handle = (line: string) => {
    if (!line.trim()) return;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    events.push(event);
    onEvent?.(event);
    const error = event.error ?? (event.errorDetail as { message?: string } | undefined)?.message;
    if (error) throw new StreamError(String(error));
  };
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      handle(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  }
  handle(buffer);
  return events;
}

export class StreamError extends Error {}
