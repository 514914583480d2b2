// Start order from depends_on (and the implicit dependencies of network_mode: service:,
// volumes_from and links): levels of services whose dependencies are all in earlier levels.
import type { ServiceModel } from "../../compose/model.ts";
import { serviceReferences } from "../../compose/references.ts";

export function serviceDependencies(s: ServiceModel): string[] {
  return [...new Set(serviceReferences(s).map((r) => r.name))];
}

/** Levels of the given services; dependencies outside `services` (unmanaged ones) are ignored. */
export function startLevels(services: ServiceModel[]): string[][] {
  const names = new Set(services.map((s) => s.name));
  const remaining = new Map(services.map((s) => [s.name, serviceDependencies(s).filter((d) => names.has(d))]));
  const levels: string[][] = [];
  const placed = new Set<string>();
  while (remaining.size) {
    const level = [...remaining.entries()].filter(([, deps]) => deps.every((d) => placed.has(d))).map(([n]) => n).sort();
    if (!level.length) throw new Error(`circular dependency between services: ${[...remaining.keys()].join(", ")}`);
    for (const n of level) {
      placed.add(n);
      remaining.delete(n);
    }
    levels.push(level);
  }
  return levels;
}

/** Run `fn` over `items`, at most `limit` at once; the first failure stops new work and is rethrown. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
