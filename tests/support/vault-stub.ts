// A stand-in for OpenBao / HashiCorp Vault's KV version 2 HTTP API, written from its documentation
// (neither server can be installed from the registries this machine reaches):
//   GET  /v1/<mount>/data/<path>     X-Vault-Token -> 200 {"data": {"data": {...}, "metadata": {...}}}
//                                    403 {"errors": ["permission denied"]}, 404 {"errors": []}
//   POST /v1/auth/approle/login      {"role_id", "secret_id"} -> 200 {"auth": {"client_token", ...}}
//                                    400 {"errors": ["invalid role or secret ID"]}
//   any request while sealed         503 {"errors": ["Vault is sealed"]}
// It records every request, so tests count what Konta asked.

export interface VaultStub {
  url: string;
  requests: { method: string; path: string; token?: string; namespace?: string }[];
  /** mount/path -> fields */
  secrets: Map<string, Record<string, string>>;
  tokens: Set<string>;
  /** paths (mount/path) a token may not read */
  denied: Set<string>;
  approles: Map<string, string>;
  sealed: boolean;
  stop(): void;
}

export function startVaultStub(): VaultStub {
  const stub: VaultStub = { url: "", stop: () => {}, requests: [], secrets: new Map(), tokens: new Set(), denied: new Set(), approles: new Map(), sealed: false };
  let issued = 0;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const token = req.headers.get("x-vault-token") ?? undefined;
      stub.requests.push({ method: req.method, path: url.pathname, ...(token ? { token } : {}), ...(req.headers.get("x-vault-namespace") ? { namespace: req.headers.get("x-vault-namespace") as string } : {}) });
      if (stub.sealed) return json(503, { errors: ["Vault is sealed"] });
      if (req.method === "POST" && url.pathname === "/v1/auth/approle/login") {
        const body = (await req.json()) as { role_id?: string; secret_id?: string };
        if (!body.role_id || stub.approles.get(body.role_id) !== body.secret_id) return json(400, { errors: ["invalid role or secret ID"] });
        const client = `hvs.approle-${++issued}-token`;
        stub.tokens.add(client);
        return json(200, { auth: { client_token: client, accessor: "x", policies: ["default", "shop"], lease_duration: 3600, renewable: true } });
      }
      const m = /^\/v1\/([^/]+)\/data\/(.+)$/.exec(url.pathname);
      if (req.method !== "GET" || !m) return json(404, { errors: [] });
      const key = `${m[1]}/${m[2]}`;
      if (!token || !stub.tokens.has(token) || stub.denied.has(key)) return json(403, { errors: ["permission denied"] });
      const data = stub.secrets.get(key);
      if (!data) return json(404, { errors: [] });
      return json(200, { request_id: crypto.randomUUID(), lease_id: "", renewable: false, lease_duration: 0, data: { data, metadata: { created_time: new Date().toISOString(), deletion_time: "", destroyed: false, version: 1 } } });
    },
  });
  stub.url = `http://127.0.0.1:${server.port}`;
  stub.stop = () => server.stop(true);
  return stub;
}
