#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the services Pier's tests and
# benchmarks need on one Debian 12 machine: Docker Engine, PostgreSQL 15 (with a
# `pier` role and database), Redis on 127.0.0.1:6379, plus pebble, git,
# debootstrap, nginx, docker-registry with apache2-utils' htpasswd (the
# prebuilt-image test runs its own registry), and rsyslog with its TLS driver
# rsyslog-gnutls (the log drain tests run their own rsyslogd) (installed,
# never started).
#
# Works with or without systemd as PID 1: systemctl is used only when
# /run/systemd/system exists. Idempotent: a second run only checks.
#
# Env: PIER_PG_USER / PIER_PG_PASSWORD / PIER_PG_DB (default pier / pier / pier);
# PIER_PG_PROXY_USER / PIER_PG_PROXY_PASSWORD: the proxy's own role (optional).
set -euo pipefail

PG_USER=${PIER_PG_USER:-pier}
PG_PASSWORD=${PIER_PG_PASSWORD:-pier}
PG_DB=${PIER_PG_DB:-pier}
PG_PROXY_USER=${PIER_PG_PROXY_USER:-}
PG_PROXY_PASSWORD=${PIER_PG_PROXY_PASSWORD:-}
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
DOCKERD_LOG=/var/log/pier-dockerd.log

