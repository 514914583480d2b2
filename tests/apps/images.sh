#!/usr/bin/env bash
# Real application images, built with no registry from Debian 12's packages:
#   konta-apps/mariadb:10.11     mariadb-server             (tests/apps/mariadb/)
#   konta-apps/wordpress:6.1     wordpress, apache2, mod_php (tests/apps/wordpress/)
#   konta-apps/postgres:15       postgresql-15              (tests/apps/postgres/)
#   konta-apps/redis:7           redis-server               (tests/apps/redis/)
#   konta-apps/nginx:1.22        nginx                      (tests/apps/nginx/)
#   konta-apps/python:3.11       python3 with psycopg2 and redis (tests/apps/python/)
# Each keeps the official image's interface (variables, volume paths, port), so a Compose file written
# for mariadb:10.11, wordpress:6.1-apache, postgres:15, redis:7, nginx:1.22 or python:3.11-slim runs
# on them unchanged. The last four share one root (the "stack" root: one download, one layer).
# The roots are made once with debootstrap and kept as tarballs under $KONTA_APPS_CACHE
# (/var/cache/konta-tests/apps-1); the images are then built from them offline, in the engine of
# DOCKER_HOST: the host's, or a server box's with the cache mounted (then debootstrap is not needed).
# Idempotent: skips what the cache and the engine have.
#   images.sh [IMAGE...]  those images (mariadb, wordpress, postgres, redis, nginx, python; default all)
#   images.sh --roots     only the cached roots (on the host, for a server box to build the images from)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${KONTA_APPS_CACHE:-/var/cache/konta-tests/apps-1}
declare -A PACKAGES=(
  [mariadb]=mariadb-server,mariadb-client
  [wordpress]=wordpress,wordpress-theme-twentytwentythree,apache2,libapache2-mod-php,php-mysql,php-xml,curl,ca-certificates
  [stack]=postgresql-15,redis-server,nginx,python3,python3-psycopg2,python3-redis,curl,ca-certificates
)
# image: its root, its tag
declare -A ROOT=([mariadb]=mariadb [wordpress]=wordpress [postgres]=stack [redis]=stack [nginx]=stack [python]=stack)
declare -A TAGS=([mariadb]=10.11 [wordpress]=6.1 [postgres]=15 [redis]=7 [nginx]=1.22 [python]=3.11)

# what an image needs of a root: no package caches, documentation or translations; no database
# made by mariadb-server's or postgresql's postinst (a new volume starts empty and is initialised by
# the entry point)
slim() {
  chmod 755 "$1"
  rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/* "$1"/var/lib/mysql/* "$1"/var/lib/postgresql/15/main
}

root_tarball() {
  local app=$1 tar="$CACHE/$1-root.tar"
  [ -s "$tar" ] && return 0
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  mkdir -p "$CACHE"
  local mirror root
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d /var/tmp/konta-app-root.XXXXXX)
  echo "apps: debootstrap bookworm with ${PACKAGES[$app]} (a few minutes, once)"
  if ! debootstrap --variant=minbase --include="${PACKAGES[$app]}" bookworm "$root" "$mirror" >"$CACHE/$app-debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/$app-debootstrap.log" >&2
    rm -rf "$root"
    exit 1
  fi
  slim "$root"
  tar -C "$root" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$root"
}

if [ "${1:-}" = --roots ]; then
  # both at once: most of the time is the download
  pids=()
  for root in "${!PACKAGES[@]}"; do root_tarball "$root" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
  exit 0
fi
[ $# -gt 0 ] || set -- mariadb wordpress postgres redis nginx python
for app in "$@"; do
  [ -n "${ROOT[$app]:-}" ] || { echo "apps: no image called $app" >&2; exit 2; }
  image="konta-apps/$app:${TAGS[$app]}"
  docker image inspect "$image" >/dev/null 2>&1 && continue
  root=${ROOT[$app]}
  base="konta-apps/$root-root:1"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    root_tarball "$root"
    echo "apps: importing $base"
    docker import "$CACHE/$root-root.tar" "$base" >/dev/null
  fi
  echo "apps: building $image"
  docker build -q -t "$image" "$here/$app" >/dev/null
done
