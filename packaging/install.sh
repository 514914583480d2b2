#!/usr/bin/env bash
# Install (or upgrade) the konta binary, checksum verified, then hand over to `konta install`.
#
#   bash install.sh --binary ./konta-linux-x64 --sha256 <hex> [--prefix /usr/local] [-- <konta install flags>]
#   bash install.sh --binary ./konta --checksum-file ./konta-linux-x64.sha256 -- --repo https://github.com/acme/infra.git < token.txt
#
# Idempotent and safe to re-run for upgrades: the new binary is copied beside the old one and
# renamed over it, so a failed or refused upgrade leaves the old binary in place.
# DESTDIR=<dir> installs into a throwaway root (packaging tests): config, state and units go
# under it too, and systemctl is not run.
set -euo pipefail

binary="" sum="" sumfile="" prefix="/usr/local"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --sha256) sum="$2"; shift 2 ;;
    --checksum-file) sumfile="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit "${2:-2}"; }
[ -n "$binary" ] || die "--binary <file> is required"
[ -f "$binary" ] || die "$binary does not exist"
if [ -n "$sumfile" ]; then
  [ -f "$sumfile" ] || die "$sumfile does not exist"
  sum=$(awk '{print $1; exit}' "$sumfile")
fi
[[ "$sum" =~ ^[0-9a-fA-F]{64}$ ]] || die "--sha256 <64 hex characters> or --checksum-file <file> is required"

actual=$(sha256sum "$binary" | awk '{print $1}')
if [ "${actual,,}" != "${sum,,}" ]; then
  die "checksum mismatch for $binary: expected ${sum,,}, got $actual; nothing was installed" 1
fi

root="${DESTDIR:-}"
bindir="$root$prefix/bin"
target="$bindir/konta"
mkdir -p "$bindir"
tmp="$bindir/.konta.new.$$"
trap 'rm -f "$tmp"' EXIT
install -m 0755 "$binary" "$tmp"
"$tmp" version >/dev/null || die "the new binary does not run on this machine; nothing was installed" 1
if [ -f "$target" ]; then
  old_version=$("$target" version 2>/dev/null || echo unknown)
  cp -p "$target" "$target.old"
  echo "upgrading $target ($old_version -> $("$tmp" version))"
fi
mv -f "$tmp" "$target"
trap - EXIT
# written, the binary is cached in large blocks that the kernel maps whole into every run: each run's
# RSS would count ~5 MB more than after a reboot (lib/base/libc.ts, dropFromPageCache). Drop them
# (written back first: dirty pages stay).
{ sync "$target" && dd if="$target" iflag=nocache count=0 status=none; } 2>/dev/null || true
echo "installed $target ($("$target" version))"

args=("$@")
if [ -n "$root" ]; then
  args=(--config "$root/etc/konta/config.yaml" --state-dir "$root/var/lib/konta" --unit-dir "$root/etc/systemd/system" --no-enable --binary "$prefix/bin/konta" "${args[@]}")
fi
exec "$target" install "${args[@]}"
