#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs and starts what is missing (Docker engine,
# busybox, git, npm dependencies), type-checks, builds the binaries and runs every test against the
# real engine and a real Git server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/support/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== typecheck"
bun run typecheck
echo "== build"
bash packaging/build.sh
bash packaging/deb/build.sh
echo "== tests"
# One process, one file after another: tests/faults restarts the host's dockerd, which every server
# box and swarm node runs on, so the boxes cannot run beside the host-engine tests.
KONTA_BIN="$PWD/dist/konta" bun run test
echo "== smoke test (release binary in a container)"
KONTA_BIN="$PWD/dist/konta" bun packaging/smoke.ts
