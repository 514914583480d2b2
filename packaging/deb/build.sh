#!/usr/bin/env bash
# dist/konta_<version>_<arch>.deb (amd64, arm64) with dpkg-deb, Debian's own tool: the release binary
# in /usr/bin, the systemd units installed but not enabled, konta(1) and konta.yaml(5), completions
# for bash, zsh and fish, the copyright and changelog. Run packaging/build.sh first.
#   bash packaging/deb/build.sh [amd64|arm64 ...]
# KONTA_DEB_VERSION, KONTA_DEB_BINARY (one architecture) and KONTA_DEB_OUT (default dist) override.
set -euo pipefail
cd "$(dirname "$0")/../.."
bun=node_modules/.bin/bun
version=${KONTA_DEB_VERSION:-$(node -p 'require("./package.json").version')}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)
for arch in "${archs[@]}"; do
  case $arch in
    amd64) bin=${KONTA_DEB_BINARY:-dist/konta} ;;
    arm64) bin=${KONTA_DEB_BINARY:-dist/konta-linux-arm64} ;;
    *) echo "deb: unknown architecture $arch (amd64, arm64)" >&2; exit 2 ;;
  esac
  [ -x "$bin" ] || { echo "deb: no $bin; run packaging/build.sh first" >&2; exit 2; }
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  chmod 755 "$root"
  install -d -m 755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/konta" "$root/usr/share/lintian/overrides"
  install -m 755 "$bin" "$root/usr/bin/konta"
  "$bun" packaging/deb/files.ts "$root"
  install -m 644 packaging/deb/copyright "$root/usr/share/doc/konta/copyright"
  # a native package (no Debian revision): its changelog is changelog.gz
  sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -R -u -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")/" packaging/deb/changelog | gzip -9n >"$root/usr/share/doc/konta/changelog.gz"
  chmod 644 "$root/usr/share/doc/konta/changelog.gz"
  install -m 644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/konta"
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/deb/control >"$root/DEBIAN/control"
  for script in postinst prerm postrm; do install -m 755 "packaging/deb/$script" "$root/DEBIAN/$script"; done
  find "$root" -type d -exec chmod 755 {} +
  out=${KONTA_DEB_OUT:-dist}/konta_${version}_${arch}.deb
  dpkg-deb --root-owner-group -Zgzip -z3 --build "$root" "$out" >/dev/null
  rm -rf "$root"
  trap - EXIT
  echo "$out"
done
