// Issue "Reliability and security suite": hostile or broken commits. Each is refused with a clear
// error and exit 2 (DESIGN section 6), and nothing changes: the running container is the same,
// `current` still points at the good release.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { compose, sleeper } from "../support/compose.ts";
import { inspect, runUnmanaged } from "../support/docker.ts";
import type { FileSpec } from "../support/repo.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const APP = "apps/kt-hostile/docker-compose.yml";
const good = compose({ services: { web: sleeper() } });
const withWeb = (extra: Record<string, unknown>) => compose({ services: { web: sleeper(extra) } });

function billionLaughs(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(",")}]`);
  return `x-bomb:\n${lines.map((l) => `  ${l}`).join("\n")}\n${good}`;
}

interface Case {
  name: string;
  files: Record<string, FileSpec>;
  error: RegExp;
  deploy?: Record<string, unknown>;
  before?: () => Promise<unknown>;
}

const cases: Case[] = [
  { name: "invalid YAML", files: { [APP]: "services: [unclosed\n  web: {" }, error: /YAML|yaml/ },
  { name: "a YAML bomb (billion laughs)", files: { [APP]: billionLaughs() }, error: /alias/i },
  { name: "a huge file (5 MB)", files: { [APP]: `${good}# ${"x".repeat(5 * 1024 * 1024)}\n` }, error: /bytes; Konta reads YAML files up to/ },
  { name: "a schema violation", files: { [APP]: withWeb({ ports: "8080:80" }) }, error: /ports/ },
  { name: "an unknown key", files: { [APP]: withWeb({ frobnicate: true }) }, error: /frobnicate/ },
  { name: "a bind mount escaping through ..", files: { [APP]: withWeb({ volumes: ["../../../../../etc:/host-etc"] }) }, error: /outside|leaves|escap/i },
  {
    name: "a bind mount escaping through a symlink",
    files: { [APP]: withWeb({ volumes: ["./link:/host-etc"] }), "apps/kt-hostile/link": { symlink: "/etc" } },
    error: /outside|leaves|escap|symlink/i,
  },
  { name: "an env_file escaping the repository", files: { [APP]: withWeb({ env_file: ["../../../../../etc/passwd"] }) }, error: /outside|leaves|escap/i },
  { name: "privileged when deploy.allow_privileged is false", files: { [APP]: withWeb({ privileged: true }) }, deploy: { allow_privileged: false }, error: /privileged/ },
  { name: "a bind of / outside deploy.allowed_bind_roots", files: { [APP]: withWeb({ volumes: ["/:/host"] }) }, deploy: { allowed_bind_roots: ["/srv"] }, error: /allowed_bind_roots/ },
  {
    name: "a bind of the Docker socket outside deploy.allowed_bind_roots",
    files: { [APP]: withWeb({ volumes: ["/var/run/docker.sock:/var/run/docker.sock"] }) },
    deploy: { allowed_bind_roots: ["/srv"] },
    error: /allowed_bind_roots/,
  },
  {
    name: "taking over the name of a container Konta does not manage",
    files: { [APP]: withWeb({ container_name: "kt-hostile-bystander" }) },
    before: () => runUnmanaged("kt-hostile-bystander"),
    error: /taken by container .* which Konta does not manage/,
  },
  {
    name: "an app folder that is a symlink out of the release",
    files: { "apps/kt-evil": { symlink: "/tmp" } },
    error: /symlink|outside/i,
  },
  { name: "a hook that is a symlink out of the release", files: { "hooks/pre.sh": { symlink: "/bin/true" } }, error: /hooks\/pre\.sh is a symlink/ },
  {
    name: "an app folder named with shell metacharacters",
    files: { "apps/kt;$(touch${IFS}konta-pwned)/docker-compose.yml": good },
    error: /cannot be Compose project names/,
  },
];

describe("hostile commits are refused with exit 2 and change nothing", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const repo = rig.repo();
      const v1 = repo.write({ [APP]: good }).commit("good");
      const env = rig.env(repo, c.deploy ? { deploy: c.deploy } : {});
      expect((await env.run(["sync"])).code).toBe(0);
      const before = (await inspect("kt-hostile-web-1"))?.Id;
      expect(before).toBeDefined();
      await c.before?.();

      repo.write(c.files).commit(c.name);
      const r = await env.run(["sync"]);
      expect({ code: r.code, all: r.all }).toMatchObject({ code: 2 });
      expect(r.all).toMatch(c.error);
      expect(r.all).not.toMatch(/^\s+at .*\.(ts|js):\d+/m);
      expect((await inspect("kt-hostile-web-1"))?.Id).toBe(before);
      expect(basename(readlinkSync(join(env.state, "current")))).toBe(v1);
      // where a command injection would land: Konta's working directory, the state dir, a release root
      const releases = join(env.state, "releases");
      const places = [".", env.state, ...readdirSync(releases).map((r) => join(releases, r))];
      expect(places.flatMap((d) => readdirSync(d))).not.toContain("konta-pwned");
    });
  }
});

describe("odd but harmless file names", () => {
  test("spaces, newlines and non-UTF-8 bytes in file names are checked out and deployed", async () => {
    const repo = rig.repo();
    repo.write({
      [APP]: withWeb({ volumes: ["./conf dir:/conf:ro"] }),
      "apps/kt-hostile/conf dir/a file.txt": "spaces\n",
      "apps/kt-hostile/conf dir/new\nline.txt": "newline\n",
    });
    repo.writeRaw(Buffer.from("apps/kt-hostile/conf dir/caf\xe9.txt", "latin1"), "latin1\n");
    const sha = repo.commit("odd names");
    const env = rig.env(repo);
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    const dir = join(env.state, "releases", sha, "apps/kt-hostile/conf dir");
    expect(existsSync(join(dir, "a file.txt"))).toBe(true);
    expect(existsSync(join(dir, "new\nline.txt"))).toBe(true);
    expect((await inspect("kt-hostile-web-1"))?.State.Running).toBe(true);
  });
});
