// Bun's collector does not count memory outside its heap (network and file buffers, documents
// parsed by native code) as pressure: left alone, one step's garbage is still there when the next
// step allocates, and a run's peak RSS is the sum of its steps rather than the largest of them. A
// full collection of Konta's small heap takes a few milliseconds; it runs after every few MB a
// stream goes through, and where a deploy's step leaves most of its garbage behind.
const EVERY = 4 * 1024 * 1024;
let since = 0;

/** `bytes` more went through a stream (a pack, a checkout): collect once every few MB. */
export function reclaimAfter(bytes: number): void {
  since += bytes;
  if (since < EVERY) return;
  settleHeap();
}

/** Collect the garbage of the step that just ended, before the next one allocates. */
export function settleHeap(): void {
  since = 0;
  Bun.gc(true);
}
