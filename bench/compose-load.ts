// The Compose loader alone: 50 projects of 5 services each, with the keys real projects use.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRelease } from "../lib/compose/index.ts";
import { type Stats, stats } from "./lib.ts";

function project(i: number): string {
  const services: string[] = [];
  for (let s = 0; s < 5; s++) {
    services.push(`  svc${s}:
    image: "registry.example.com/app${i}/svc${s}:\${TAG:-1.${s}}"
    command: ["serve", "--port", "${8000 + s}"]
    environment:
      - NODE_ENV=production
      - DB_URL=postgres://db/app${i}
      - WORKERS=${s + 1}
    env_file: [common.env]
    labels:
      konta.managed: "true"
      traefik.http.routers.app${i}s${s}.rule: Host(\`s${s}.app${i}.example.com\`)
    ports: ["127.0.0.1:${10000 + i * 10 + s}:${8000 + s}"]
    volumes: ["data${s}:/data", "./config:/config:ro"]
    healthcheck: { test: ["CMD", "wget", "-qO-", "http://localhost:${8000 + s}/health"], interval: 10s, retries: 3 }
    restart: unless-stopped
    deploy: { resources: { limits: { memory: 256m, cpus: "0.5" } } }
${s > 0 ? `    depends_on: { svc0: { condition: service_healthy } }\n` : ""}`);
  }
  return `x-logging: &logging\n  driver: json-file\nservices:\n${services.join("")}volumes:\n${[0, 1, 2, 3, 4].map((s) => `  data${s}: {}`).join("\n")}\n`;
}

export async function benchComposeLoad(runs: number): Promise<Stats> {
  const root = mkdtempSync(join(tmpdir(), "konta-bench-load-"));
  try {
    for (let i = 0; i < 50; i++) {
      const dir = join(root, "apps", `app${i}`);
      mkdirSync(join(dir, "config"), { recursive: true });
      writeFileSync(join(dir, "docker-compose.yml"), project(i));
      writeFileSync(join(dir, "common.env"), "LOG_LEVEL=info\n");
      writeFileSync(join(dir, ".env"), "TAG=2.0\n");
      writeFileSync(join(dir, "config/app.json"), `{"app": ${i}}\n`);
    }
    const opts = { repoRoot: root, processEnv: {} };
    loadRelease(root, opts); // warm-up (and a check that it loads)
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const projects = loadRelease(root, opts);
      times.push(performance.now() - t);
      if (projects.length !== 50) throw new Error("expected 50 projects");
    }
    return stats(times);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const s = await benchComposeLoad(20);
  console.log(`load 50 projects x 5 services: median ${s.median.toFixed(1)} ms (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}, ${s.n} runs)`);
}
