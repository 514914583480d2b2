#!/bin/sh
# As the official image's: flags alone are redis-server's; with no config file, listen on every
# address without protected mode (the container's network is the boundary)
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"
fi
exec "$@"
