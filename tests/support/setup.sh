#!/usr/bin/env bash
# Install and start what the test suite needs on a Debian machine (root): Docker engine (Debian's
# docker.io, started with vfs storage and no iptables), busybox-static for the offline test image,
# git (for git http-backend), systemd (systemd-analyze), docker-compose (v1) and Compose v2 (tests/support/compose-v2.sh),
# the npm dependencies (Bun comes from the npm registry) and the server-box image. Idempotent: skips what is there.
#   --demo: only what packaging/demo.sh needs (the engine, busybox, git, the npm dependencies)
#   --quick: what `tests/run.sh --quick` needs (no server-box image, no real applications' roots)
set -euo pipefail
cd "$(dirname "$0")/../.."
demo=false quick=false
[ "${1:-}" = --demo ] && demo=true
[ "${1:-}" = --quick ] && quick=true

need=()
command -v dockerd >/dev/null || need+=(docker.io)
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null; } || need+=(busybox-static)
command -v git >/dev/null || need+=(git)
if ! $demo; then
  command -v systemd-analyze >/dev/null || need+=(systemd)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  [ -x /usr/bin/time ] || need+=(time)
  command -v curl >/dev/null || need+=(curl)
  # Git over SSH (tests/support/ssh-server.ts): a real sshd on loopback, and the client Konta runs
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  command -v ssh >/dev/null || need+=(openssh-client)
  # signed commits (tests/integration/signed.test.ts): keys made by gpg, checked by Konta with gpgv
  command -v gpg >/dev/null || need+=(gpg)
  command -v gpgv >/dev/null || need+=(gpgv)
  # the man pages' test renders them (packaging/man.ts)
  command -v groff >/dev/null || need+=(groff-base)
  command -v man >/dev/null || need+=(man-db)
  # the .deb is built with dpkg-deb and checked with lintian
  command -v lintian >/dev/null || need+=(lintian)
  # clock jumps as Konta sees them (tests/faults/clock.test.ts)
  [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || need+=(libfaketime)
  # the chaos run's state disk (tests/chaos/): a loop-mounted ext4
  command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
  # the status page: metrics checked by Prometheus (promtool, and a real scrape), the page opened
  # by a real browser
  command -v promtool >/dev/null || need+=(prometheus)
  command -v chromium >/dev/null || need+=(chromium fonts-dejavu-core)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash tests/support/start-dockerd.sh
$demo && exit 0

# Docker Compose v2, the oracle of tests/oracle/ (Debian 13's package, cached)
bash tests/support/compose-v2.sh
$quick && exit 0

# The server in a box (tests/server/): Debian 12 + systemd + docker.io, built once and cached
# under /var/cache/konta-tests (debootstrap, about a minute the first time).
bash tests/server/build-image.sh
# The roots of the real applications' images (tests/apps/), cached the same way
bash tests/apps/images.sh --roots
