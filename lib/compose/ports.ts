// `ports:` short syntax ("127.0.0.1:8080:80/udp", "[::1]:80:80", "9090-9091:8080-8081", 80)
// and long syntax, to sorted, de-duplicated long-form entries.
import type { PortModel } from "./model.ts";
import { collate } from "../base/collate.ts";

export class PortError extends Error {}

function parseRange(s: string, what: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new PortError(`invalid ${what} "${s}" in port "${spec}"`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 0 || b > 65535 || b < a) throw new PortError(`invalid ${what} range "${s}" in port "${spec}"`);
  return [a, b];
}

function protocolOf(p: string | undefined, spec: string): PortModel["protocol"] {
  const proto = (p ?? "tcp").toLowerCase();
  if (proto !== "tcp" && proto !== "udp" && proto !== "sctp") throw new PortError(`invalid protocol "${p}" in port "${spec}"`);
  return proto;
}

export function parseShortPort(input: string | number): PortModel[] {
  const spec = String(input).trim();
  const [addr, proto] = spec.split("/") as [string, string | undefined];
  const protocol = protocolOf(proto, spec);
  let hostIp: string | undefined;
  let rest = addr;
  const bracket = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(addr);
  if (bracket) {
    hostIp = bracket[1];
    rest = bracket[2] as string;
  }
  const parts = rest.split(":");
  const container = parts.pop() as string;
  const host = parts.length ? (parts.pop() as string) : undefined;
  if (parts.length) {
    if (hostIp) throw new PortError(`invalid port "${spec}"`);
    hostIp = parts.join(":"); // unbracketed IPv6 or IPv4 address
  }
  const [c0, c1] = parseRange(container, "container port", spec);
  if (c0 === 0) throw new PortError(`invalid container port 0 in "${spec}"`);
  const base = { protocol, ...(hostIp ? { host_ip: hostIp } : {}) };
  if (host === undefined || host === "") {
    const out: PortModel[] = [];
    for (let p = c0; p <= c1; p++) out.push({ target: p, ...base });
    return out;
  }
  const [h0, h1] = parseRange(host, "host port", spec);
  if (c0 === c1) return [{ target: c0, published: h0 === h1 ? String(h0) : `${h0}-${h1}`, ...base }];
  if (h1 - h0 !== c1 - c0) throw new PortError(`port "${spec}": host and container ranges must have the same length`);
  const out: PortModel[] = [];
  for (let i = 0; i <= c1 - c0; i++) out.push({ target: c0 + i, published: String(h0 + i), ...base });
  return out;
}

export interface LongPort {
  target: number | string;
  published?: number | string;
  host_ip?: string;
  protocol?: string;
  mode?: string;
  name?: string;
  app_protocol?: string;
}

export function parseLongPort(p: LongPort): PortModel {
  const spec = JSON.stringify(p);
  const target = Number(p.target);
  if (!Number.isInteger(target) || target < 1 || target > 65535) throw new PortError(`invalid target port in ${spec}`);
  const out: PortModel = { target, protocol: protocolOf(p.protocol, spec) };
  if (p.published !== undefined && p.published !== "") {
    const [a, b] = parseRange(String(p.published), "published port", spec);
    out.published = a === b ? String(a) : `${a}-${b}`;
  }
  if (p.host_ip) out.host_ip = p.host_ip;
  if (p.mode && p.mode !== "ingress") out.mode = p.mode as PortModel["mode"];
  if (p.name) out.name = p.name;
  if (p.app_protocol) out.app_protocol = p.app_protocol;
  return out;
}

export function portKey(p: PortModel): string {
  return `${p.host_ip ?? ""}|${p.published ?? ""}|${p.target}/${p.protocol}`;
}

export function sortPorts(ports: PortModel[]): PortModel[] {
  const unique = new Map(ports.map((p) => [portKey(p), p]));
  return [...unique.values()].sort(
    (a, b) =>
      a.target - b.target ||
      collate(a.protocol, b.protocol) ||
      collate(a.host_ip ?? "", b.host_ip ?? "") ||
      collate(a.published ?? "", b.published ?? ""),
  );
}

/** The host ports a service holds, "ip:port/protocol" (ip empty: every address), ranges expanded (up to 1024). */
export function hostBindings(ports: PortModel[] | undefined): string[] {
  const out: string[] = [];
  for (const p of ports ?? []) {
    if (!p.published) continue;
    const [from, to = from] = p.published.split("-").map(Number) as [number, number?];
    for (let port = from; port <= Math.min(to, from + 1023); port++) out.push(`${p.host_ip ?? ""}:${port}/${p.protocol}`);
  }
  return [...new Set(out)].sort();
}

/** Two host bindings that cannot both be held: the same port and protocol on the same or every address. */
export function bindingsClash(a: string, b: string): boolean {
  const split = (x: string) => {
    const i = x.lastIndexOf(":");
    return { ip: x.slice(0, i), rest: x.slice(i + 1) };
  };
  const [x, y] = [split(a), split(b)];
  const any = (ip: string) => ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]";
  return x.rest === y.rest && (x.ip === y.ip || any(x.ip) || any(y.ip));
}
