#!/usr/bin/env bash
# Runs inside a server box (as root): what the scenarios need besides Konta itself.
#   - the offline test images konta-test/busybox:1 and :2 (busybox-static, `docker import`)
#   - a private registry on 127.0.0.1:5000 (Debian's docker-registry, htpasswd auth; users from
#     REGISTRY_USERS="user:password ...")
#   - the test Git smart-HTTP server on 127.0.0.1:8418 (token auth, GIT_TOKEN), serving /srv/git;
#     none without GIT_TOKEN
set -euo pipefail
SRC=/opt/konta-src

for v in 1 2; do
  docker image inspect konta-test/busybox:$v >/dev/null 2>&1 && continue
  root=$(mktemp -d)
  chmod 755 "$root" # the image's / (mktemp makes it 0700: no other user could run anything)
  mkdir -p "$root"/{bin,etc,tmp,www,data,proc,sys,dev,root}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for a in sh sleep httpd echo cat ls mkdir true false env kill touch rm test printf id wget nc date grep ps tail head wc seq cp mv; do
    ln -s busybox "$root/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  echo "image $v" >"$root/www/index.html"
  tar -C "$root" -c . | docker import - konta-test/busybox:$v >/dev/null
  rm -rf "$root"
done

if [ -n "${REGISTRY_USERS:-}" ]; then
  : >/etc/docker/registry/htpasswd
  for up in $REGISTRY_USERS; do htpasswd -Bbn "${up%%:*}" "${up#*:}" >>/etc/docker/registry/htpasswd; done
  cat >/etc/docker/registry/config.yml <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
auth:
  htpasswd:
    realm: konta-test
    path: /etc/docker/registry/htpasswd
YAML
  systemctl restart docker-registry.service
  for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:5000/v2/ && break; sleep 0.2; done
fi

# GIT_TOKEN unset: the images (and registry) only, no Git server (e.g. the nodes of a test swarm)
[ -n "${GIT_TOKEN:-}" ] || exit 0
mkdir -p /srv/git
git_server=("$SRC/node_modules/bun/bin/bun.exe" "$SRC/tests/support/git-server.ts" --root /srv/git --token "$GIT_TOKEN" --port 8418)
if [ -d /run/systemd/system ]; then
  systemctl stop konta-git-server.service 2>/dev/null || true
  systemd-run --quiet --unit=konta-git-server --property=Restart=on-failure "${git_server[@]}"
else # a plain Docker-in-Docker container (the smoke test): no systemd
  nohup setsid "${git_server[@]}" >/var/log/konta-git-server.log 2>&1 &
fi
for _ in $(seq 1 50); do
  curl -s -o /dev/null http://127.0.0.1:8418/ && exit 0
  sleep 0.2
done
echo "the test Git server did not start" >&2
{ journalctl -u konta-git-server --no-pager 2>/dev/null || cat /var/log/konta-git-server.log; } | tail -n 20 >&2
exit 1
