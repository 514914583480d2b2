// The loader oracle: every project of the fixture corpus (tests/fixtures/compose/apps) loaded by
// Konta and by `docker compose config` (Compose v2), compared service by service after the
// normalisation in views.ts. The expected answer is Compose's, computed here, never written by
// Konta. What differs on purpose is listed below with its reason (and in the README).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import { dockerCompose } from "../support/compose-oracle.ts";
import { composeBuild, composeResources, composeView, kontaBuild, kontaResources, kontaView, type View } from "./views.ts";

const ROOT = join(import.meta.dir, "../fixtures/compose");
const options: Record<string, { env?: Record<string, string>; passthrough?: string[]; profiles?: string[]; hostEnv?: string }> = JSON.parse(
  readFileSync(join(ROOT, "options.json"), "utf8"),
);
const work = mkdtempSync(join(tmpdir(), "konta-oracle-loader-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Projects Compose 2.26 refuses while Konta loads them, why Konta accepts them, and the edit that
 * makes Compose load the same meaning (applied to a copy for Compose only): the rest of the project
 * is still compared.
 */
export const COMPOSE_REFUSES: Record<string, { why: string; edit: [string, string][] }> = {
  "depends-on": {
    why: "depends_on with required: false on a service the project does not define: the specification allows it (newer Compose only warns); Compose 2.26 refuses",
    edit: [["      cache:\n        condition: service_started\n        required: false\n", ""]],
  },
  "engine-keys": {
    why: 'cpu_rt_runtime and cpu_rt_period as durations ("400ms", "1400us"): the specification allows them; Compose 2.26 parses only microseconds',
    edit: [
      ["cpu_rt_runtime: 400ms", "cpu_rt_runtime: 400000"],
      ["cpu_rt_period: 1400us", "cpu_rt_period: 1400"],
    ],
  },
  resources: { why: 'cpu_period as a duration ("100ms"): the specification allows it; Compose 2.26 parses only microseconds', edit: [["cpu_period: 100ms", "cpu_period: 100000"]] },
  "volumes-long": { why: 'tmpfs.mode as a string ("1770", read as octal): Compose 2.26 wants a number', edit: [['mode: "1770"', "mode: 1016"]] },
};

/** Fields that differ on purpose: "<project>/<service>.<field>" -> reason. */
export const KNOWN: Record<string, string> = {};

function composeProject(name: string) {
  const o = options[name] ?? {};
  const real = join(ROOT, "apps", name);
  let dir = real;
  const refused = COMPOSE_REFUSES[name];
  if (refused) {
    // a copy with the one edit Compose needs; its paths are reported as the real folder's
    dir = join(work, "edited", name);
    cpSync(real, dir, { recursive: true });
    const file = join(dir, "docker-compose.yml");
    let text = readFileSync(file, "utf8");
    for (const [from, to] of refused.edit) {
      if (!text.includes(from)) throw new Error(`${name}: the edit for Compose no longer applies: ${from}`);
      text = text.replace(from, to);
    }
    writeFileSync(file, text);
  }
  const args = ["config", "--format", "json"];
  if (o.hostEnv) {
    const hostEnv = join(work, `${name}.env`);
    writeFileSync(hostEnv, o.hostEnv);
    args.unshift(...(existsSync(join(dir, ".env")) ? ["--env-file", join(dir, ".env")] : []), "--env-file", hostEnv);
  }
  for (const p of o.profiles ?? []) args.unshift("--profile", p);
  return JSON.parse(dockerCompose(dir, name, args, o.env ?? {}).replaceAll(dir, real));
}

function kontaProject(name: string) {
  const o = options[name] ?? {};
  let hostEnvDir: string | undefined;
  if (o.hostEnv) {
    hostEnvDir = mkdtempSync(join(work, "hostenv-"));
    writeFileSync(join(hostEnvDir, `${name}.env`), o.hostEnv);
    chmodSync(join(hostEnvDir, `${name}.env`), 0o600);
  }
  return loadProject(join(ROOT, "apps", name), name, { repoRoot: ROOT, processEnv: o.env ?? {}, passthrough: o.passthrough ?? [], profiles: o.profiles ?? [], hostEnvDir });
}

describe("Konta's loader against docker compose config", () => {
  for (const name of readdirSync(join(ROOT, "apps")).sort()) {
    test(name, () => {
      const model = kontaProject(name);
      if (COMPOSE_REFUSES[name]) expect(() => dockerCompose(join(ROOT, "apps", name), name, ["config", "--format", "json"])).toThrow();
      const oracle = composeProject(name);
      expect(Object.keys(model.services).sort()).toEqual(Object.keys(oracle.services).sort());
      for (const [svc, c] of Object.entries<any>(oracle.services)) {
        const theirs: View = { ...composeView(c, oracle, model.dir), build: composeBuild(c.build, model.dir) };
        const ours: View = { ...kontaView(model.services[svc]!, model), build: kontaBuild(model.services[svc]!.build, model.dir) };
        for (const field of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
          const key = `${name}/${svc}.${field}`;
          if (KNOWN[key]) continue;
          if (field === "image" && theirs.image === undefined) continue; // a build without image: Compose names it at build time
          expect({ [key]: ours[field] }).toEqual({ [key]: theirs[field] });
        }
      }
      expect(kontaResources(model)).toEqual(composeResources(oracle));
    });
  }
});
