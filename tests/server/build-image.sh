#!/usr/bin/env bash
# Build the "server in a box" image: a Debian 12 root with systemd as PID 1 and Debian's docker.io,
# a private registry (docker-registry + htpasswd from apache2-utils), git for the test Git server and
# OpenSSH (client and server) for Git over SSH, libfaketime for the chaos run's clock jumps.
# Cached: the root is made once with debootstrap, its tarball kept under /var/cache/konta-tests/,
# and the image is imported again only when the engine lacks it.
set -euo pipefail
IMAGE=${KONTA_BOX_IMAGE:-konta-test/server-box:5}
CACHE=${KONTA_BOX_CACHE:-/var/cache/konta-tests}
TARBALL="$CACHE/server-box-5.tar"
PACKAGES=systemd,systemd-sysv,dbus,ca-certificates,curl,git,docker.io,busybox-static,docker-registry,apache2-utils,procps,iproute2,openssh-client,openssh-server,libfaketime

if docker image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi
mkdir -p "$CACHE"
rm -f "$CACHE"/server-box-[0-9]*.tar.tmp
# an older box's root (each is ~700 MB)
for old in "$CACHE"/server-box-[0-9]*.tar; do [ "$old" = "$TARBALL" ] || rm -f "$old"; done
if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d /var/tmp/konta-box-root.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "server box: debootstrap bookworm from $mirror (about a minute, once)"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
  # What a cloud image has and the tests rely on: docker enabled, no registry running until a test
  # configures one, a resolver that fails at once (no network here), journald keeping logs.
  chroot "$root" systemctl enable docker.service >/dev/null 2>&1 || true
  chroot "$root" systemctl disable docker-registry.service >/dev/null 2>&1 || true
  # dbus and logind cannot start in a container without CAP_SYS_RESOURCE and would hold the boot in
  # "starting"; a VPS that runs Konta needs neither (systemctl talks to systemd directly as root)
  chroot "$root" systemctl mask dbus.service dbus.socket systemd-logind.service systemd-update-utmp-runlevel.service \
    systemd-resolved.service getty@tty1.service console-getty.service >/dev/null 2>&1 || true
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
  chmod 755 "$root" # mktemp made it 0700, and tar keeps that for the box's /
  echo konta-box >"$root/etc/hostname"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
fi
echo "server box: importing $IMAGE"
docker import -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' "$TARBALL" "$IMAGE" >/dev/null
