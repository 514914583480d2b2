// Merging canonical Compose files (override files, `extends`) with the specification's rules:
// mappings merge recursively, `command`/`entrypoint`/`healthcheck.test` are replaced, sequences
// that identify resources (ports, volumes, secrets, ...) merge by their key, other sequences append
// without duplicates.
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import type { Raw } from "./canonical.ts";
import { portKey } from "./ports.ts";

const REPLACE = new Set(["command", "entrypoint"]);

const KEYED: Record<string, (item: any) => string> = {
  ports: (p) => portKey(p),
  volumes: (v) => v.target,
  devices: (d) => d.target,
  secrets: (s) => s.target ?? s.source,
  configs: (c) => c.target ?? c.source,
  env_file: (e) => e.path,
};

function isMap(v: unknown): v is Raw {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function mergeKeyed(base: any[], over: any[], key: (item: any) => string): any[] {
  const out = new Map<string, any>();
  for (const item of base) out.set(key(item), item);
  for (const item of over) out.set(key(item), item);
  return [...out.values()];
}

function appendUnique(base: any[], over: any[]): any[] {
  const seen = new Set(base.map((v) => JSON.stringify(v)));
  return [...base, ...over.filter((v) => !seen.has(JSON.stringify(v)))];
}

function mergeValue(key: string, base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (base === undefined || base === null || over === null) return over;
  if (REPLACE.has(key) && path.split(".").length === 1) return over;
  if (path === "healthcheck.test") return over;
  if (key === "logging" && isMap(base) && isMap(over) && over.driver && base.driver && over.driver !== base.driver) return over;
  if (Array.isArray(base) && Array.isArray(over)) {
    const keyed = path.split(".").length === 1 ? KEYED[key] : undefined;
    if (keyed) return mergeKeyed(base, over, keyed);
    if (path === "ipam.config") return over;
    return appendUnique(base, over);
  }
  if (isMap(base) && isMap(over)) return mergeMaps(base, over, path);
  return over;
}

function mergeMaps(base: Raw, over: Raw, prefix: string): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = mergeValue(k, base[k], v, prefix ? `${prefix}.${k}` : k);
  }
  return out;
}

/** `over` on top of `base`, both canonical services. */
export function mergeService(base: Raw, over: Raw): Raw {
  return mergeMaps(base, over, "");
}

/** `tree` without the values at `paths` (copies along each path; `tree` is left alone). */
function dropPaths(tree: Raw, paths: string[][]): Raw {
  const drop = (node: Raw, path: string[]): Raw => {
    const [head, ...rest] = path as [string, ...string[]];
    if (!isMap(node) || !(head in node)) return node;
    const out: Raw = { ...node };
    if (rest.length) out[head] = drop(node[head], rest);
    else delete out[head];
    return out;
  };
  return paths.reduce(drop, tree);
}

/**
 * `over` file on top of `base` file, both canonical. What `over` tags `!reset` or `!override` is
 * first dropped from `base`: reset leaves it unset, override leaves only `over`'s value.
 */
export function mergeFiles(base: Raw, over: Raw, tagged: string[][] = []): Raw {
  base = dropPaths(base, tagged);
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === "services" && isMap(v)) {
      const services: Raw = { ...(base.services ?? {}) };
      for (const [name, svc] of Object.entries(v)) services[name] = services[name] ? mergeService(services[name], svc) : svc;
      out.services = services;
    } else if (isMap(v) && isMap(base[k])) {
      const section: Raw = { ...base[k] };
      for (const [name, def] of Object.entries(v)) {
        section[name] = isMap(def) && isMap(section[name]) ? mergeMaps(section[name], def, "") : def;
      }
      out[k] = section;
    } else {
      out[k] = v;
    }
  }
  return out;
}
