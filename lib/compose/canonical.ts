// One Compose file, validated, brought to canonical forms before files are merged: lists that
// are really maps become maps, short port and volume syntax becomes long syntax, and relative
// paths become absolute (against the file's own folder, which matters for `extends` across
// folders). Merging and normalising then only deal with one form of each key.
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { redact } from "../base/redact.ts";
import { at, ComposeKeyError, type KeyPath } from "./errors.ts";
import { parseLongPort, parseShortPort } from "./ports.ts";
import { resolveComposePath } from "./paths.ts";

export interface FileContext {
  /** folder of the Compose file */
  dir: string;
  /** release root: relative paths may not leave it */
  repoRoot: string;
}

export type Raw = Record<string, any>;

export function scalarString(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}

/** ["A=1", "B"] or {A: 1, B: null} -> {A: "1", B: null} */
export function toMap(v: unknown, sepChar = "="): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const item of v as string[]) {
      const i = item.indexOf(sepChar);
      if (i < 0) out[item] = null;
      else out[item.slice(0, i)] = item.slice(i + 1);
    }
  } else if (v && typeof v === "object") {
    for (const [k, val] of Object.entries(v)) out[k] = val === null || val === undefined ? null : scalarString(val);
  }
  return out;
}

function toList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(scalarString) : v === undefined || v === null ? [] : [scalarString(v)];
}

/** extra_hosts: ["host:ip", "host=ip"] or {host: ip | [ip]} -> {host: [ip, ...]} */
function extraHosts(v: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (host: string, ip: string) => {
    const ips = (out[host] ??= []);
    if (!ips.includes(ip)) ips.push(ip);
  };
  if (Array.isArray(v)) {
    for (const entry of v as string[]) {
      const i = entry.includes("=") ? entry.indexOf("=") : entry.indexOf(":");
      if (i < 0) throw new Error(`invalid extra_hosts entry "${entry}" (use host:ip or host=ip)`);
      add(entry.slice(0, i), entry.slice(i + 1).replace(/^\[(.*)\]$/, "$1"));
    }
  } else {
    for (const [host, ips] of Object.entries(v as Record<string, unknown>)) for (const ip of toList(ips)) add(host, ip);
  }
  return out;
}

const VOLUME_MODES = new Set(["ro", "rw", "z", "Z", "nocopy", "shared", "slave", "private", "rshared", "rslave", "rprivate", "cached", "delegated", "consistent"]);

function isPathLike(s: string): boolean {
  return s.startsWith("/") || s.startsWith(".") || s.startsWith("~");
}

function hostPath(p: string, ctx: FileContext): string {
  return resolveComposePath(p, ctx.dir, ctx.repoRoot).path;
}

/** "src:dst:ro,z" / "dst" / long syntax -> long syntax with absolute bind sources */
function canonicalVolume(v: unknown, ctx: FileContext): Raw {
  if (typeof v !== "string") {
    const out: Raw = { ...(v as Raw) };
    if (out.type === "npipe" || out.type === "cluster" || out.type === "image") {
      throw new Error(`volume type "${out.type}" is not supported by Konta (use bind, volume or tmpfs)`);
    }
    if (!out.target) throw new Error("a volume needs a target");
    if (out.type === "bind") {
      if (!out.source) throw new Error("a bind mount needs a source");
      out.source = hostPath(out.source, ctx);
    }
    delete out.consistency;
    return out;
  }
  const parts = v.split(":");
  if (parts.length === 1) return { type: "volume", target: parts[0] };
  if (parts.length > 3) throw new Error(`invalid volume "${v}" (expected [source:]target[:mode])`);
  const [source, target, modeSpec] = parts as [string, string, string | undefined];
  const modes = modeSpec ? modeSpec.split(",") : [];
  for (const m of modes) if (!VOLUME_MODES.has(m)) throw new Error(`invalid volume mode "${m}" in "${v}"`);
  const out: Raw = { target };
  if (modes.includes("ro")) out.read_only = true;
  if (isPathLike(source)) {
    out.type = "bind";
    out.source = hostPath(source, ctx);
    const bind: Raw = { create_host_path: true };
    const prop = modes.find((m) => /^r?(shared|slave|private)$/.test(m));
    if (prop) bind.propagation = prop;
    const selinux = modes.find((m) => m === "z" || m === "Z");
    if (selinux) bind.selinux = selinux;
    out.bind = bind;
  } else {
    out.type = "volume";
    out.source = source;
    if (modes.includes("nocopy")) out.volume = { nocopy: true };
  }
  return out;
}

function canonicalDevice(v: unknown): Raw {
  if (typeof v !== "string") {
    const d = v as Raw;
    return { source: d.source, target: d.target ?? d.source, permissions: d.permissions ?? "rwm" };
  }
  const [source, target, permissions] = v.split(":") as [string, string?, string?];
  if (target && /^[rwm]+$/.test(target) && permissions === undefined) return { source, target: source, permissions: target };
  return { source, target: target || source, permissions: permissions || "rwm" };
}

function canonicalEnvFiles(v: unknown, ctx: FileContext, path: KeyPath): Raw[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((item, i) =>
    at([...path, i], () => {
      const e: Raw = typeof item === "string" ? { path: item, required: true } : { required: true, ...(item as Raw) };
      if (e.format && e.format !== "raw") throw new Error(`env_file format "${e.format}" is not supported`);
      return { path: hostPath(e.path, ctx), required: e.required, ...(e.format ? { format: e.format } : {}) };
    }),
  );
}

