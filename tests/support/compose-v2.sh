#!/usr/bin/env bash
# Docker Compose v2 (compose-go), the reference for Compose semantics: Debian 13's docker-compose
# package, a static Go binary that runs here and speaks to the 20.10 engine. Fetched without
# touching the machine's apt sources (../shared/FACTS.md), cached under /var/cache/konta-tests and
# installed as the docker CLI plugin (`docker compose`). Idempotent.
set -euo pipefail
CACHE=/var/cache/konta-tests/docker-compose-v2
PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
if [ ! -x "$CACHE" ]; then
  echo "setup: fetching Docker Compose v2 (Debian trixie's docker-compose)"
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial"
  echo "deb $mirror trixie main" > "$work/sources.list"
  A=(-o APT::Sandbox::User=root -o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/dev/null -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work")
  apt-get "${A[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${A[@]}" download docker-compose >/dev/null)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/x"
  mkdir -p "$(dirname "$CACHE")"
  install -m 755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$CACHE"
fi
if ! cmp -s "$CACHE" "$PLUGIN"; then
  mkdir -p "$(dirname "$PLUGIN")"
  install -m 755 "$CACHE" "$PLUGIN"
fi
docker compose version >/dev/null
