#!/usr/bin/env bash
# A Docker engine of its own for the long chaos run (bench/chaos.ts), so that it can run beside CI:
# the test suite restarts the engine on /var/run/docker.sock (tests/faults/engine.test.ts), which
# would take the chaos box down with it. Own socket, data and exec roots, bridge and cgroup parent.
#   bash bench/chaos-engine.sh && DOCKER_HOST=unix:///var/run/docker-chaos.sock bun bench/chaos.ts
set -euo pipefail
sock=/var/run/docker-chaos.sock
ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }
if ping; then exit 0; fi
ip link show kt-chbr >/dev/null 2>&1 || { ip link add kt-chbr type bridge && ip addr add 10.231.0.1/24 dev kt-chbr && ip link set kt-chbr up; }
mkdir -p /var/lib/docker-chaos /var/run/docker-chaos
nohup env -u TMPDIR dockerd --storage-driver=vfs --iptables=false --bridge=kt-chbr --data-root=/var/lib/docker-chaos \
  --exec-root=/var/run/docker-chaos --pidfile=/var/run/docker-chaos.pid -H "unix://$sock" --cgroup-parent=docker-chaos \
  >/tmp/konta-dockerd-chaos.log 2>&1 &
for _ in $(seq 1 60); do
  if ping; then exit 0; fi
  sleep 0.5
done
echo "chaos engine: dockerd did not answer within 30s; last log lines:" >&2
tail -n 20 /tmp/konta-dockerd-chaos.log >&2
exit 1
