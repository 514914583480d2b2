#!/bin/sh
# The offline MariaDB image's entry point: the official image's interface (MARIADB_DATABASE,
# MARIADB_USER, MARIADB_PASSWORD[_FILE], MARIADB_ROOT_PASSWORD[_FILE], MARIADB_ROOT_HOST; an empty /var/lib/mysql is
# initialised once, a filled one is used as it is), so that a Compose file written for `mariadb:10.11`
# runs on it unchanged.
set -eu
from_file() {
  name=$1
  file=$(eval "printf %s \"\${${name}_FILE:-}\"")
  if [ -n "$file" ]; then
    value=$(cat "$file")
    export "$name=$value"
  fi
}
from_file MARIADB_PASSWORD
from_file MARIADB_ROOT_PASSWORD
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld /var/lib/mysql

if [ ! -d /var/lib/mysql/mysql ]; then
  : "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD or MARIADB_ROOT_PASSWORD_FILE is required for a new database}"
  echo "mariadb: initialising /var/lib/mysql"
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=normal >/dev/null
  mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  i=0
  until mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 120 ] || { echo "mariadb: the server did not start" >&2; exit 1; }
    sleep 0.5
  done
  sql() { printf '%s' "$1" | sed "s/'/''/g"; }
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(sql "$MARIADB_ROOT_PASSWORD")';"
    # root from other hosts too, as the official image does by default (MARIADB_ROOT_HOST)
    root_host=${MARIADB_ROOT_HOST:-%}
    if [ "$root_host" != localhost ]; then
      echo "CREATE USER 'root'@'$(sql "$root_host")' IDENTIFIED BY '$(sql "$MARIADB_ROOT_PASSWORD")';"
      echo "GRANT ALL ON *.* TO 'root'@'$(sql "$root_host")' WITH GRANT OPTION;"
    fi
    if [ -n "${MARIADB_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"; fi
    if [ -n "${MARIADB_USER:-}" ]; then
      echo "CREATE USER '$(sql "$MARIADB_USER")'@'%' IDENTIFIED BY '$(sql "${MARIADB_PASSWORD:-}")';"
      if [ -n "${MARIADB_DATABASE:-}" ]; then echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$(sql "$MARIADB_USER")'@'%';"; fi
    fi
  } | mariadb --socket=/run/mysqld/init.sock -uroot
  mariadb-admin --socket=/run/mysqld/init.sock -uroot -p"$MARIADB_ROOT_PASSWORD" shutdown
  wait $pid || true
  echo "mariadb: initialised"
fi
exec mariadbd --user=mysql "$@"
