// Rules that depend on the target run where the target is known: the loader models a file with
// replicas behind one host port; the engine target refuses it (file, line, key), a Swarm takes it.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ComposeKeyError } from "../../lib/compose/errors.ts";
import { loadProject, refuseKey } from "../../lib/compose/index.ts";
import { checkEngineRules } from "../../lib/targets/engine/rules.ts";

function engineError(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "konta-rules-"));
  try {
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(join(root, "apps/app"), { recursive: true });
      writeFileSync(join(root, "apps/app", f), text);
    }
    // the loader takes the file: a Swarm can apply it
    const project = loadProject(join(root, "apps/app"), "app", { repoRoot: root });
    try {
      checkEngineRules(project);
    } catch (err) {
      if (err instanceof ComposeKeyError) return refuseKey(project, root, err).message;
      throw err;
    }
    return "";
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe("the engine target refuses what one host cannot do, naming file, line and key", () => {
  const file = "apps/app/docker-compose.yml";
  test.each([
    ["replicas with a fixed host port", "services:\n  s:\n    image: busybox\n    ports: ['8080:80']\n    deploy: {replicas: 2}\n", [`${file}:4: services.s.ports:`, "one container only", "2 replicas", '"8080-8081:80"']],
    ["replicas with container_name", "services:\n  s:\n    image: busybox\n    container_name: one\n    scale: 2\n", [`${file}:4: services.s.container_name:`, "replicas"]],
    ["start-first with a fixed host port", "services:\n  s:\n    image: busybox\n    ports: ['8080:80']\n    deploy: {update_config: {order: start-first}}\n", [`${file}:5: services.s.deploy.update_config.order:`, "fixed host port"]],
  ])("%s", (_name, yaml, expected) => {
    const message = engineError({ "docker-compose.yml": yaml });
    for (const e of expected) expect(message).toContain(e);
  });

  test("the line is the override file's when the override asks for it", () => {
    const message = engineError({
      "docker-compose.yml": "services:\n  s:\n    image: busybox\n    ports: ['8080:80']\n",
      "docker-compose.override.yml": "services:\n  s:\n    deploy:\n      replicas: 3\n    ports: ['8080:80']\n",
    });
    expect(message).toContain("apps/app/docker-compose.override.yml:5: services.s.ports:");
  });

  test("a range of host ports, one per replica, is fine", () => {
    expect(engineError({ "docker-compose.yml": "services:\n  s:\n    image: busybox\n    ports: ['8080-8081:80']\n    deploy: {replicas: 2}\n" })).toBe("");
  });
});
