#!/usr/bin/env bash
# The baseline Konta is measured against: the cron job many servers run today. It pulls the
# repository and runs `docker compose up -d` for every app (Docker Compose v2, what users run;
# tests/support/compose-v2.sh installs it). Usage: baseline.sh <clone dir> <project prefix>
set -euo pipefail
cd "$1"
# the same Compose files as Konta's; its containers are not labelled konta.managed=true
export KONTA_BENCH_MANAGED=false
git fetch -q origin main
git reset -q --hard origin/main
for dir in apps/*/; do
  app=$(basename "$dir")
  docker compose -p "$2$app" -f "$dir/docker-compose.yml" up -d --remove-orphans >/dev/null 2>&1
done
