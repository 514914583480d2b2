#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs and starts what is missing (Docker engine,
# busybox, git, npm dependencies), type-checks, builds the binaries and runs every test against the
# real engine and a real Git server.
#   --quick: unit, oracle, security and host integration tests (no fault suite, server boxes,
#            swarms, chaos run or real applications): a contributor's inner loop
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = --quick ] && quick=true
if $quick; then bash tests/support/setup.sh --quick; else bash tests/support/setup.sh; fi
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== typecheck"
bun run typecheck
echo "== build"
bash packaging/build.sh
bash packaging/deb/build.sh
export KONTA_BIN="$PWD/dist/konta"
echo "== konta check of the examples (as a repository's CI runs it)"
for example in examples/*/; do "$KONTA_BIN" check "$example"; done

# Every *.test.ts under tests/ runs in exactly one group, by where it is; a file no rule places
# fails the run, naming it (a test nobody runs is worse than none).
#   restart: the test that restarts the host's engine, alone first (every box and swarm node runs on it)
#   host:    the host engine's tests (unit/integration/faults/oracle/security files that use the engine)
#   server:  the server boxes; swarm: the swarms, then the nginx/PostgreSQL/Redis stack
#   chaos:   the chaos run, then WordPress, then the tests that use no engine
# The four groups after restart run at once, each one bun process. Boxes and swarm nodes carry
# their own label and subnets, so no clean-up or address-pool test of one group touches another;
# most of the boxes' time is waiting on timers. The host group is the longest: what needs no
# engine leaves it for the chaos group, where it cannot meet the host group's clean-ups.
# `bun run test <paths>` runs any group or file alone.
declare -A files=()
unplaced=()
place() { files[$1]+="$2 "; }
while IFS= read -r f; do
  case $f in
    tests/faults/engine.test.ts) place restart "$f" ;;
    tests/server/*) place server "$f" ;;
    tests/swarm/* | tests/apps/notes.test.ts) place swarm "$f" ;;
    tests/chaos/* | tests/apps/wordpress.test.ts) place chaos "$f" ;;
    tests/unit/* | tests/integration/* | tests/faults/* | tests/oracle/* | tests/security/*)
      if grep -qE 'support/(rig|docker|box|swarm)\.ts' "$f"; then place host "$f"; else place offline "$f"; fi ;;
    *) unplaced+=("$f") ;;
  esac
done < <(find tests -name '*.test.ts' | sort)
if [ ${#unplaced[@]} -gt 0 ]; then
  echo "tests/run.sh: no group runs ${unplaced[*]}: place it in tests/run.sh" >&2
  exit 1
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A pids=() expected=()
group() {
  local name=$1
  shift
  expected[$name]=$#
  ( start=$SECONDS; status=0
    bun run test "$@" >"$logs/$name" 2>&1 || status=$?
    echo "== group $name: exit $status in $((SECONDS - start)) s" >>"$logs/$name"
    exit "$status" ) &
  pids[$name]=$!
}
# bun's summary: " N pass", " N skip", " N fail", "Ran N tests across M files."
count() { grep -E "^ *[0-9]+ $2\$" "$logs/$1" | tail -n1 | tr -dc 0-9; }
filesRan() { sed -nE 's/^Ran [0-9]+ tests? across ([0-9]+) files?\..*/\1/p' "$logs/$1" | tail -n1; }

# A group's result: its exit status, its totals, and whether every file of it ran at least one test.
failed=() passed=()
settle() {
  local name=$1 status=0
  wait "${pids[$name]}" || status=$?
  local pass skip fail ran
  pass=$(count "$name" pass) skip=$(count "$name" skip) fail=$(count "$name" fail) ran=$(filesRan "$name")
  pass=${pass:-0} skip=${skip:-0} fail=${fail:-0} ran=${ran:-0}
  totals+=("$(printf '%-8s %6s %6s %6s %6s/%s' "$name" "$pass" "$skip" "$fail" "$ran" "${expected[$name]}")")
  ((all_pass += pass, all_skip += skip, all_fail += fail)) || true
  if [ "$status" != 0 ]; then failed+=("$name")
  elif [ $((pass + fail)) = 0 ]; then echo "== group $name ran no test" >>"$logs/$name"; failed+=("$name")
  elif [ "$ran" != "${expected[$name]}" ]; then echo "== group $name: $ran of ${expected[$name]} files ran" >>"$logs/$name"; failed+=("$name")
  else passed+=("$name"); fi
}
totals=()
all_pass=0 all_skip=0 all_fail=0

if $quick; then
  # shellcheck disable=SC2086 # the file lists are space-separated paths without spaces
  group host $(printf '%s\n' ${files[host]} | grep -v '^tests/faults/')
  # shellcheck disable=SC2086
  group offline $(printf '%s\n' ${files[offline]} | grep -v '^tests/faults/')
  names=(host offline)
else
  echo "== tests: the host's engine restarted (alone: every server box and swarm node runs on it)"
  # shellcheck disable=SC2086
  group restart ${files[restart]}
  settle restart
  cat "$logs/restart"
  # shellcheck disable=SC2086
  group host ${files[host]}
  # shellcheck disable=SC2086
  group server ${files[server]}
  # shellcheck disable=SC2086
  group swarm ${files[swarm]}
  # shellcheck disable=SC2086
  group chaos ${files[chaos]} ${files[offline]}
  names=(host server swarm chaos)
fi
for name in "${names[@]}"; do settle "$name"; done

# a failing group's log last, then its failures again: what keeps only the end of the output shows them
for name in "${passed[@]}" "${failed[@]}"; do
  [ "$name" = restart ] && continue
  echo "== tests: $name"
  cat "$logs/$name"
done
echo "== totals (tests passed, skipped, failed; files that ran/files of the group)"
printf '%-8s %6s %6s %6s %s\n' group pass skip fail files
printf '%s\n' "${totals[@]}"
printf '%-8s %6s %6s %6s\n' all "$all_pass" "$all_skip" "$all_fail"
if [ ${#failed[@]} -gt 0 ]; then
  for name in "${failed[@]}"; do
    echo "== failures in $name"
    grep -E -A8 '^error:' "$logs/$name" || true
    grep -E '^\(fail\)|^== group' "$logs/$name" || echo "(no failing test named: see its log above)"
  done
  echo "tests failed in: ${failed[*]}"
  exit 1
fi
$quick && exit 0

echo "== smoke test (release binary in a container)"
bun packaging/smoke.ts
