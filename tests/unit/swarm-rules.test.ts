// What the swarm as it is cannot give a release (lib/targets/swarm/rules.ts), refused before anything
// changes: ports, external networks, secret and config files. Pure: the swarm's facts are given.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import type { ProjectModel } from "../../lib/compose/model.ts";
import { checkSwarmRules, type SwarmFacts, type SwarmNode } from "../../lib/targets/swarm/rules.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(name: string, services: string, top = ""): ProjectModel {
  const dir = mkdtempSync(join(tmpdir(), "konta-swarm-rules-"));
  dirs.push(dir);
  writeFileSync(join(dir, "docker-compose.yml"), `services:\n${services}${top}`);
  writeFileSync(join(dir, "conf.txt"), "x\n");
  return loadProject(dir, name, { repoRoot: dir, processEnv: {}, passthrough: [], profiles: [] });
}

const svc = (name: string, extra: string) => `  ${name}:\n    image: busybox\n    labels: { konta.managed: "true" }\n${extra.replace(/^/gm, "    ")}\n`;
const node = (hostname: string, extra: Partial<SwarmNode> = {}): SwarmNode => ({ id: hostname, hostname, role: "worker", ready: true, active: true, labels: {}, engineLabels: {}, ...extra });
const facts = (extra: Partial<SwarmFacts> = {}): SwarmFacts => ({ services: [], nodes: [node("n1", { role: "manager" }), node("n2"), node("n3")], networks: new Set(), fileExists: () => true, ...extra });
const refusal = (projects: ProjectModel[], f = facts()) => {
  const r = checkSwarmRules(projects, f);
  return r && { project: r.project.name, path: r.error.path.join("."), message: r.error.message };
};

describe("ports", () => {
  test("replicas share one ingress port: the most common stack file is fine", () => {
    expect(refusal([project("web", svc("web", 'ports: ["8080:80"]\ndeploy: { replicas: 3 }'))])).toBeUndefined();
  });

  test("two services of a release publishing one ingress port: the second is refused", () => {
    const r = refusal([project("a", svc("web", 'ports: ["8080:80"]')), project("b", svc("api", 'ports: ["8080:8080"]'))]);
    expect(r).toMatchObject({ project: "b", path: "services.api.ports" });
    expect(r?.message).toContain("8080/tcp is published on every node of the swarm already, by service a_web");
    // udp is another port
    expect(refusal([project("a", svc("web", 'ports: ["8080:80"]')), project("b", svc("dns", 'ports: ["8080:53/udp"]'))])).toBeUndefined();
  });

  test("an ingress port held by a service outside the release; the release's own stacks are replaced, not counted", () => {
    const held = { name: "other_proxy", stack: "other", ports: [{ PublishedPort: 8080, Protocol: "tcp", PublishMode: "ingress" }] };
    expect(refusal([project("a", svc("web", 'ports: ["8080:80"]'))], facts({ services: [held] }))?.message).toContain("by service other_proxy, which this release does not deploy");
    expect(refusal([project("other", svc("web", 'ports: ["8080:80"]'))], facts({ services: [held] }))).toBeUndefined();
    // a host-mode port elsewhere does not hold the ingress port
    expect(refusal([project("a", svc("web", 'ports: ["8080:80"]'))], facts({ services: [{ ...held, ports: [{ PublishedPort: 8080, Protocol: "tcp", PublishMode: "host" }] }] }))).toBeUndefined();
  });

  test("a host-mode port: one task per node, counted over the nodes that can run it", () => {
    const host = (replicas: number, placement = "") => svc("web", `ports: [{ target: 80, published: 8080, mode: host }]\ndeploy: { replicas: ${replicas}${placement} }`);
    expect(refusal([project("a", host(3))])).toBeUndefined();
    expect(refusal([project("a", host(4))])?.message).toContain("4 replicas are asked for and 3 node(s) can run them (n1, n2, n3)");
    expect(refusal([project("a", host(2, ', placement: { constraints: ["node.role == worker"] }'))])).toBeUndefined();
    expect(refusal([project("a", host(3, ', placement: { constraints: ["node.role == worker"] }'))])?.message).toContain("3 replicas are asked for and 2 node(s) can run them (n2, n3)");
    expect(refusal([project("a", host(3))], facts({ nodes: [node("n1"), node("n2", { ready: false }), node("n3", { active: false })] }))?.message).toContain("1 node(s) can run them (n1)");
    // global: one per node by definition
    expect(refusal([project("a", svc("web", "ports: [{ target: 80, published: 8080, mode: host }]\ndeploy: { mode: global }"))])).toBeUndefined();
  });

  test("dnsrr has no virtual IP for an ingress port", () => {
    expect(refusal([project("a", svc("web", 'ports: ["8080:80"]\ndeploy: { endpoint_mode: dnsrr }'))])?.message).toContain("endpoint_mode: dnsrr");
    expect(refusal([project("a", svc("web", "ports: [{ target: 80, published: 8080, mode: host }]\ndeploy: { endpoint_mode: dnsrr }"))])).toBeUndefined();
  });
});

test("an external network must exist on the swarm", () => {
  const p = project("a", svc("web", "networks: [shared]"), "networks:\n  shared: { external: true }\n");
  expect(refusal([p])).toMatchObject({ path: "services.web.networks.shared" });
  expect(refusal([p], facts({ networks: new Set(["shared"]) }))).toBeUndefined();
});

test("a secret file must exist on the manager", () => {
  const p = project("a", svc("web", "secrets: [key]\nconfigs: [conf]"), "secrets:\n  key: { file: /etc/konta/nope/api.key }\nconfigs:\n  conf: { file: ./conf.txt }\n");
  expect(refusal([p], facts({ fileExists: (f) => !f.includes("nope") }))).toMatchObject({ path: "services.web.secrets", message: expect.stringContaining("/etc/konta/nope/api.key does not exist on the manager") });
  expect(refusal([p])).toBeUndefined();
});

test("services that are not managed are not deployed, so not checked", () => {
  const unmanaged = "  web:\n    image: busybox\n    ports: ['8080:80']\n";
  expect(refusal([project("a", svc("api", 'ports: ["8080:80"]')), project("b", unmanaged)])).toBeUndefined();
});
