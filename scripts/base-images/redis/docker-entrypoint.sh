#!/bin/sh
# Behaves like the official redis image's entrypoint.
set -eu

# `docker run image --requirepass x` or `docker run image /path/redis.conf`
case "${1:-}" in
  -* | *.conf) set -- redis-server "$@" ;;
esac

# Started as root: own the data, then run this script again as user redis.
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find /data \! -user redis -exec chown redis '{}' + 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "${1:-}" = redis-server ]; then
  shift
  case "${1:-}" in
    -v | --version | -h | --help | --test-memory | --check-system)
      # informational modes take no configuration
      set -- redis-server "$@" ;;
    '' | -*)
      # No config file: the official image's defaults (later arguments win).
      set -- redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@" ;;
    *)
      # A config file comes first and is in charge of bind/protected-mode.
      set -- redis-server "$@" ;;
  esac
  umask 0077
fi

exec "$@"
