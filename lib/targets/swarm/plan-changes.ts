// Whether a stack plan changes anything: asked by the printers of a plan (cli/format.ts, `konta
// plan`) too, which an idle tick loads; here so that they do not load the Swarm conversion with it.

/** A StackPlan (stack.ts), by the fields this reads: no import, so stack.ts can use it too. */
export function stackHasChanges(p: { steps: unknown[]; networks: unknown[]; objects: unknown[] }): boolean {
  return p.steps.length > 0 || p.networks.length > 0 || p.objects.length > 0;
}
