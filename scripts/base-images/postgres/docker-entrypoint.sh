#!/usr/bin/env bash
# Behaves like the official postgres image's entrypoint: initialise an empty
# $PGDATA (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, their *_FILE variants,
# POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, /docker-entrypoint-initdb.d),
# then run the server in the foreground as user postgres.
set -Eeuo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# file_env VAR [default]: read VAR, or the file named by VAR_FILE.
file_env() {
  local var=$1 file_var="${1}_FILE" def=${2:-} val
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  val=$def
  if [ -n "${!var:-}" ]; then
    val=${!var}
  elif [ -n "${!file_var:-}" ]; then
    val=$(<"${!file_var}")
  fi
  export "$var=$val"
  unset "$file_var"
}

# `docker run image -c max_connections=200`
if [ "${1:0:1}" = - ]; then
  set -- postgres "$@"
fi

# Started as root: prepare directories, then run this script again as postgres.
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA" || :
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 2777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (Or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a
       password; not recommended.)
MSG
    exit 1
  fi

  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA" || :
  read -ra initdb_args <<<"$POSTGRES_INITDB_ARGS"
  # A file rather than <(...): /dev/fd is not available everywhere (gVisor).
  pwfile=
  if [ -n "$POSTGRES_PASSWORD" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb_args+=("--pwfile=$pwfile")
  fi
  # Local (unix socket) connections are trusted, every TCP connection needs the
  # password (unless POSTGRES_HOST_AUTH_METHOD says otherwise).
  rc=0
  initdb --username="$POSTGRES_USER" --auth-local=trust --auth-host="$auth" "${initdb_args[@]}" || rc=$?
  [ -z "$pwfile" ] || rm -f "$pwfile"
  [ "$rc" -eq 0 ] || exit "$rc"
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  # A temporary server on the unix socket only, for creating the database and
  # running the init scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
  psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER")
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case $f in
      *.sh)
        if [ -x "$f" ]; then
          echo "running $f"; "$f"
        else
          echo "sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi ;;
      *.sql) echo "running $f"; "${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB" ;;
      *) echo "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo 'PostgreSQL init process complete; ready for start up.'
elif [ "$1" = postgres ]; then
  echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
fi

exec "$@"
