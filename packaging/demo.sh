#!/usr/bin/env bash
# Try Konta on this machine: installs what is missing, builds dist/konta, creates an example Git
# repository with one app, serves it on loopback, runs `konta sync` against the local Docker engine
# and shows the app answering. `bash packaging/demo.sh --clean` removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--clean" ]; then
  # the engine, busybox, git and the npm dependencies: not the test suite's Compose oracle or server box
  bash tests/support/setup.sh --demo
  bash packaging/build.sh --quick
fi
exec node_modules/.bin/bun packaging/demo.ts "$@"
