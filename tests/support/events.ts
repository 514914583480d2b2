// The engine's own event stream, recorded while a run goes: what happened in which order, as the
// engine saw it (a test's expectation, never Konta's own account of it).
import { SOCKET } from "./docker.ts";

export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

/** The engine's events from now until `stop()`: containers, networks and volumes. */
export function recordEvents(): { stop(): Promise<EngineEvent[]> } {
  const controller = new AbortController();
  const events: EngineEvent[] = [];
  const reading = (async () => {
    const res = await fetch(`http://localhost/v1.41/events?filters=${encodeURIComponent(JSON.stringify({ type: ["container", "network", "volume"] }))}`, { unix: SOCKET, signal: controller.signal } as RequestInit);
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body as ReadableStream<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as EngineEvent);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    async stop() {
      // the engine sends an event as it happens: let the last ones of the run arrive
      await Bun.sleep(500);
      controller.abort();
      await reading;
      return events;
    },
  };
}
