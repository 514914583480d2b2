// What a release asks of a Swarm that the swarm as it is cannot give, checked before anything
// changes (Swarm itself finds these only while a deploy is half done, or leaves tasks pending for
// ever). Ports: an ingress port is published once for the whole swarm (every node answers for it),
// so many replicas share it but two services cannot; a host-mode port is bound on the node that runs
// the task, so a node runs one such task at most. External networks must exist; secret and config
// files must exist on the manager, which reads them.
import type { ProjectModel, ServiceModel } from "../../compose/model.ts";
import { STACK_NAMESPACE, SwarmKeyError } from "./spec.ts";
import { prerequisitesOf, providedNetworks } from "../../compose/graph.ts";

/** A service the swarm has, with what its spec publishes. */
export interface PortHolder {
  name: string;
  stack?: string;
  ports: { PublishedPort?: number; Protocol?: string; PublishMode?: string }[];
}

export interface SwarmNode {
  id: string;
  hostname: string;
  role: string;
  ready: boolean;
  active: boolean;
  os?: string;
  arch?: string;
  labels: Record<string, string>;
  engineLabels: Record<string, string>;
}

/** What the engine answers for GET /services, as port holders. */
export function portHolders(services: { Spec: { Name: string; Labels?: Record<string, string>; EndpointSpec?: { Ports?: PortHolder["ports"] } } }[]): PortHolder[] {
  return services.map((s) => ({ name: s.Spec.Name, stack: s.Spec.Labels?.[STACK_NAMESPACE], ports: s.Spec.EndpointSpec?.Ports ?? [] }));
}

/** What the engine answers for GET /nodes, as the facts placement needs. */
export function swarmNodes(
  nodes: {
    ID: string;
    Description?: { Hostname?: string; Platform?: { OS?: string; Architecture?: string }; Engine?: { Labels?: Record<string, string> } };
    Spec: { Role: string; Availability: string; Labels?: Record<string, string> };
    Status: { State: string };
  }[],
): SwarmNode[] {
  return nodes.map((n) => ({
    id: n.ID,
    hostname: n.Description?.Hostname ?? "",
    role: n.Spec.Role,
    ready: n.Status.State === "ready",
    active: n.Spec.Availability === "active",
    os: n.Description?.Platform?.OS,
    arch: n.Description?.Platform?.Architecture,
    labels: n.Spec.Labels ?? {},
    engineLabels: n.Description?.Engine?.Labels ?? {},
  }));
}

const key = (port: string | number, protocol = "tcp") => `${port}/${protocol}`;

/**
 * The first thing the release asks that the swarm cannot give, as a SwarmKeyError with the project
 * it is about. Ports: an ingress port two of its services publish, or one a service outside the
 * release holds; a host-mode port with more replicas than nodes that can run them.
 */
export interface SwarmFacts {
  services: PortHolder[];
  /** the swarm's nodes; undefined: not known here (`konta check`), their checks left to the deploy */
  nodes?: SwarmNode[];
  /** names of the networks the swarm has; undefined: not known here */
  networks?: Set<string>;
  /** whether the manager can read a file (a secret or config of the release or the host) */
  fileExists(path: string): boolean;
}

type Refusal = { project: ProjectModel; error: SwarmKeyError };

/** The first thing the release asks that the swarm cannot give (swarmRuleErrors). */
export function checkSwarmRules(projects: ProjectModel[], facts: SwarmFacts): Refusal | undefined {
  return swarmRuleErrors(projects, facts)[0];
}

