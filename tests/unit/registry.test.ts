// Where a tag's manifest lives and how a registry asks for credentials (the box tests the rest
// against a real registry: tests/server "konta.image-updates").
import { expect, test } from "bun:test";
import { manifestLocation, parseChallenge } from "../../lib/docker/registry.ts";

test("manifest locations: Docker Hub's library, a registry with a port, loopback over HTTP, digests", () => {
  expect(manifestLocation("nginx")).toEqual({ base: "https://registry-1.docker.io", repository: "library/nginx", reference: "latest" });
  expect(manifestLocation("grafana/grafana:11.1")).toEqual({ base: "https://registry-1.docker.io", repository: "grafana/grafana", reference: "11.1" });
  expect(manifestLocation("ghcr.io/acme/app:1.27")).toEqual({ base: "https://ghcr.io", repository: "acme/app", reference: "1.27" });
  expect(manifestLocation("localhost:5000/team/app:t1")).toEqual({ base: "http://localhost:5000", repository: "team/app", reference: "t1" });
  expect(manifestLocation(`reg.example.com:8443/a/b@sha256:${"0".repeat(64)}`).reference).toBe(`sha256:${"0".repeat(64)}`);
});

test("WWW-Authenticate challenges", () => {
  expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"')).toEqual({
    scheme: "bearer",
    params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/nginx:pull" },
  });
  expect(parseChallenge('Basic realm="konta-test"').scheme).toBe("basic");
});
