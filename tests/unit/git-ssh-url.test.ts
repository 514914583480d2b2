// The SSH spellings of repository.url Git accepts, and what an instance is named after.
import { expect, test } from "bun:test";
import { knownHostsName, parseSshUrl } from "../../lib/git/url.ts";
import { repositoryIdentity } from "../../lib/flows/runtime.ts";

test.each([
  ["ssh://git@github.com/acme/infra.git", { user: "git", host: "github.com", path: "/acme/infra.git" }],
  ["ssh://github.com:2222/acme/infra.git", { host: "github.com", port: 2222, path: "/acme/infra.git" }],
  ["git+ssh://git@gitea.example:22/acme/infra", { user: "git", host: "gitea.example", port: 22, path: "/acme/infra" }],
  ["ssh://git@[::1]:2222/srv/repo.git", { user: "git", host: "::1", port: 2222, path: "/srv/repo.git" }],
  ["ssh://root@host/~deploy/repo.git", { user: "root", host: "host", path: "~deploy/repo.git" }],
  ["git@github.com:acme/infra.git", { user: "git", host: "github.com", path: "acme/infra.git" }],
  ["git@gitlab.com:group/sub/proj.git", { user: "git", host: "gitlab.com", path: "group/sub/proj.git" }],
  ["host:/srv/git/repo.git", { host: "host", path: "/srv/git/repo.git" }],
])("%s is an SSH remote", (url, remote) => {
  expect(parseSshUrl(url)).toEqual(remote);
});

test.each(["https://github.com/acme/infra.git", "http://127.0.0.1:8418/r.git", "file:///srv/repo", "/srv/repo.git", "./repo"])("%s is not SSH", (url) => {
  expect(parseSshUrl(url)).toBeUndefined();
});

test("known_hosts names a non-default port in brackets", () => {
  expect(knownHostsName({ host: "127.0.0.1", port: 2222, path: "/r" })).toBe("[127.0.0.1]:2222");
  expect(knownHostsName({ host: "github.com", path: "a/b" })).toBe("github.com");
});

test("moving from a token to a deploy key keeps the instance: an SSH URL counts as the HTTPS URL of the same host and path", () => {
  expect(repositoryIdentity("git@github.com:acme/infra.git")).toBe("https://github.com/acme/infra.git");
  expect(repositoryIdentity("ssh://git@github.com/acme/infra.git")).toBe("https://github.com/acme/infra.git");
  // HTTPS URLs are named as before (an upgrade renames no instance)
  expect(repositoryIdentity("https://github.com/acme/infra.git")).toBe("https://github.com/acme/infra.git");
});

test("ssh runs with the deploy key only and the pinned host keys only: no user config, no agent, no trust on first use", async () => {
  const { sshArgs } = await import("../../lib/git/ssh.ts");
  const args = sshArgs({ remote: { user: "git", host: "github.com", port: 2222, path: "acme/infra.git" }, keyFile: "/etc/konta/deploy_key", knownHostsFile: "/etc/konta/known_hosts" }, 20, ["git-upload-pack 'acme/infra.git'"]);
  const opts = args.flatMap((a, i) => (args[i - 1] === "-o" ? [a] : []));
  expect(args.slice(0, 3)).toEqual(["ssh", "-F", "none"]);
  expect(opts).toEqual(
    expect.arrayContaining(["BatchMode=yes", "IdentitiesOnly=yes", "IdentityAgent=none", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/etc/konta/known_hosts", "GlobalKnownHostsFile=/dev/null", "UpdateHostKeys=no", "ConnectTimeout=20"]),
  );
  expect(args.join(" ")).not.toContain("accept-new");
  expect(args.slice(-7, -1)).toEqual(["-p", "2222", "-l", "git", "--", "github.com"]);
  expect(args.at(-1)).toBe("git-upload-pack 'acme/infra.git'");
});