/** A build context the engine clones, as docker's urlutil tells them: git://, git@, github.com/, or http(s) to a .git path. */
export function isGitContext(context: string): boolean {
  if (/^(git:\/\/|git@|github\.com\/)/.test(context)) return true;
  const m = /^https?:\/\/[^#]*?\.git(#.*)?$/i.exec(context);
  return m !== null;
}

/** The commit a Git build context pins (`#<40 hex>` or `#<40 hex>:dir`), if it names one. */
export function pinnedCommit(url: string): string | undefined {
  return /#([0-9a-f]{40})(:|$)/i.exec(url)?.[1]?.toLowerCase();
}

function canonicalBuild(v: unknown, ctx: FileContext): Raw {
  const b: Raw = typeof v === "string" ? { context: v } : { ...(v as Raw) };
  const context = b.context ?? ".";
  if (isGitContext(context)) {
    // the engine clones it (POST /build?remote=); Dockerfile paths are the remote's
    b.git = true;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context)) {
    throw new Error(`build context "${redact(context)}" is a URL but not a Git repository; Konta builds from folders in the repository or from Git URLs`);
  } else {
    b.context = hostPath(context, ctx);
  }
  if (b.args !== undefined) b.args = toMap(b.args);
  if (b.labels !== undefined) b.labels = toMap(b.labels);
  if (b.extra_hosts !== undefined) b.extra_hosts = extraHosts(b.extra_hosts);
  return b;
}

function canonicalNetworks(v: unknown): Raw {
  if (Array.isArray(v)) return Object.fromEntries(v.map((n) => [n, {}]));
  return Object.fromEntries(Object.entries(v as Raw).map(([k, val]) => [k, val ?? {}]));
}

function canonicalDependsOn(v: unknown): Raw {
  if (Array.isArray(v)) return Object.fromEntries(v.map((s) => [s, { condition: "service_started", required: true }]));
  return Object.fromEntries(Object.entries(v as Raw).map(([k, d]) => [k, { required: true, ...(d as Raw) }]));
}

function canonicalFileRef(v: unknown): Raw {
  return typeof v === "string" ? { source: v } : { ...(v as Raw) };
}

function canonicalUlimits(v: Raw): Raw {
  return Object.fromEntries(Object.entries(v).map(([k, l]) => [k, typeof l === "number" ? { soft: l, hard: l } : l]));
}

export function canonicalService(svc: Raw, ctx: FileContext, path: KeyPath): Raw {
  const out: Raw = { ...svc };
  const field = <T>(key: string, fn: (v: any) => T) => {
    if (out[key] !== undefined && out[key] !== null) out[key] = at([...path, key], () => fn(out[key]));
  };
  for (const key of ["environment", "labels", "annotations", "sysctls", "storage_opt"]) field(key, (v) => toMap(v));
  field("extra_hosts", extraHosts);
  for (const key of ["dns", "dns_search", "tmpfs", "label_file", "expose", "group_add"]) field(key, toList);
  field("label_file", (files: string[]) => files.map((f) => hostPath(f, ctx)));
  field("ports", (ports: unknown[]) =>
    ports.flatMap((p, i) => at([...path, "ports", i], () => (typeof p === "object" ? [parseLongPort(p as never)] : parseShortPort(p as string)))),
  );
  field("volumes", (vols: unknown[]) => vols.map((v, i) => at([...path, "volumes", i], () => canonicalVolume(v, ctx))));
  field("devices", (devs: unknown[]) => devs.map(canonicalDevice));
  field("env_file", (v) => canonicalEnvFiles(v, ctx, [...path, "env_file"]));
  field("build", (v) => canonicalBuild(v, ctx));
  field("networks", canonicalNetworks);
  field("depends_on", canonicalDependsOn);
  field("secrets", (list: unknown[]) => list.map(canonicalFileRef));
  field("configs", (list: unknown[]) => list.map(canonicalFileRef));
  field("ulimits", canonicalUlimits);
  if (out.deploy?.labels) out.deploy = { ...out.deploy, labels: toMap(out.deploy.labels) };
  if (typeof out.extends === "string") out.extends = { service: out.extends };
  return out;
}

function canonicalTopLevel(kind: "networks" | "volumes" | "secrets" | "configs", entries: Raw, ctx: FileContext): Raw {
  const out: Raw = {};
  for (const [key, value] of Object.entries(entries)) {
    const e: Raw = { ...(value ?? {}) };
    if (e.labels !== undefined) e.labels = toMap(e.labels);
    if (typeof e.external === "object" && e.external !== null) {
      // legacy `external: {name: x}`
      e.name ??= e.external.name;
      e.external = true;
    }
    if ((kind === "secrets" || kind === "configs") && e.file !== undefined) {
      e.file = at([kind, key, "file"], () => hostPath(e.file, ctx));
    }
    out[key] = e;
  }
  return out;
}

export function canonicalFile(raw: Raw, ctx: FileContext): Raw {
  const out: Raw = { ...raw };
  if (raw.services) {
    out.services = {};
    for (const [name, svc] of Object.entries(raw.services as Raw)) {
      if (svc === null || typeof svc !== "object") throw new ComposeKeyError("a service must be a mapping", ["services", name]);
      out.services[name] = canonicalService(svc, ctx, ["services", name]);
    }
  }
  for (const kind of ["networks", "volumes", "secrets", "configs"] as const) {
    if (raw[kind]) out[kind] = canonicalTopLevel(kind, raw[kind], ctx);
  }
  return out;
}
