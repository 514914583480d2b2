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
export KONTA_BIN="$PWD/dist/konta"
# Two groups at once: the server boxes and swarms (tests/server, tests/swarm: each box runs its own
# engine; they carry their own label) beside the tests of the host engine. Most of the boxes' time
# is waiting on timers and rollouts, so the suite takes about the time of the longer group.
# `bun run test <paths>` runs one group alone.
boxes_log=$(mktemp)
trap 'rm -f "$boxes_log"' EXIT
bun run test tests/server tests/swarm >"$boxes_log" 2>&1 &
boxes=$!
host=0
bun run test tests/unit tests/integration tests/faults tests/oracle tests/security || host=$?
boxes_status=0
wait "$boxes" || boxes_status=$?
echo "== tests: server boxes and swarms"
cat "$boxes_log"
[ "$host" -eq 0 ] && [ "$boxes_status" -eq 0 ] || { echo "tests failed (host engine: exit $host, boxes and swarms: exit $boxes_status)"; exit 1; }
echo "== smoke test (release binary in a container)"
KONTA_BIN="$PWD/dist/konta" bun packaging/smoke.ts