log() { printf '[services] %s\n' "$*"; }
warn() { printf '[services] warning: %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
need_root() { is_root || die "$1 (run as root, e.g. sudo $0)"; }
have_systemd() { [ -d /run/systemd/system ]; }

[[ $PG_USER =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "PIER_PG_USER must match ^[a-z_][a-z0-9_]*$"
[[ $PG_DB =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "PIER_PG_DB must match ^[a-z_][a-z0-9_]*$"
[ -n "$PG_PASSWORD" ] || die "PIER_PG_PASSWORD must not be empty"
if [ -n "$PG_PROXY_USER" ]; then
  [[ $PG_PROXY_USER =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "PIER_PG_PROXY_USER must match ^[a-z_][a-z0-9_]*$"
  [ "$PG_PROXY_USER" != "$PG_USER" ] || die "PIER_PG_PROXY_USER must differ from PIER_PG_USER"
  [ -n "$PG_PROXY_PASSWORD" ] || die "PIER_PG_PROXY_PASSWORD must not be empty"
fi

# Debian's client; a newer one may sit earlier on PATH (/usr/local/bin/docker).
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi

# --- packages ----------------------------------------------------------------

pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

# Prevents package maintainer scripts from starting services (nginx above all);
# we start what we need ourselves below. Left alone if the host already has one.
POLICY_RC=/usr/sbin/policy-rc.d
policy_rc_created=0
cleanup() {
  if [ "$policy_rc_created" -eq 1 ]; then rm -f "$POLICY_RC"; fi
}
trap cleanup EXIT

block_service_starts() {
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\n# temporary, written by pier scripts/services.sh\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    policy_rc_created=1
  fi
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

missing=()
for p in docker.io postgresql redis-server pebble git debootstrap docker-registry apache2-utils rsyslog rsyslog-gnutls; do
  pkg_installed "$p" || missing+=("$p")
done
need_nginx=1
for p in nginx-light nginx nginx-core nginx-full nginx-extras; do
  if pkg_installed "$p"; then need_nginx=0; break; fi
done

if [ "${#missing[@]}" -gt 0 ] || [ "$need_nginx" -eq 1 ]; then
  need_root "missing packages: ${missing[*]:-}$([ "$need_nginx" -eq 1 ] && echo ' nginx')"
  apt_log=$(mktemp /tmp/pier-services-apt.XXXXXX)
  log "apt-get update"
  if ! apt-get update -q >"$apt_log" 2>&1; then
    cat "$apt_log" >&2; die "apt-get update failed"
  fi
  block_service_starts
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    if ! apt_install "${missing[@]}" >"$apt_log" 2>&1; then
      tail -n 40 "$apt_log" >&2; die "apt-get install ${missing[*]} failed (full log: $apt_log)"
    fi
  fi
  if [ "$need_nginx" -eq 1 ]; then
    # nginx-light exists in bookworm; fall back to nginx where it does not.
    nginx_pkg=nginx
    if [ -n "$(apt-cache policy nginx-light 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; then
      nginx_pkg=nginx-light
    fi
    log "installing $nginx_pkg (not started)"
    if apt_install "$nginx_pkg" >"$apt_log" 2>&1; then
      if have_systemd; then
        # Pier's proxy owns :80/:443; keep nginx from claiming them at boot.
        systemctl disable --now nginx >/dev/null 2>&1 || true
      fi
    else
      warn "installing $nginx_pkg failed (only needed for benchmarks); see $apt_log"
    fi
  fi
  if have_systemd && pkg_installed docker-registry; then
    # Tests start a registry of their own, on a port of their own, and stop it.
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
  if have_systemd && [[ " ${missing[*]} " == *" rsyslog "* ]]; then
    # The drain tests start an rsyslogd of their own; one installed here for them stays off.
    systemctl disable --now rsyslog >/dev/null 2>&1 || true
  fi
  cleanup; policy_rc_created=0
  rm -f "$apt_log"
fi

# --- Docker Engine -----------------------------------------------------------

docker_ok() { "$DOCKER" info >/dev/null 2>&1; }

if ! docker_ok; then
  need_root "the Docker daemon is not reachable"
  if have_systemd; then
    log "starting docker (systemctl)"
    systemctl start docker || die "systemctl start docker failed (journalctl -u docker)"
  elif pgrep -x dockerd >/dev/null; then
    log "dockerd is already running; waiting for it"
  else
    log "starting dockerd (log: $DOCKERD_LOG)"
    # Its own session: a Ctrl-C of the caller (npm test, npm run up) must not reach it.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    disown || true
  fi
  for _ in $(seq 1 60); do
    docker_ok && break
    sleep 1
  done
  if ! docker_ok; then
    [ -f "$DOCKERD_LOG" ] && tail -n 20 "$DOCKERD_LOG" >&2
    die "docker did not answer 'docker info' within 60 s"
  fi
fi

# --- PostgreSQL ----------------------------------------------------------------

pg_version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_version" ] || die "no PostgreSQL server installed under /usr/lib/postgresql"
pg_line=$(pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" '$1 == v && $2 == "main"')
if [ -z "$pg_line" ]; then
  need_root "PostgreSQL cluster $pg_version/main does not exist"
  log "creating PostgreSQL cluster $pg_version/main"
  pg_createcluster "$pg_version" main >/dev/null
  pg_line=$(pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main"')
fi
read -r _ _ cluster_port cluster_status _ <<<"$pg_line"
[ "$cluster_port" = "$PG_PORT" ] ||
  die "PostgreSQL cluster $pg_version/main listens on port $cluster_port, expected $PG_PORT"
if [ "$cluster_status" != online ]; then
  need_root "PostgreSQL cluster $pg_version/main is $cluster_status"
  log "starting PostgreSQL $pg_version/main"
  if have_systemd; then
    systemctl start "postgresql@$pg_version-main" || die "could not start postgresql@$pg_version-main"
  else
    pg_ctlcluster "$pg_version" main start ||
      die "pg_ctlcluster $pg_version main start failed (see /var/log/postgresql/postgresql-$pg_version-main.log)"
  fi
fi

# Logs in over TCP with the password, as the app will; also checks CREATEDB and
# that the role owns the database.
pier_db_ok() {
  local out
  out=$(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -tA -h 127.0.0.1 -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DB" -c "SELECT r.rolcreatedb AND d.datdba = r.oid
      FROM pg_roles r, pg_database d
      WHERE r.rolname = current_user AND d.datname = current_database()" 2>/dev/null) || return 1
  [ "$out" = t ]
}

as_postgres_psql() {
  (cd / && runuser -u postgres -- psql -X -q -tA -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@")
}

ready=0
for _ in $(seq 1 30); do
  if pier_db_ok; then ready=1; break; fi
  # Stop waiting as soon as the server answers (the role may just be missing).
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 1
done

if [ "$ready" -eq 0 ]; then
  need_root "cannot log in as $PG_USER to database $PG_DB on 127.0.0.1:$PG_PORT"
  role_exists=$(as_postgres_psql -v u="$PG_USER" <<<"SELECT 1 FROM pg_roles WHERE rolname = :'u';")
  if [ "$role_exists" = 1 ]; then
    log "updating role $PG_USER (LOGIN CREATEDB, password)"
    as_postgres_psql -v u="$PG_USER" -v p="$PG_PASSWORD" <<<"ALTER ROLE :\"u\" LOGIN CREATEDB PASSWORD :'p';"
  else
    log "creating role $PG_USER"
    as_postgres_psql -v u="$PG_USER" -v p="$PG_PASSWORD" <<<"CREATE ROLE :\"u\" LOGIN CREATEDB PASSWORD :'p';"
  fi
  db_exists=$(as_postgres_psql -v d="$PG_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'d';")
  if [ "$db_exists" != 1 ]; then
    log "creating database $PG_DB owned by $PG_USER"
    as_postgres_psql -v u="$PG_USER" -v d="$PG_DB" <<<"CREATE DATABASE :\"d\" OWNER :\"u\";"
  else
    owner=$(as_postgres_psql -v d="$PG_DB" <<<"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'d';")
    if [ "$owner" != "$PG_USER" ]; then
      log "changing owner of database $PG_DB to $PG_USER"
      as_postgres_psql -v u="$PG_USER" -v d="$PG_DB" <<<"ALTER DATABASE :\"d\" OWNER TO :\"u\";"
    fi
  fi
  pier_db_ok || die "still cannot connect as $PG_USER@127.0.0.1:$PG_PORT/$PG_DB with a password; \
check /etc/postgresql/$pg_version/main/pg_hba.conf has a 'host all all 127.0.0.1/32 scram-sha-256' (or md5) line"
fi

# The proxy's own role (PIER_PG_PROXY_USER / PIER_PG_PROXY_PASSWORD, optional):
# a plain login, no CREATEDB, no CREATEROLE; `npm run migrate` grants it the
# few columns the proxy reads.
proxy_role_ok() {
  PGPASSWORD=$PG_PROXY_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -tA -h 127.0.0.1 -p "$PG_PORT" \
    -U "$PG_PROXY_USER" -d "$PG_DB" -c "SELECT 1" >/dev/null 2>&1
}
if [ -n "$PG_PROXY_USER" ] && ! proxy_role_ok; then
  need_root "cannot log in as $PG_PROXY_USER to database $PG_DB on 127.0.0.1:$PG_PORT"
  role_exists=$(as_postgres_psql -v u="$PG_PROXY_USER" <<<"SELECT 1 FROM pg_roles WHERE rolname = :'u';")
  verb=CREATE
  [ "$role_exists" = 1 ] && verb=ALTER
  log "${verb,,} role $PG_PROXY_USER (the proxy's: LOGIN only)"
  as_postgres_psql -v u="$PG_PROXY_USER" -v p="$PG_PROXY_PASSWORD" \
    <<<"$verb ROLE :\"u\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'p';"
  proxy_role_ok || die "still cannot connect as $PG_PROXY_USER@127.0.0.1:$PG_PORT/$PG_DB with a password"
fi

# --- Redis ---------------------------------------------------------------------

redis_ping() { timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true; }

reply=$(redis_ping)
if [ "$reply" != PONG ]; then
  if [ -n "$reply" ]; then
    die "something on $REDIS_HOST:$REDIS_PORT answered PING with '$reply' (expected PONG)"
  fi
  need_root "Redis is not answering on $REDIS_HOST:$REDIS_PORT"
  log "starting redis-server on $REDIS_HOST:$REDIS_PORT"
  if have_systemd; then
    systemctl start redis-server || die "systemctl start redis-server failed"
  else
    install -d -o redis -g redis -m 2775 /run/redis
    runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes \
      --bind "$REDIS_HOST" --port "$REDIS_PORT" ||
      die "redis-server failed to start (see /var/log/redis/redis-server.log)"
  fi
  for _ in $(seq 1 20); do
    reply=$(redis_ping)
    [ "$reply" = PONG ] && break
    sleep 0.5
  done
  [ "$reply" = PONG ] || die "redis did not answer PING on $REDIS_HOST:$REDIS_PORT (see /var/log/redis/redis-server.log)"
fi

log "ok: docker, postgres://$PG_USER:***@127.0.0.1:$PG_PORT/$PG_DB, redis://$REDIS_HOST:$REDIS_PORT"
