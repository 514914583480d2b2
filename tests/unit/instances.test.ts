// Named instances: where their files are, which instance a push is for, and what another instance
// already owns.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkInstanceName, listInstances, resolveInstance, serviceUnit, timerUnit } from "../../lib/base/instances.ts";
import type { LoadedProject } from "../../lib/compose/index.ts";
import { bindingsClash, hostBindings } from "../../lib/compose/ports.ts";
import { findConflicts } from "../../lib/flows/instances.ts";
import { repositoryKey, routePush, type WebhookRequest } from "../../lib/webhook/index.ts";

const saved = { ...process.env };
afterEach(() => {
  for (const k of ["KONTA_INSTANCE", "KONTA_CONFIG", "KONTA_HOME"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("instance paths", () => {
  test("the default keeps the single-instance layout; a named one lives beside it", () => {
    delete process.env.KONTA_CONFIG;
    delete process.env.KONTA_HOME;
    delete process.env.KONTA_INSTANCE;
    expect(resolveInstance({}).ref).toEqual({ config: "/etc/konta/config.yaml", stateDir: "/var/lib/konta" });
    const { ref, family } = resolveInstance({ instance: "staging" });
    expect(ref).toEqual({ name: "staging", config: "/etc/konta/instances/staging.yaml", stateDir: "/var/lib/konta/staging" });
    expect(family).toEqual({ configDir: "/etc/konta", stateRoot: "/var/lib/konta" });
    expect([serviceUnit(ref), timerUnit(ref), timerUnit(resolveInstance({}).ref)]).toEqual(["konta@staging.service", "konta@staging.timer", "konta.timer"]);
    process.env.KONTA_INSTANCE = "prod";
    expect(resolveInstance({}).ref.name).toBe("prod");
    expect(resolveInstance({ instance: "default" }).ref.name).toBeUndefined();
    process.env.KONTA_CONFIG = "/srv/k/etc/config.yaml";
    process.env.KONTA_HOME = "/srv/k/state";
    expect(resolveInstance({ instance: "a" }).ref).toEqual({ name: "a", config: "/srv/k/etc/instances/a.yaml", stateDir: "/srv/k/state/a" });
    expect(resolveInstance({ instance: "a", stateDir: "/x" }).ref.stateDir).toBe("/x");
  });

  test("names that would collide with the default's own files, or are not plain, are refused", () => {
    for (const bad of ["releases", "repo", "current", "secrets", "Prod", "a/b", "../x", "-x", ""]) expect(() => checkInstanceName(bad)).toThrow();
    expect(checkInstanceName("client-2")).toBe("client-2");
  });

  test("listInstances: the default when its config exists, then the named ones by name", () => {
    const etc = mkdtempSync(join(tmpdir(), "konta-instances-"));
    mkdirSync(join(etc, "instances"));
    writeFileSync(join(etc, "instances", "zeta.yaml"), "");
    writeFileSync(join(etc, "instances", "alpha.yaml"), "");
    writeFileSync(join(etc, "instances", "notes.txt"), "");
    expect(listInstances({ configDir: etc, stateRoot: "/s" }).map((i) => i.name ?? "default")).toEqual(["alpha", "zeta"]);
    writeFileSync(join(etc, "config.yaml"), "");
    expect(listInstances({ configDir: etc, stateRoot: "/s" }).map((i) => `${i.name ?? "default"} ${i.stateDir}`)).toEqual(["default /s", "alpha /s/alpha", "zeta /s/zeta"]);
  });
});

describe("routePush", () => {
  const body = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const bearer = (secret: string, payload: unknown): WebhookRequest => ({ method: "POST", path: "/", headers: { authorization: `Bearer ${secret}` }, body: body(payload) });
  const targets = [
    { name: "default", secret: "secret-of-prod-0123", branch: "main", url: "git@github.com:acme/infra.git" },
    { name: "staging", secret: "secret-of-prod-0123", branch: "staging", url: "https://github.com/acme/infra.git" },
    { name: "client", secret: "secret-of-client-99", branch: "main", url: "https://git.example/client/apps" },
  ];

  test("the instance of the pushed repository and branch, and no other", () => {
    const r = routePush(bearer("secret-of-prod-0123", { ref: "refs/heads/staging", repository: { clone_url: "https://github.com/acme/infra.git" } }), targets);
    expect(r).toMatchObject({ status: 202, start: ["staging"] });
    const main = routePush(bearer("secret-of-prod-0123", { ref: "refs/heads/main", repository: { ssh_url: "git@github.com:acme/infra.git" } }), targets);
    expect(main.start).toEqual(["default"]);
    expect(main.reason).toBe("accepted: konta.service started");
    const client = routePush(bearer("secret-of-client-99", { ref: "refs/heads/main", project: { git_http_url: "https://git.example/client/apps.git" } }), targets);
    expect(client.start).toEqual(["client"]);
  });

  test("signed for none: 401; signed but for no instance here: 202 with the reason; no secret anywhere: 500", () => {
    expect(routePush(bearer("nobody-knows-this", { ref: "refs/heads/main" }), targets)).toMatchObject({ status: 401, start: [] });
    const elsewhere = routePush(bearer("secret-of-prod-0123", { ref: "refs/heads/main", repository: { clone_url: "https://github.com/acme/other.git" } }), targets);
    expect(elsewhere).toMatchObject({ status: 202, deploy: false, start: [] });
    expect(elsewhere.reason).toContain("no instance");
    expect(routePush(bearer("x", {}), [{ name: "default", branch: "main", url: "u" }]).status).toBe(500);
  });

  test("repositoryKey: the forms of one repository compare equal", () => {
    const forms = ["https://github.com/Acme/Infra.git", "git@github.com:acme/infra.git", "ssh://git@github.com:22/acme/infra", "https://x-access-token@github.com/acme/infra/"];
    expect(new Set(forms.map(repositoryKey))).toEqual(new Set(["github.com/acme/infra"]));
  });
});

describe("ownership across instances", () => {
  const self = { name: "b", config: "/etc/konta/instances/b.yaml", stateDir: "/var/lib/konta/b" };
  const other = { instance: { config: "/etc/konta/config.yaml", stateDir: "/var/lib/konta" }, expected: { web: { hostInputs: "", services: { app: { hash: "h", image: "i", replicas: 1, stopped: false, job: false, containerName: "shop", hostPorts: [":8080/tcp"] } } } } };
  const project = (name: string, service: Record<string, unknown>): LoadedProject =>
    ({ name, dir: `/rel/apps/${name}`, files: ["compose.yaml"], services: { s: { name: "s", managed: true, image: "x", ...service } }, networks: {}, volumes: {}, warnings: [], hostInputs: "" }) as unknown as LoadedProject;

  test("the same project, container name or host port: each conflict names both instances and our file", () => {
    const c = findConflicts(self, [project("web", {}), project("api", { container_name: "shop", ports: [{ target: 80, published: "8080", host_ip: "127.0.0.1", protocol: "tcp" }] })], [other]);
    expect(c).toEqual([
      'apps/web/compose.yaml: project "web" is deployed by instance "default" (/etc/konta/config.yaml); instance "b" (/etc/konta/instances/b.yaml) cannot take it',
      'apps/api/compose.yaml: s: container_name "shop" is web/app\'s of instance "default" (/etc/konta/config.yaml)',
      'apps/api/compose.yaml: s: host port 127.0.0.1:8080/tcp is held by web/app of instance "default" (/etc/konta/config.yaml) (8080/tcp)',
    ]);
    expect(findConflicts(self, [project("api", { ports: [{ target: 80, published: "8081", protocol: "tcp" }, { target: 80, published: "8080", protocol: "udp" }] })], [other])).toEqual([]);
  });

  test("host bindings: ranges expanded; the same port on every address clashes with one on a single address", () => {
    expect(hostBindings([{ target: 80, published: "8000-8002", protocol: "tcp" }, { target: 53, protocol: "udp" }])).toEqual([":8000/tcp", ":8001/tcp", ":8002/tcp"]);
    expect(bindingsClash("127.0.0.1:80/tcp", ":80/tcp")).toBe(true);
    expect(bindingsClash("127.0.0.1:80/tcp", "127.0.0.2:80/tcp")).toBe(false);
    expect(bindingsClash("[::1]:80/tcp", "0.0.0.0:80/tcp")).toBe(true);
    expect(bindingsClash(":80/tcp", ":80/udp")).toBe(false);
  });
});
