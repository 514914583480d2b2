// The chaos run's short variant, in every CI run: 20 random steps on a server in a box with a fixed
// seed (tests/chaos/chaos.ts), the first ones one of each kind. KONTA_CHAOS_SEED / KONTA_CHAOS_STEPS
// replay or lengthen a run; bench/chaos.ts is the 500-step run.
import { expect, test } from "bun:test";
import { EFFECT, runChaos, STEP_KINDS, type StepKind } from "./chaos.ts";

const SEED = Number(process.env.KONTA_CHAOS_SEED ?? 20261204);
const STEPS = Number(process.env.KONTA_CHAOS_STEPS ?? 20);
// KONTA_CHAOS_ONLY=reboot,good: draw only these kinds
const ONLY = process.env.KONTA_CHAOS_ONLY?.split(",") as StepKind[] | undefined;

test(`${STEPS} random faults and commits (seed ${SEED}): after each, what runs is the live release's, nothing lost`, async () => {
  const r = await runChaos({ steps: STEPS, seed: SEED, only: ONLY, log: (line) => console.log(line) });
  console.log(["kind | drawn | took effect", ...STEP_KINDS.map((k) => `${k} | ${r.kinds[k]} | ${r.effects[k]} (${EFFECT[k]})`)].join("\n"));
  console.log(`bad commits exempt from "notified exactly once": ${r.exemptions.length ? r.exemptions.join("; ") : "none"}`);
  console.log(`engine restarts for a kept port: ${r.engineRestarts} (at most ${r.engineRestartBound}, one per reboot or engine restart)`);
  expect(r.checks).toBe(STEPS + 1);
  // every kind drawn took effect at least once: a run whose faults found nothing to disrupt proves nothing
  const drawn = STEP_KINDS.filter((k) => r.kinds[k] > 0);
  expect(drawn.filter((k) => r.effects[k] === 0)).toEqual([]);
  if (!ONLY && STEPS >= STEP_KINDS.length) expect(drawn).toEqual([...STEP_KINDS]);
  expect(r.engineRestarts).toBeLessThanOrEqual(r.engineRestartBound);
  // an exemption is a bad commit a fault interrupted: never more than the faults that interrupt
  expect(r.exemptions.length).toBeLessThanOrEqual(r.kinds.kill + r.kinds["docker-restart"] + r.kinds.reboot + r.kinds["disk-full"]);
}, 3_600_000);
