#!/usr/bin/env bash
# Build Konta: dist/konta (linux-x64, the host) and, unless --quick, dist/konta-linux-arm64 and
# dist/konta.js (one bundled file for `bun dist/konta.js` where a ~100 MB binary is too big), each
# with a .sha256 beside it. The binaries never auto-load a .env or bunfig.toml from the working
# directory: Konta runs inside users' repositories.
set -euo pipefail
cd "$(dirname "$0")/.."
bun=node_modules/.bin/bun
version=$(node -p 'require("./package.json").version')
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
defines=(--define "KONTA_VERSION=\"$version\"" --define "KONTA_COMMIT=\"$commit\"")
compile=(build --compile --compile-exec-argv=--smol --minify --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig "${defines[@]}" cli/index.ts)
# the bytecode laid out in the order an idle tick, then a deploy, run it (most important first;
# written by `bun bench/run.ts --bytecode-order`)
for run in idle deploy deploy-cold; do
  [ -f "packaging/bytecode-order/$run.txt" ] && compile+=("--bytecode-order=packaging/bytecode-order/$run.txt")
done
mkdir -p dist
# konta(1) and konta.yaml(5), from the command tree and the README
"$bun" packaging/man.ts dist/man >/dev/null

checksum() { (cd dist && sha256sum "$1" >"$2.sha256"); }

"$bun" "${compile[@]}" --target=bun-linux-x64 --outfile dist/konta >/dev/null
checksum konta konta-linux-x64
[ "${1:-}" = "--quick" ] && exit 0

"$bun" "${compile[@]}" --target=bun-linux-arm64 --outfile dist/konta-linux-arm64 >/dev/null
checksum konta-linux-arm64 konta-linux-arm64
"$bun" build --target=bun --minify "${defines[@]}" cli/index.ts --outfile dist/konta.js >/dev/null
checksum konta.js konta.js
ls -l dist/konta dist/konta-linux-arm64 dist/konta.js
