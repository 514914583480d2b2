// `konta webhook` decides from one request: who signed it, for which branch, whether it parses.
import { describe, expect, test } from "bun:test";
import { BASIC_CHALLENGE, basicAuthOk, decide, formatResponse, MAX_BODY, readRequest, RequestError, route, type WebhookRequest } from "../../lib/webhook/index.ts";

const SECRET = "a-webhook-secret-0123456789";
const body = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const hmac = (b: Uint8Array, secret = SECRET) => `sha256=${new Bun.CryptoHasher("sha256", secret).update(b).digest("hex")}`;
const req = (over: Partial<WebhookRequest> = {}): WebhookRequest => {
  const b = over.body ?? body({ ref: "refs/heads/main" });
  return { method: "POST", path: "/", headers: { "x-hub-signature-256": hmac(b) }, body: b, ...over };
};

describe("decide", () => {
  test("a GitHub push to the branch, signed with the secret: 202 and deploy", () => {
    expect(decide(req(), SECRET, "main")).toEqual({ status: 202, reason: "accepted: konta.service started", deploy: true });
  });
  test("a wrong or missing signature: 401", () => {
    const b = body({ ref: "refs/heads/main" });
    expect(decide(req({ headers: { "x-hub-signature-256": hmac(b, "another-secret-0123456") } }), SECRET, "main").status).toBe(401);
    expect(decide(req({ headers: {} }), SECRET, "main").status).toBe(401);
    // a signature of another body
    expect(decide(req({ body: body({ ref: "refs/heads/main", x: 1 }), headers: { "x-hub-signature-256": hmac(b) } }), SECRET, "main").status).toBe(401);
  });
  test("GitLab's X-Gitlab-Token and a generic Bearer token", () => {
    expect(decide(req({ headers: { "x-gitlab-token": SECRET } }), SECRET, "main").deploy).toBe(true);
    expect(decide(req({ headers: { "x-gitlab-token": "nope" } }), SECRET, "main").status).toBe(401);
    expect(decide(req({ headers: { authorization: `Bearer ${SECRET}` } }), SECRET, "main").deploy).toBe(true);
    expect(decide(req({ headers: { authorization: "Bearer wrong" } }), SECRET, "main").status).toBe(401);
  });
  test("a push to another branch: 202 with the reason, no deploy; a tag named as the branch deploys", () => {
    const b = body({ ref: "refs/heads/feature" });
    expect(decide(req({ body: b, headers: { "x-hub-signature-256": hmac(b) } }), SECRET, "main")).toEqual({
      status: 202,
      reason: "ignored: a push to refs/heads/feature; Konta deploys main",
      deploy: false,
    });
    const t = body({ ref: "refs/tags/v1.2" });
    expect(decide(req({ body: t, headers: { "x-hub-signature-256": hmac(t) } }), SECRET, "v1.2").deploy).toBe(true);
  });
  test("bad JSON 400, a GET 405, GitHub's ping 200 without a deploy", () => {
    const bad = new TextEncoder().encode("{not json");
    expect(decide(req({ body: bad, headers: { "x-hub-signature-256": hmac(bad) } }), SECRET, "main").status).toBe(400);
    expect(decide(req({ method: "GET" }), SECRET, "main").status).toBe(405);
    expect(decide(req({ headers: { "x-hub-signature-256": hmac(body({ ref: "refs/heads/main" })), "x-github-event": "ping" } }), SECRET, "main")).toMatchObject({ status: 200, deploy: false });
  });
});

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(typeof ch === "string" ? new TextEncoder().encode(ch) : ch);
      c.close();
    },
  });
}

describe("readRequest", () => {
  test("a request in pieces: head, headers and body", async () => {
    const r = await readRequest(streamOf("POST /hook HTTP/1.1\r\nX-Gitlab-Token: t\r\nContent-Len", "gth: 2\r\n\r\n{", "}"), 1000);
    expect(r).toMatchObject({ method: "POST", path: "/hook", headers: { "x-gitlab-token": "t", "content-length": "2" } });
    expect(new TextDecoder().decode(r.body)).toBe("{}");
  });
  test("a body over the limit 413, a truncated one 400, a slow client 408", async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e) => (e instanceof RequestError ? e.status : e));
    expect(await err(readRequest(streamOf(`POST / HTTP/1.1\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`), 1000))).toBe(413);
    expect(await err(readRequest(streamOf("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), 1000))).toBe(400);
    const slow = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode("POST / HTTP/1.1\r\n")) });
    const started = Date.now();
    expect(await err(readRequest(slow, 300))).toBe(408);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("route: the status routes behind Basic auth", () => {
  const PASSWORD = "a-status-password";
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`;
  const get = (path: string, headers: Record<string, string> = {}, method = "GET"): WebhookRequest => ({ method, path, headers, body: new Uint8Array() });

  test("POST is the webhook, whatever the password", () => {
    expect(route(req(), PASSWORD)).toEqual({ kind: "webhook" });
    expect(route(req(), undefined)).toEqual({ kind: "webhook" });
  });
  test("each page with the password (any user name), GET or HEAD, a query string ignored", () => {
    expect(route(get("/", { authorization: basic("me", PASSWORD) }), PASSWORD)).toEqual({ kind: "page", page: "html" });
    expect(route(get("/status.json", { authorization: basic("", PASSWORD) }), PASSWORD)).toEqual({ kind: "page", page: "json" });
    expect(route(get("/metrics?x=1", { authorization: basic("prometheus", PASSWORD) }, "HEAD"), PASSWORD)).toEqual({ kind: "page", page: "metrics" });
  });
  test("no password set: 404 for every GET, with or without auth", () => {
    expect(route(get("/", { authorization: basic("me", PASSWORD) }), undefined)).toMatchObject({ status: 404 });
    expect(route(get("/metrics"), undefined)).toMatchObject({ status: 404 });
  });
  test("missing, wrong or malformed auth: 401; a path that is no route: 404; PUT: 405", () => {
    expect(route(get("/"), PASSWORD)).toMatchObject({ status: 401 });
    expect(route(get("/", { authorization: basic("me", `${PASSWORD}x`) }), PASSWORD)).toMatchObject({ status: 401 });
    expect(route(get("/", { authorization: basic("me", PASSWORD.slice(0, -1)) }), PASSWORD)).toMatchObject({ status: 401 });
    expect(route(get("/", { authorization: `Bearer ${PASSWORD}` }), PASSWORD)).toMatchObject({ status: 401 });
    expect(route(get("/", { authorization: "Basic !!!" }), PASSWORD)).toMatchObject({ status: 401 });
    expect(route(get("/", { authorization: `Basic ${Buffer.from(PASSWORD).toString("base64")}` }), PASSWORD)).toMatchObject({ status: 401 });
    expect(route(get("/state.json", { authorization: basic("me", PASSWORD) }), PASSWORD)).toMatchObject({ status: 404 });
    expect(route(get("/../etc/passwd"), PASSWORD)).toMatchObject({ status: 404 });
    expect(route(get("/", {}, "PUT"), PASSWORD)).toMatchObject({ status: 405 });
  });
  test("a 401 asks for Basic auth; HEAD has the headers without the body", () => {
    const r = formatResponse(401, "no", { headers: [BASIC_CHALLENGE], head: true });
    expect(r).toContain('\r\nWWW-Authenticate: Basic realm="konta"');
    expect(r).toContain("Content-Length: ");
    expect(r.endsWith("\r\n\r\n")).toBe(true);
    expect(basicAuthOk(basic("x", "pw:with:colons"), "pw:with:colons")).toBe(true);
  });
});
