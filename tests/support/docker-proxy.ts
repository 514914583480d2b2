// A unix-socket proxy in front of the real Docker engine, for tests: it records every request
// Konta makes (method, path, headers) so tests can count engine write calls, and it can answer
// some requests itself to inject faults the real engine will not produce on demand.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOCKET } from "./docker.ts";

export interface ProxiedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export type Injector = (req: Request, path: string) => Response | undefined | Promise<Response | undefined>;

export interface DockerProxy {
  socket: string;
  /** DOCKER_HOST value for the konta process */
  host: string;
  requests: ProxiedRequest[];
  writes(): ProxiedRequest[];
  inject(fn: Injector | undefined): void;
  close(): void;
}

/** A proxy in front of the engine at `target` (the test engine unless told; a swarm manager's socket). */
export function startDockerProxy(target = SOCKET): DockerProxy {
  const dir = mkdtempSync(join(tmpdir(), "konta-dproxy-"));
  const socket = join(dir, "docker.sock");
  const requests: ProxiedRequest[] = [];
  let injector: Injector | undefined;
  const server = Bun.serve({
    unix: socket,
    async fetch(req, srv) {
      // an engine under load can take longer than Bun's default 10 s to answer (a start on vfs, a
      // pull): the proxy must not be what times out
      srv.timeout(req, 0);
      const url = new URL(req.url);
      const path = url.pathname + url.search;
      requests.push({ method: req.method, path, headers: Object.fromEntries(req.headers.entries()) });
      const injected = await injector?.(req, path);
      if (injected) return injected;
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
      const headers = new Headers(req.headers);
      headers.delete("host");
      return fetch(`http://localhost${path}`, { method: req.method, headers, body, unix: target, decompress: false } as RequestInit);
    },
  });
  return {
    socket,
    host: `unix://${socket}`,
    requests,
    writes: () => requests.filter((r) => r.method !== "GET" && r.method !== "HEAD"),
    inject: (fn) => {
      injector = fn;
    },
    close: () => {
      server.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
