#!/bin/sh
# The offline WordPress image's entry point: an empty content volume gets Debian's default content
# (themes, plugins), as the official image fills /var/www/html; then Apache in the foreground.
set -eu
if [ ! -d /var/www/html/wp-content ]; then
  cp -a /var/lib/wordpress/wp-content /var/www/html/wp-content
  chown -R www-data:www-data /var/www/html/wp-content
fi
# (envvars reads variables it may not find set)
set +u
. /etc/apache2/envvars
set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
rm -f "$APACHE_PID_FILE"
exec apache2 -DFOREGROUND "$@"
