#!/usr/bin/env bash
# Start Debian's dockerd for tests unless an engine already answers on /var/run/docker.sock.
# vfs storage and no iptables: what works inside this kind of sandbox. Copes with a stale pid file.
set -euo pipefail
sock=/var/run/docker.sock
ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }
if ping; then exit 0; fi
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi
if [ -f /run/containerd/containerd.pid ] && ! kill -0 "$(cat /run/containerd/containerd.pid)" 2>/dev/null; then
  rm -f /run/containerd/containerd.pid
fi
log=${KONTA_DOCKERD_LOG:-/tmp/konta-dockerd.log}
echo "setup: starting dockerd (log: $log)"
# a daemon, not part of the test that (re)starts it: no TMPDIR of a test process (runc keeps its
# exec files there, and tests/support/tmp.ts removes that folder when the test process ends)
nohup env -u TMPDIR dockerd --storage-driver=vfs --iptables=false >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if ping; then exit 0; fi
  sleep 0.5
done
echo "setup: dockerd did not answer within 30s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1
