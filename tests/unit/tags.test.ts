// repository.tag's choice among the advertised tags (lib/git/tags.ts), and what the config accepts.
import { describe, expect, test } from "bun:test";
import { newestTag, olderTag } from "../../lib/git/tags.ts";
import { parseConfig } from "../../lib/config/parse.ts";
import { decide } from "../../lib/webhook/index.ts";

const TAGS = ["v0.9.0", "v1.0.0", "v1.2.0", "v1.10.0", "v2.0.0-rc.1", "1.1.5", "release-1", "release-2", "nightly"];

describe("the newest tag a pattern selects", () => {
  test.each([
    [">=1.0.0", "v1.10.0"],
    ["~1.2", "v1.2.0"],
    ["^1", "v1.10.0"],
    ["v1.x", "v1.10.0"],
    ["<1.1.0", "v1.0.0"],
    // a pre-release only when the pattern names one
    [">=2.0.0-rc.0", "v2.0.0-rc.1"],
    [">=3", undefined],
    ["release-*", "release-2"],
    ["v1.*", "v1.10.0"],
    ["night?y", "nightly"],
  ])("%s -> %s", (pattern, want) => expect(newestTag(TAGS, pattern)).toBe(want as string | undefined));

  test("versions in semver order, not by name; a glob's names that are no versions after them", () => {
    expect(newestTag(["v1.9.0", "v1.10.0", "v1.2.0"], "v*")).toBe("v1.10.0");
    expect(newestTag(["v1.9.0", "v2.0.0-beta"], "v*")).toBe("v1.9.0");
    expect(olderTag("v1.2.0", "v1.10.0")).toBe(true);
    expect(olderTag("release-1", "v1.0.0")).toBeUndefined();
  });
});

describe("config: repository.tag and repository.verify", () => {
  const base = "version: 1\nrepository:\n  url: https://github.com/acme/infra.git\n";
  test("a tag pattern instead of a branch; both is an error", () => {
    expect(parseConfig(`${base}  tag: ">=1.0.0"\n`, "/c.yaml").repository.tag).toBe(">=1.0.0");
    expect(() => parseConfig(`${base}  tag: v*\n  branch: main\n`, "/c.yaml")).toThrow("repository.branch and repository.tag exclude each other");
  });
  test("verify needs a trust anchor; mode tag needs repository.tag; paths are absolute", () => {
    expect(parseConfig(`${base}  verify:\n    ssh_allowed_signers: /etc/konta/allowed_signers\n`, "/c.yaml").repository.verify).toEqual({ ssh_allowed_signers: "/etc/konta/allowed_signers", mode: "head" });
    expect(() => parseConfig(`${base}  verify:\n    mode: head\n`, "/c.yaml")).toThrow("ssh_allowed_signers or gpg_keyring");
    expect(() => parseConfig(`${base}  verify:\n    gpg_keyring: /k.gpg\n    mode: tag\n`, "/c.yaml")).toThrow("needs repository.tag");
    expect(() => parseConfig(`${base}  verify:\n    gpg_keyring: keys.gpg\n`, "/c.yaml")).toThrow("gpg_keyring");
  });
});

test("the webhook: with repository.tag, a pushed tag starts a run; a branch push does not", () => {
  const req = (ref: string) => ({ method: "POST", path: "/", headers: { "x-gitlab-token": "webhook-secret-0123456789" }, body: new TextEncoder().encode(JSON.stringify({ ref })) });
  expect(decide(req("refs/tags/v1.2.0"), "webhook-secret-0123456789", "main", true).deploy).toBe(true);
  expect(decide(req("refs/heads/main"), "webhook-secret-0123456789", "main", true).deploy).toBe(false);
  expect(decide(req("refs/tags/v1.2.0"), "webhook-secret-0123456789", "main").deploy).toBe(false);
});
