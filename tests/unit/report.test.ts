// Commit statuses as data (lib/report): each provider's request, the description's limit, what
// waits for the next run. The requests against the providers' stand-ins: tests/integration/report.test.ts.
import { expect, test } from "bun:test";
import { queue, type Reporter, repoPath, statusRequest } from "../../lib/report/index.ts";

const base = { token: "t0k3n", repo: "acme/infra", context: "konta/web1", timeoutMs: 5000 };
const SHA = "0123456789abcdef0123456789abcdef01234567";

test("owner/repo, or GitLab's project path, from HTTPS and SSH clone URLs", () => {
  expect(repoPath("https://github.com/acme/infra.git")).toBe("acme/infra");
  expect(repoPath("https://gitlab.com/group/sub/project")).toBe("group/sub/project");
  expect(repoPath("git@github.com:acme/infra.git")).toBe("acme/infra");
  expect(repoPath("ssh://git@gitea.example.com:2222/acme/infra.git")).toBe("acme/infra");
});

test("GitHub: POST /repos/{owner}/{repo}/statuses/{sha}, a Bearer token, GitHub's states; the description cut to 140 characters", () => {
  const r: Reporter = { ...base, provider: "github", url: "https://api.github.com", targetUrl: "https://ops.example.com/konta" };
  const req = statusRequest(r, { sha: SHA, state: "failure", description: `failed: ${"x".repeat(300)}` });
  expect(req.url).toBe(`https://api.github.com/repos/acme/infra/statuses/${SHA}`);
  expect(req.headers.Authorization).toBe("Bearer t0k3n");
  expect(req.headers["X-GitHub-Api-Version"]).toBe("2022-11-28");
  expect(req.body.state).toBe("failure");
  expect(req.body.context).toBe("konta/web1");
  expect(req.body.target_url).toBe("https://ops.example.com/konta");
  expect([...(req.body.description as string)].length).toBe(140);
  expect(req.body.description).toEndWith("…");
});

test("GitLab: POST /projects/<url-encoded path>/statuses/<sha>, PRIVATE-TOKEN, GitLab's state names, `name` for the context", () => {
  const r: Reporter = { ...base, provider: "gitlab", url: "https://gitlab.example.com/api/v4", repo: "group/sub/project" };
  const states = (["pending", "success", "failure", "error"] as const).map((state) => statusRequest(r, { sha: SHA, state, description: "d" }).body.state);
  expect(states).toEqual(["running", "success", "failed", "failed"]);
  const req = statusRequest(r, { sha: SHA, state: "success", description: "live" });
  expect(req.url).toBe(`https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproject/statuses/${SHA}`);
  expect(req.headers["PRIVATE-TOKEN"]).toBe("t0k3n");
  expect(req.body).toEqual({ state: "success", name: "konta/web1", description: "live" });
});

test("Gitea and Forgejo: GitHub's path under /api/v1, `Authorization: token`", () => {
  const req = statusRequest({ ...base, provider: "gitea", url: "https://git.example.com/api/v1" }, { sha: SHA, state: "pending", description: "deploying" });
  expect(req.url).toBe(`https://git.example.com/api/v1/repos/acme/infra/statuses/${SHA}`);
  expect(req.headers.Authorization).toBe("token t0k3n");
  expect(req.body).toEqual({ state: "pending", context: "konta/web1", description: "deploying" });
});

test("what waits: each commit's newest status only, in order, at most 20", () => {
  const s = (sha: string, state: "pending" | "success" | "failure") => ({ sha, state, description: state });
  expect(queue([s("a", "pending")], [s("a", "success"), s("b", "pending")])).toEqual([s("a", "success"), s("b", "pending")]);
  expect(queue([s("a", "success")], [s("b", "failure"), s("a", "failure")])).toEqual([s("b", "failure"), s("a", "failure")]);
  expect(queue([], Array.from({ length: 30 }, (_, i) => s(`c${i}`, "success")))).toHaveLength(20);
});