/** Everything the release asks that the swarm as `facts` knows it cannot give. */
export function swarmRuleErrors(projects: ProjectModel[], facts: SwarmFacts): Refusal[] {
  const out: Refusal[] = [];
  const prerequisites = prerequisitesOf(projects);
  for (const project of projects) {
    // a network a stack it depends on creates exists by the time this stack converges
    const provided = providedNetworks(project, projects, prerequisites);
    for (const s of Object.values(project.services)) {
      if (!s.managed) continue;
      for (const key of Object.keys(s.networks ?? {})) {
        const n = project.networks[key];
        if (n?.external && facts.networks && !facts.networks.has(n.name) && !provided.has(n.name)) {
          out.push({ project, error: new SwarmKeyError(s.name, `networks.${key}`, `the external network ${n.name} does not exist on the swarm; create it (docker network create -d overlay --attachable ${n.name}) or drop external:`) });
        }
      }
      for (const [kind, files] of [["secrets", s.secrets], ["configs", s.configs]] as const) {
        for (const f of files ?? []) {
          // a SOPS secret is opened by the deploy itself, one from content or a variable written by it
          if (!f.decrypted_from && !f.written && !facts.fileExists(f.source.startsWith("/") ? f.source : `${project.dir}/${f.source}`)) {
            out.push({ project, error: new SwarmKeyError(s.name, kind, `the file ${f.source} does not exist on the manager, which makes the Swarm ${kind.slice(0, -1)} from it`) });
          }
        }
      }
      if (s.swarm?.endpoint_mode === "dnsrr" && s.ports?.some((p) => p.published && (p.mode ?? "ingress") === "ingress")) {
        out.push({ project, error: new SwarmKeyError(s.name, "ports", "endpoint_mode: dnsrr has no virtual IP to publish an ingress port on; publish it with mode: host, or use endpoint_mode: vip") });
      }
    }
  }
  return [...out, ...checkPorts(projects, facts.services, facts.nodes)];
}

function checkPorts(projects: ProjectModel[], others: PortHolder[], nodes: SwarmNode[] | undefined): Refusal[] {
  const out: Refusal[] = [];
  const stacks = new Set(projects.map((p) => p.name));
  const taken = new Map<string, string>();
  for (const o of others) {
    // services of the release's stacks are replaced by what the release says
    if (o.stack && stacks.has(o.stack)) continue;
    for (const p of o.ports) if (p.PublishedPort && (p.PublishMode ?? "ingress") === "ingress") taken.set(key(p.PublishedPort, p.Protocol), `service ${o.name}, which this release does not deploy`);
  }
  for (const project of projects) {
    for (const s of Object.values(project.services)) {
      if (!s.managed) continue;
      const refuse = (why: string) => out.push({ project, error: new SwarmKeyError(s.name, "ports", why) });
      for (const p of s.ports ?? []) {
        if (!p.published) continue;
        const k = key(p.published, p.protocol);
        if ((p.mode ?? "ingress") === "ingress") {
          const holder = taken.get(k);
          if (holder) refuse(`port ${k} is published on every node of the swarm already, by ${holder}; an ingress port belongs to one service`);
          else taken.set(k, `service ${project.name}_${s.name}`);
          continue;
        }
        if (!nodes) continue;
        const eligible = nodes.filter((n) => n.ready && n.active && placeable(n, s));
        const replicas = s.stopped ? 0 : s.swarm?.mode === "global" || s.swarm?.mode === "global-job" ? 0 : s.replicas;
        if (replicas > eligible.length) {
          refuse(
            `host-mode port ${k} is bound on the node that runs a task, so a node runs one task of it at most; ${replicas} replicas are asked for and ${eligible.length} node(s) can run them (${eligible.map((n) => n.hostname).join(", ") || "none"}); lower the replicas, use mode: global, or publish in ingress mode`,
          );
        }
      }
    }
  }
  return out;
}

/** Whether `node` meets the service's placement constraints (an expression Konta cannot read counts as met: Swarm decides). */
export function placeable(node: SwarmNode, s: ServiceModel): boolean {
  return (s.swarm?.placement?.constraints ?? []).every((c) => {
    const m = /^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$/.exec(c);
    if (!m) return true;
    const [, field, op, want] = m as unknown as [string, string, string, string];
    const have = nodeField(node, field);
    if (have === null) return true;
    return op === "==" ? have === want : have !== want;
  });
}

function nodeField(n: SwarmNode, field: string): string | undefined | null {
  if (field === "node.id") return n.id;
  if (field === "node.hostname") return n.hostname;
  if (field === "node.role") return n.role;
  if (field === "node.platform.os") return n.os;
  if (field === "node.platform.arch") return n.arch;
  if (field.startsWith("node.labels.")) return n.labels[field.slice("node.labels.".length)];
  if (field.startsWith("engine.labels.")) return n.engineLabels[field.slice("engine.labels.".length)];
  return null;
}
