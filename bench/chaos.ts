// The long chaos run: `bun bench/chaos.ts [--steps N] [--seed S]` (default 500 steps, seed
// 20261204) on a server in a box (tests/chaos/chaos.ts), then bench/CHAOS.md: the steps by kind,
// the duration, the invariants checked. A violation exits 1 with the seed, step and evidence.
// Beside CI, give it an engine of its own (the suite restarts the default one):
//   bash bench/chaos-engine.sh && DOCKER_HOST=unix:///var/run/docker-chaos.sock bun bench/chaos.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EFFECT, runChaos, STEP_KINDS } from "../tests/chaos/chaos.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = arg("steps", 500);
const seed = arg("seed", 20261204);

const started = new Date();
const kept: string[] = [];
const r = await runChaos({
  steps,
  seed,
  box: "kt-chaos-bench-box",
  log: (line) => {
    console.log(line);
    if (line.includes("the engine kept a port")) kept.push(line);
  },
});
const rows = STEP_KINDS.map((k) => `| ${k} | ${r.kinds[k]} | ${r.effects[k]} | ${EFFECT[k]} |`).join("\n");
const doc = `# Chaos run (\`bun bench/chaos.ts --steps ${steps} --seed ${seed}\`)

Started ${started.toISOString()}; ${r.steps} steps in ${(r.durationMs / 60_000).toFixed(1)} min; ${r.checks} invariant checks passed
(after the set-up and after every step). What each step is and what is checked: tests/chaos/chaos.ts
and docs/reliability.md. The box's engine (Docker 20.10) kept a port after a reboot or an engine restart
${r.engineRestarts} time(s) (at most ${r.engineRestartBound}, one per reboot or engine restart): Konta said so without blaming the commit, and the driver restarted the engine as its
message says (the log of the run shows, each time, that no container published the port).

| step | times | took effect | what taking effect is |
|---|---|---|---|
${rows}

Bad commits exempt from "notified exactly once" (a fault interrupted their run; notified once or twice):
${r.exemptions.length ? r.exemptions.map((e) => `- ${e}`).join("\n") : "none"}
${kept.length ? `\nEach time the engine kept a port, what it and the host said about it (\`docker ps -a\`, \`ss -ltnp\`):\n\n\`\`\`\n${kept.join("\n")}\n\`\`\`\n` : ""}`;
writeFileSync(join(import.meta.dir, "CHAOS.md"), doc);
console.log(doc);
