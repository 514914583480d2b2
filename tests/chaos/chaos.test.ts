// The chaos run's short variant, in every CI run: 20 random steps on a server in a box with a fixed
// seed (tests/chaos/chaos.ts), the first ones one of each kind. KONTA_CHAOS_SEED / KONTA_CHAOS_STEPS
// replay or lengthen a run; bench/chaos.ts is the 500-step run.
import { expect, test } from "bun:test";
import { runChaos, STEP_KINDS, type StepKind } from "./chaos.ts";

const SEED = Number(process.env.KONTA_CHAOS_SEED ?? 20261204);
const STEPS = Number(process.env.KONTA_CHAOS_STEPS ?? 20);
// KONTA_CHAOS_ONLY=reboot,good: draw only these kinds
const ONLY = process.env.KONTA_CHAOS_ONLY?.split(",") as StepKind[] | undefined;

test(`${STEPS} random faults and commits (seed ${SEED}): after each, what runs is the live release's, nothing lost`, async () => {
  const r = await runChaos({ steps: STEPS, seed: SEED, only: ONLY, log: (line) => console.log(line) });
  expect(r.checks).toBe(STEPS + 1);
  if (!ONLY && STEPS >= STEP_KINDS.length) expect(Object.entries(r.kinds).filter(([, n]) => n === 0)).toEqual([]);
}, 3_600_000);
