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
export KONTA_BIN="$PWD/dist/konta"

echo "== tests: the host's engine restarted (alone: every server box and swarm node runs on it)"
RESTARTS_ENGINE=tests/faults/engine.test.ts
bun run test "$RESTARTS_ENGINE"

# Then four groups at once, each one bun process: the host engine's tests, the server boxes, the
# swarms followed by the nginx/PostgreSQL/Redis stack, and the chaos run (20 random faults with a
# fixed seed, every kind once, on a box of its own; the 500-step run is bench/chaos.ts) followed by
# WordPress (each real application on a box of its own) and the tests that use no engine. Boxes and
# swarm nodes carry their own label and subnets, so no clean-up or address-pool test of one group
# touches another; most of the boxes' time is waiting on timers. The host group is the longest: what
# needs no engine (no test support for containers, boxes or swarms) leaves it for the chaos group,
# where it cannot meet the host group's clean-ups.
# `bun run test <paths>` runs any group alone.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A pids=()
group() {
  local name=$1
  shift
  ( start=$SECONDS; status=0
    bun run test "$@" >"$logs/$name" 2>&1 || status=$?
    echo "== group $name: exit $status in $((SECONDS - start)) s" >>"$logs/$name"
    exit "$status" ) &
  pids[$name]=$!
}
mapfile -t host < <(find tests/unit tests/integration tests/faults tests/oracle tests/security -name '*.test.ts' ! -path "$RESTARTS_ENGINE" | sort)
engine=() offline=()
for f in "${host[@]}"; do
  if grep -qE 'support/(rig|docker|box|swarm)\.ts' "$f"; then engine+=("$f"); else offline+=("$f"); fi
done
group host "${engine[@]}"
group server tests/server
group swarm tests/swarm tests/apps/notes.test.ts
group chaos tests/chaos tests/apps/wordpress.test.ts "${offline[@]}"
failed=() passed=()
for name in host server swarm chaos; do
  if wait "${pids[$name]}"; then passed+=("$name"); else failed+=("$name"); fi
done
# a failing group's log last, then its failures again: what keeps only the end of the output shows them
for name in "${passed[@]}" "${failed[@]}"; do
  echo "== tests: $name"
  cat "$logs/$name"
done
if [ ${#failed[@]} -gt 0 ]; then
  for name in "${failed[@]}"; do
    echo "== failures in $name"
    grep -E -A8 '^error:' "$logs/$name" || true
    grep -E '^\(fail\)' "$logs/$name" || echo "(no failing test named: see its log above)"
  done
  echo "tests failed in: ${failed[*]}"
  exit 1
fi

echo "== smoke test (release binary in a container)"
bun packaging/smoke.ts
