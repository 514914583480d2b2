// Streaming a pack allocates a buffer per network chunk and per object, all garbage at once, but
// Bun's collector does not count memory outside its heap as pressure: left alone, RSS grows by the
// size of the pack before a collection runs. A full collection of this small heap takes about a
// millisecond, so one runs after every few MB streamed.
const EVERY = 4 * 1024 * 1024;
let since = 0;

export function reclaimAfter(bytes: number): void {
  since += bytes;
  if (since < EVERY) return;
  since = 0;
  Bun.gc(true);
}
