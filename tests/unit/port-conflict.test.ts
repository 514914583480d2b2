// The engine's "port is already allocated", told apart: another container's port (the configuration)
// or one the engine keeps for no container (an engine fault). The 20.10 message is the one the
// chaos run's box engine gave after a power cut (docs/reliability.md).
import { describe, expect, test } from "bun:test";
import type { ContainerSummary } from "../../lib/docker/engine.ts";
import { portConflict, refusedBinding } from "../../lib/docker/port-conflict.ts";

const STALE_20_10 =
  "driver failed programming external connectivity on endpoint web-web-1 (e69b0c6b7ce3b01fd52e069e03a8e4aa4b77c210338bec4d015f66685d2655cd): Bind for 127.0.0.1:18080 failed: port is already allocated";

const container = (id: string, name: string, ports: ContainerSummary["Ports"], labels: Record<string, string> = {}): ContainerSummary => ({
  Id: id,
  Names: [`/${name}`],
  Image: "img",
  ImageID: "sha256:1",
  Labels: labels,
  State: "running",
  Status: "Up",
  Created: 0,
  Ports: ports,
});

const conflict = (message: string, running: ContainerSummary[]) => {
  const binding = refusedBinding(message);
  return binding === undefined ? undefined : portConflict(binding, "self", running);
};

describe("portConflict", () => {
  test("no container publishes the port: nobody to name (the engine keeps it)", () => {
    const running = [container("self", "web-web-1", [{ IP: "127.0.0.1", PrivatePort: 8080, PublicPort: 18080, Type: "tcp" }]), container("b", "other", [{ PrivatePort: 80, Type: "tcp" }])];
    expect(conflict(STALE_20_10, running)).toEqual({ binding: "127.0.0.1:18080", holders: [] });
  });

  test("another container on the same or every address holds it: named, managed or not", () => {
    const running = [
      container("a", "squatter", [{ IP: "0.0.0.0", PrivatePort: 80, PublicPort: 18080, Type: "tcp" }]),
      container("b", "api-api-1", [{ IP: "127.0.0.1", PrivatePort: 53, PublicPort: 18080, Type: "udp" }], { "konta.managed": "true", "com.docker.compose.project": "api" }),
      container("c", "elsewhere", [{ IP: "127.0.0.2", PrivatePort: 80, PublicPort: 18080, Type: "tcp" }]),
      container("d", "next-door", [{ IP: "127.0.0.1", PrivatePort: 80, PublicPort: 18081, Type: "tcp" }]),
    ];
    expect(conflict(STALE_20_10, running)?.holders).toEqual(["squatter (not managed by Konta)", "api-api-1 (project api)"]);
  });

  test("an IPv6 binding and any other engine error", () => {
    expect(conflict("driver failed programming external connectivity on endpoint x (1): Bind for [::]:443 failed: port is already allocated", [])).toEqual({ binding: "[::]:443", holders: [] });
    expect(conflict("Conflict. The container name is already in use", [])).toBeUndefined();
  });
});
