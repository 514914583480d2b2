// Where a run's time and memory go, step by step. With --verbose the run ends with one line that
// says how long each step took and the resident memory after it; bench/ reads that line for
// RESULTS.md. Times count from the start of the process, not of this image: cli/runtime.ts hands
// the first image's start to the second when it starts the binary again without the JIT.
// No imports: cli/runtime.ts loads this before anything else, in both images.
const STARTED_AT = "KONTA_STARTED_AT";

let processStart = performance.timeOrigin;
let recording = false;
const marks: { step: string; at: number; rssBytes: number }[] = [];

/** The environment that tells the next image of this process when the process started. */
export const startedAtEnv = (): Record<string, string> => ({ [STARTED_AT]: String(processStart) });

/** Take the start handed over by startedAtEnv, and keep it out of what hooks and tools inherit. */
export function adoptStartedAt(): void {
  const at = Number(process.env[STARTED_AT]);
  if (at > 0 && at <= performance.timeOrigin) processStart = at;
  delete process.env[STARTED_AT];
}

/** Record the steps from now on (--verbose: reading the RSS at each step is a system call). */
export function recordSteps(): void {
  recording = true;
}

/** A step of the run has ended. */
export function step(name: string): void {
  if (recording) marks.push({ step: name, at: performance.timeOrigin + performance.now(), rssBytes: process.memoryUsage.rss() });
}

/** `steps: runtime and config +82 ms 32.1 MB; lock and state +3 ms 33.9 MB; …` (each step's own time, the RSS after it). */
export function describeSteps(): string | undefined {
  if (!marks.length) return undefined;
  let previous = processStart;
  const parts = marks.map((m) => {
    const part = `${m.step} +${Math.round(m.at - previous)} ms ${(m.rssBytes / 1048576).toFixed(1)} MB`;
    previous = m.at;
    return part;
  });
  return `steps: ${parts.join("; ")}`;
}
