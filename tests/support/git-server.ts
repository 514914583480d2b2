// A real Git smart-HTTP remote for tests: `git http-backend` behind node:http on 127.0.0.1,
// with HTTP Basic token auth and switchable faults. Runnable on its own for the demo and benches:
//   bun tests/support/git-server.ts --root <dir> [--token T] [--port P]
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "status"; status: number; count: number } // answer `status` to the next `count` requests
  | { kind: "reset"; count: number } // destroy the socket without an answer
  | { kind: "delay"; ms: number; count: number } // hold the answer back
  | { kind: "garbage"; count: number }; // 200 with a body that is not Git

export interface RequestRecord {
  method: string;
  path: string;
  authorized: boolean;
  authorization?: string;
}

export interface GitServer {
  url: string; // http://127.0.0.1:<port>
  port: number;
  root: string;
  token: string | undefined;
  requests: RequestRecord[];
  repoUrl(name: string): string;
  inject(fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface GitServerOptions {
  root: string; // GIT_PROJECT_ROOT: bare repositories live here
  token?: string; // when set, every request needs Basic auth with this password
  username?: string; // when set, and that user name (GitLab's oauth2, a Bitbucket user); else any
  port?: number;
  host?: string;
}

export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const faults: Fault[] = [];
  const requests: RequestRecord[] = [];
  const expected = opts.token;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const authHeader = req.headers.authorization;
    const authorized = expected === undefined || (basicPassword(authHeader) === expected && (!opts.username || basicUser(authHeader) === opts.username));
    requests.push({ method: req.method ?? "GET", path: url.pathname + url.search, authorized, authorization: authHeader });

    const fault = faults[0];
    if (fault) {
      fault.count -= 1;
      if (fault.count <= 0) faults.shift();
      if (fault.kind === "reset") return void req.socket.destroy();
      if (fault.kind === "status") return void res.writeHead(fault.status, { "content-type": "text/plain" }).end(`injected ${fault.status}\n`);
      if (fault.kind === "garbage") return void res.writeHead(200, { "content-type": "application/x-git-upload-pack-advertisement" }).end("this is not git\n");
      // a client that gave up meanwhile is not answered (nor kept waiting for: the timer does not hold the process)
      if (fault.kind === "delay") {
        let gone = false;
        res.on("close", () => (gone = true));
        return void setTimeout(() => gone || serve(req, res, url, authorized), fault.ms).unref();
      }
    }
    serve(req, res, url, authorized);
  });

  function serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL, authorized: boolean) {
    if (!authorized) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="konta-test"', "content-type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: opts.root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ""),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: "konta-test",
        REMOTE_ADDR: "127.0.0.1",
        GIT_HTTP_MAX_REQUEST_BUFFER: "100M",
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) } : {}),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headerDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headerDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const sep = head.indexOf("\r\n\r\n");
      if (sep < 0) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, sep).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const key = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (key.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(sep + 4));
    });
    child.stdout.on("end", () => {
      if (!headerDone) res.writeHead(502).end("git http-backend gave no answer\n");
      else res.end();
    });
    child.on("error", () => res.writeHead(500).end());
  }

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const base = `http://${opts.host ?? "127.0.0.1"}:${port}`;
  return {
    url: base,
    port,
    root: opts.root,
    token: expected,
    requests,
    repoUrl: (name) => `${base}/${name}.git`,
    inject: (fault) => void faults.push({ ...fault }),
    clearFaults: () => void faults.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function basicUser(header: string | undefined): string | undefined {
  if (!header?.startsWith("Basic ")) return undefined;
  return Buffer.from(header.slice(6), "base64").toString("utf8").split(":")[0];
}

function basicPassword(header: string | undefined): string | undefined {
  if (!header?.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const i = decoded.indexOf(":");
  return i < 0 ? undefined : decoded.slice(i + 1);
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const root = arg("root");
  if (!root) {
    console.error("usage: bun tests/support/git-server.ts --root <dir> [--token T] [--port P]");
    process.exit(2);
  }
  const s = await startGitServer({ root, token: arg("token"), port: Number(arg("port") ?? 0) });
  console.log(s.url);
}
