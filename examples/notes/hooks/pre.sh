#!/bin/bash
# Before every deploy, a dump of the notes database into /var/backups/konta (the newest 14 kept).
# A dump that fails aborts the deploy before anything changes: no update without a backup.
# Restore one into the running database:
#   gunzip -c /var/backups/konta/notes-<time>-<commit>.sql.gz | docker exec -i notes-db-1 psql -q -U notes -d notes
set -euo pipefail
db=notes-db-1
if [ "$(docker inspect -f '{{.State.Running}}' "$db" 2>/dev/null)" != true ]; then
  echo "backup: $db is not running (the first deploy?): nothing to dump"
  exit 0
fi
mkdir -p /var/backups/konta
out=/var/backups/konta/notes-$(date -u +%Y%m%dT%H%M%SZ)-${KONTA_COMMIT:0:12}.sql.gz
docker exec "$db" pg_dump -U notes --clean --if-exists notes | gzip >"$out.tmp"
mv "$out.tmp" "$out"
ls -1t /var/backups/konta/notes-*.sql.gz | tail -n +15 | xargs -r rm --
echo "backup: $out ($(stat -c %s "$out") bytes)"
