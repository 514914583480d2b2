// Stand-ins for the commit-status APIs Konta posts to, written from each provider's documentation
// (no GitHub, GitLab or Gitea server can be installed here):
//   GitHub  "Create a commit status": POST /repos/{owner}/{repo}/statuses/{sha}, Authorization:
//           Bearer <token>; state error|failure|pending|success, target_url, description (at most
//           140 characters), context; 201, or 422 "Validation Failed", 401 "Bad credentials".
//   GitLab  "Set the pipeline status of a commit": POST /projects/:id/statuses/:sha (:id the
//           URL-encoded project path), PRIVATE-TOKEN header; state pending|running|success|failed|
//           canceled, name, target_url, description; 201, 400 on a bad state, 401.
//   Gitea   POST /repos/{owner}/{repo}/statuses/{sha}, Authorization: token <token>; state
//           pending|success|error|failure|warning, target_url, description, context; 201 (Forgejo
//           speaks the same API).
// Each request is recorded as it came; `behave` makes it answer slowly, refuse, or be down.

export type Provider = "github" | "gitlab" | "gitea";

export interface StatusRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export type Behaviour = "ok" | "unauthorized" | "invalid" | { slowMs: number };

export interface StatusApi {
  /** the API base Konta is configured with */
  url: string;
  requests: StatusRequest[];
  /** the statuses it took (201), in order: [sha, state, description] */
  taken: [string, string, string][];
  behave(b: Behaviour): void;
  /** stop answering (connections refused) */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const STATES: Record<Provider, string[]> = {
  github: ["error", "failure", "pending", "success"],
  gitlab: ["pending", "running", "success", "failed", "canceled"],
  gitea: ["pending", "success", "error", "failure", "warning"],
};

export async function startStatusApi(provider: Provider, token: string, port = 0): Promise<StatusApi> {
  const requests: StatusRequest[] = [];
  const taken: [string, string, string][] = [];
  let behaviour: Behaviour = "ok";
  const base = provider === "gitlab" ? "/api/v4" : provider === "gitea" ? "/api/v1" : "";
  const serve = (p: number) =>
    Bun.serve({
      port: p,
      hostname: "127.0.0.1",
      async fetch(req, srv) {
        srv.timeout(req, 0);
        const path = new URL(req.url).pathname;
        const text = await req.text();
        let body: Record<string, unknown> = {};
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {}
        requests.push({ method: req.method, path, headers: Object.fromEntries(req.headers.entries()), body });
        if (typeof behaviour === "object") await Bun.sleep(behaviour.slowMs);
        const auth = provider === "github" ? req.headers.get("authorization") === `Bearer ${token}` : provider === "gitea" ? req.headers.get("authorization") === `token ${token}` : req.headers.get("private-token") === token;
        if (behaviour === "unauthorized" || !auth) return Response.json({ message: provider === "gitlab" ? "401 Unauthorized" : "Bad credentials" }, { status: 401 });
        const route = provider === "gitlab" ? /^\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(path) : new RegExp(`^${base}/repos/[^/]+/[^/]+/statuses/([0-9a-f]{40})$`).exec(path);
        if (req.method !== "POST" || !route) return Response.json({ message: "Not Found" }, { status: 404 });
        const state = String(body.state ?? "");
        const description = String(body.description ?? "");
        const context = provider === "gitlab" ? body.name : body.context;
        const bad = behaviour === "invalid" || !STATES[provider].includes(state) || typeof context !== "string" || (provider === "github" && description.length > 140);
        if (bad) return Response.json({ message: "Validation Failed", errors: [{ resource: "Status", code: "invalid" }] }, { status: provider === "gitlab" ? 400 : 422 });
        const sha = (provider === "gitlab" ? route[2] : route[1]) as string;
        taken.push([sha, state, description]);
        return Response.json({ state, description, context, target_url: body.target_url ?? null }, { status: 201 });
      },
    });
  let server = serve(port);
  const actual = server.port as number;
  return {
    url: `http://127.0.0.1:${actual}${base}`,
    requests,
    taken,
    behave: (b) => {
      behaviour = b;
    },
    down: async () => {
      await server.stop(true);
    },
    up: async () => {
      server = serve(actual);
    },
    close: async () => {
      await server.stop(true);
    },
  };
}
