#!/bin/bash
# Before every deploy, a dump of the blog's database into /var/backups/konta (the newest 14 kept).
# A dump that fails aborts the deploy before anything changes: no update without a backup.
# Restore one (docs/examples.md, "WordPress on a 512 MB VPS"):
#   gunzip -c /var/backups/konta/blog-<time>.sql.gz | docker exec -i blog-db-1 sh -c 'mariadb -uroot -p"$(cat /run/secrets/db_root_password)"'
set -euo pipefail
db=blog-db-1
if [ "$(docker inspect -f '{{.State.Running}}' "$db" 2>/dev/null)" != true ]; then
  echo "backup: $db is not running (the first deploy?): nothing to dump"
  exit 0
fi
mkdir -p /var/backups/konta
out=/var/backups/konta/blog-$(date -u +%Y%m%dT%H%M%SZ)-${KONTA_COMMIT:0:12}.sql.gz
docker exec "$db" sh -c 'exec mariadb-dump -uroot -p"$(cat /run/secrets/db_root_password)" --single-transaction --routines --databases wordpress' | gzip >"$out.tmp"
mv "$out.tmp" "$out"
ls -1t /var/backups/konta/blog-*.sql.gz | tail -n +15 | xargs -r rm --
echo "backup: $out ($(stat -c %s "$out") bytes)"
