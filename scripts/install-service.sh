#!/usr/bin/env bash
# `npm run install-service`: runs api and worker under systemd as the
# unprivileged system user `pier`, and the internet-facing proxy as a user of
# its own, `pier-proxy`, from this repository, with the settings of its .env.
# As root, after `npm run up` has set the machine up. It creates both users
# and groups, the directories the processes write (from .env, or the
# defaults) owned by the user that writes them, makes .env pier's alone
# (600), writes the proxy's own environment file (/etc/pier/proxy.env: only
# the variables the proxy reads, its database role in place of the owner's,
# no PIER_SECRET_KEY or admin token), installs deploy/systemd/*.service with
# this repository's paths filled in (and /etc/tmpfiles.d/pier.conf, which
# makes /run/pier at boot), and enables and starts them when systemd runs the
# machine. Safe to run again (after moving the repository, changing one of
# those directories or any setting of the proxy in .env).
#
#   scripts/install-service.sh [--env-file PATH] [--render DIR]
#
# --env-file  the environment of the three services (default: .env here).
# --render    only write the filled-in units and the proxy's environment file
#             (proxy.env, mode 600) into DIR: no root needed, nothing else is
#             touched (to read them, or to check them with `systemd-analyze verify`).
set -euo pipefail
cd "$(dirname "$0")/.."

UNITS=(pier-api pier-worker pier-proxy)
UNIT_DIR=/etc/systemd/system
# The worker's RuntimeDirectory=, pier's, which the proxy cannot see.
RUNTIME_DIR=/run/pier
TMPFILES=/etc/tmpfiles.d/pier.conf
# The proxy's environment file: .env is pier's alone, and holds what the proxy must not.
PROXY_ENV_DIR=/etc/pier
PROXY_ENV=$PROXY_ENV_DIR/proxy.env
# What the proxy reads (proxyConfigSchema in packages/config/src/proxy-schema.ts;
# test/process/install-service.test.ts checks that this list is exactly that).
PROXY_VARIABLES=(
  DATABASE_URL REDIS_URL PIER_BASE_DOMAIN PIER_CONTROL_HOSTNAME PIER_LOG_LEVEL PIER_LOG_FORMAT
  PIER_PROXY_KEY PIER_PROXY_KEYS_PREVIOUS PIER_PROXY_DATABASE_URL PIER_CONTROL_UPSTREAM
  PIER_HTTP_PORT PIER_HTTPS_PORT PIER_PUBLIC_HTTPS_PORT PIER_PROXY_ADMIN_PORT PIER_PROXY_SNAPSHOT
  PIER_PROXY_HOST PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS PIER_PROXY_MAX_TUNNELS PIER_PROXY_MAX_TUNNELS_PER_CLIENT
  PIER_PROXY_METRICS_FLUSH_MS PIER_PROXY_PROCESSES PIER_PROXY_CACHE_MB_TOTAL PIER_PROXY_CACHE_MB_PER_APP
  PIER_PROXY_CACHE_MAX_ENTRY_KB PIER_PROXY_COMPRESSION
)

say() { echo "[install-service] $*"; }
fail() {
  echo "[install-service] $*" >&2
  exit 1
}

env_file=.env
render_dir=
while [ $# -gt 0 ]; do
  case "$1" in
  --env-file) env_file=${2:?--env-file needs a path} && shift 2 ;;
  --render) render_dir=${2:?--render needs a directory} && shift 2 ;;
  *) fail "unknown argument: $1 (usage: scripts/install-service.sh [--env-file PATH] [--render DIR])" ;;
  esac
done

# Paths go into unit files and sed expressions: only plain characters, so
# nothing in them can change a unit's meaning (no spaces, quotes, %, $ or \).
PLAIN='^/[A-Za-z0-9._/-]*$'
DOTS='(^|/)\.\.?(/|$)'
plain_path() {
  [[ $2 =~ $PLAIN && ! $2 =~ $DOTS ]] ||
    fail "$1 must be an absolute path of letters, digits and . _ - / only (no . or .. parts), not '$2'"
}

# ProtectHome=yes hides these from the services.
outside_homes() {
  case "$2/" in
  /home/* | /root/* | /run/user/*) fail "$1 ($2) is under /home, /root or /run/user, which the services cannot see (ProtectHome=yes): $3" ;;
  esac
}

under_tmp() {
  case "$1/" in /tmp/* | /var/tmp/*) return 0 ;; *) return 1 ;; esac
}

# Directories the system shares: never handed to one of Pier's users.
shared_directory() {
  case "$1" in
  / | /bin | /boot | /dev | /etc | /home | /lib | /lib64 | /mnt | /media | /opt | /proc | /root | /run | /sbin | /srv | /sys | /tmp | /usr | /var | /var/cache | /var/lib | /var/log | /var/tmp) return 0 ;;
  *) return 1 ;;
  esac
}

# Whether $1 is $2 or inside it.
within() {
  case "$1/" in "$2"/*) return 0 ;; *) return 1 ;; esac
}

# One variable's value from the env file, read as data (never sourced): the
# last assignment wins, surrounding quotes are dropped; empty means the default.
env_value() {
  local value
  value=$(sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\?$1=//p" "$env_file" | tail -n 1)
  value=${value%$'\r'}
  if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  echo "${value:-$2}"
}

root=$(pwd -P)
plain_path "the repository's path" "$root"
outside_homes "the repository" "$root" "clone it elsewhere, e.g. /opt/pier"
[ -f "$env_file" ] || fail "no environment file at $env_file: run npm run up first, or pass --env-file"
env_file=$(realpath -- "$env_file")
plain_path "--env-file" "$env_file"
node=$(command -v node) || fail "node is not on PATH"
node=$(realpath -- "$node")
plain_path "node's path" "$node"
outside_homes "node" "$node" "install Node.js system-wide (e.g. Debian's or NodeSource's package)"

work_dir=$(env_value PIER_WORK_DIR /var/tmp/pier)
backup_dir=$(env_value PIER_BACKUP_DIR /var/lib/pier/backups)
snapshot=$(env_value PIER_PROXY_SNAPSHOT /var/lib/pier-proxy/proxy-routes.json)
plain_path PIER_WORK_DIR "$work_dir"
plain_path PIER_BACKUP_DIR "$backup_dir"
plain_path PIER_PROXY_SNAPSHOT "$snapshot"
snapshot_dir=$(dirname -- "$snapshot")
outside_homes PIER_WORK_DIR "$work_dir" "pick a directory under /var/lib"
outside_homes PIER_BACKUP_DIR "$backup_dir" "pick a directory under /var/lib"
outside_homes PIER_PROXY_SNAPSHOT "$snapshot" "pick a directory under /var/lib"
under_tmp "$backup_dir" && fail "PIER_BACKUP_DIR ($backup_dir) is under /tmp or /var/tmp: backups must outlive a restart (PrivateTmp=yes)"
under_tmp "$snapshot_dir" && fail "PIER_PROXY_SNAPSHOT ($snapshot) is under /tmp or /var/tmp: the snapshot must outlive a restart (PrivateTmp=yes)"
case "$snapshot_dir/" in
"$backup_dir"/* | "$work_dir"/*) fail "PIER_PROXY_SNAPSHOT ($snapshot) is inside PIER_BACKUP_DIR or PIER_WORK_DIR, which the proxy cannot see" ;;
esac
# The proxy owns its snapshots' directory (as pier-proxy): it must hold nothing
# of the other processes', nor be a directory the system shares.
shared_directory "$snapshot_dir" &&
  fail "PIER_PROXY_SNAPSHOT ($snapshot) is directly in $snapshot_dir, which the proxy would own: give it a directory of its own, e.g. PIER_PROXY_SNAPSHOT=/var/lib/pier-proxy/proxy-routes.json"
others=("PIER_BACKUP_DIR ($backup_dir)" "PIER_WORK_DIR ($work_dir)" "the repository ($root)" "$RUNTIME_DIR" "$PROXY_ENV_DIR")
for other in "${others[@]}"; do
  path=${other##* (} path=${path%)}
  if within "$path" "$snapshot_dir" || within "$snapshot_dir" "$path"; then
    fail "PIER_PROXY_SNAPSHOT ($snapshot) is in $snapshot_dir, which is, holds or lies in $other: the proxy runs as pier-proxy and owns its snapshots' directory, so it must be one of its own, e.g. PIER_PROXY_SNAPSHOT=/var/lib/pier-proxy/proxy-routes.json"
  fi
done

# The proxy's own key and database role: its environment has neither
# PIER_SECRET_KEY nor the database owner's password.
proxy_key=$(env_value PIER_PROXY_KEY '')
proxy_database_url=$(env_value PIER_PROXY_DATABASE_URL '')
[ -n "$proxy_key" ] ||
  fail "$env_file has no PIER_PROXY_KEY, the proxy's own key (certificate keys reach it sealed under it, never under PIER_SECRET_KEY): npm run up adds it and PIER_PROXY_DATABASE_URL to a .env without it; or add PIER_PROXY_KEY=<openssl rand -base64 32> yourself"
[ -n "$proxy_database_url" ] ||
  fail "$env_file has no PIER_PROXY_DATABASE_URL, the proxy's own database role (it must not connect as DATABASE_URL's owner): add PIER_PROXY_DATABASE_URL=postgres://pier_proxy:<openssl rand -hex 24>@127.0.0.1:5432/pier; npm run up creates that role and npm run migrate grants it what the proxy reads"
[ "$proxy_database_url" != "$(env_value DATABASE_URL '')" ] ||
  fail "PIER_PROXY_DATABASE_URL is DATABASE_URL in $env_file: the proxy needs a role of its own (postgres://pier_proxy:<password>@127.0.0.1:5432/pier; npm run up creates it, npm run migrate grants it)"

# One assignment in the syntax of systemd's EnvironmentFile= (systemd.exec(5)):
# the value in double quotes, where a backslash keeps the one of \ " $ ` after
# it and nothing else is special (no expansion, # and ' are plain), so systemd
# reads back exactly the value that .env holds. A value with a line break, a
# control or a non-ASCII character is refused, by name only: it may be secret.
env_assignment() {
  local LC_ALL=C value=$2 bs='\'
  [[ $value =~ ^[\ -~]*$ ]] ||
    fail "$1 in $env_file holds a line break, a control or a non-ASCII character, which the proxy's environment file does not carry (the value is not shown)"
  value=${value//"$bs"/"$bs$bs"}
  value=${value//\"/"$bs\""}
  value=${value//\$/"$bs\$"}
  value=${value//\`/"$bs\`"}
  printf '%s="%s"\n' "$1" "$value"
}

# The proxy's environment: the variables it reads, as .env sets them (read as
# data), its own role as DATABASE_URL, and where its snapshots go (the
# installer's default when .env sets none).
proxy_environment() {
  local name value
  echo "# The pier-proxy unit's environment, written by npm run install-service from"
  echo "# $env_file: only what the proxy reads. Change .env and run it again."
  for name in "${PROXY_VARIABLES[@]}"; do
    case $name in
    DATABASE_URL) value=$proxy_database_url ;;
    PIER_PROXY_SNAPSHOT) value=$snapshot ;;
    *) value=$(env_value "$name" '') ;;
    esac
    if [ -n "$value" ]; then env_assignment "$name" "$value"; fi
  done
}

# What each unit may write, and what the api and the proxy must not see. A
# work directory under /tmp or /var/tmp is inside the worker's private /tmp
# (PrivateTmp=yes): the worker makes it there and no other process sees it.
worker_paths=$backup_dir
hidden_paths="-$backup_dir"
if ! under_tmp "$work_dir"; then
  worker_paths="$work_dir $backup_dir"
  hidden_paths="-$backup_dir -$work_dir"
fi

rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
(umask 077 && proxy_environment >"$rendered/proxy.env")
for unit in "${UNITS[@]}"; do
  sed -e "s|@PIER_ROOT@|$root|g" -e "s|@ENV_FILE@|$env_file|g" -e "s|@NODE@|$node|g" -e "s|@PROXY_ENV_FILE@|$PROXY_ENV|g" \
    -e "s|@WORKER_PATHS@|$worker_paths|g" -e "s|@PROXY_PATHS@|$snapshot_dir|g" -e "s|@HIDDEN_PATHS@|$hidden_paths|g" \
    "deploy/systemd/$unit.service" >"$rendered/$unit.service"
done
if [ -n "$render_dir" ]; then
  mkdir -p -- "$render_dir"
  cp -- "$rendered"/*.service "$render_dir/"
  (umask 077 && cp -- "$rendered/proxy.env" "$render_dir/proxy.env")
  say "units and the proxy's environment (proxy.env, for $PROXY_ENV) written to $render_dir"
  exit 0
fi

[ "$(id -u)" = 0 ] || fail "must run as root (it creates the pier user and installs systemd units): sudo npm run install-service"
getent group docker >/dev/null || fail "there is no docker group (the worker reaches Docker through it): run npm run up first"

# The units run the compiled processes (and the api serves the CLI and the
# dashboard): build them, as the repository's owner, whose files they stay.
owner=$(stat -c %U -- "$root")
for script in build-server build-cli build-dashboard; do
  if [ "$owner" = root ]; then
    "$node" --import tsx "scripts/$script.ts" >/dev/null
  else
    setpriv --reuid="$owner" --regid="$(stat -c %G -- "$root")" --init-groups -- "$node" --import tsx "scripts/$script.ts" >/dev/null
  fi || fail "npm run build failed (scripts/$script.ts, as $owner)"
done
say "built the processes, the CLI and the dashboard"

for user in pier pier-proxy; do
  if ! getent group "$user" >/dev/null; then
    say "creating the system group $user"
    groupadd --system "$user"
  fi
  if ! getent passwd "$user" >/dev/null; then
    say "creating the system user $user"
    useradd --system --gid "$user" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  fi
done

# chown -R is for Pier's own directories only: never a directory the system shares.
own_tree() {
  shared_directory "$1" && fail "refusing to hand $1 to pier: set a directory of Pier's own in $env_file"
  case "$root/" in "$1"/*) fail "refusing to hand $1 to pier: it holds the repository" ;; esac
  install -d -m 0750 -o pier -g pier -- "$1"
  chown -R --no-dereference pier:pier -- "$1"
}
own_tree "$backup_dir"
under_tmp "$work_dir" || own_tree "$work_dir"
# The proxy's: its snapshots' directory (checked above to hold nothing of the others') and the two snapshot files.
install -d -m 0750 -o pier-proxy -g pier-proxy -- "$snapshot_dir"
certificates=${snapshot%.json}.certificates.json
for file in "$snapshot" "$certificates"; do
  if [ -e "$file" ]; then chown --no-dereference pier-proxy:pier-proxy -- "$file"; fi
done

chown pier:pier -- "$env_file"
chmod 600 -- "$env_file"

# The proxy's environment: root's, readable by the proxy's group only (it holds the proxy's key and role password).
install -d -m 0750 -o root -g pier-proxy -- "$PROXY_ENV_DIR"
proxy_env_changed=no
cmp -s "$rendered/proxy.env" "$PROXY_ENV" || proxy_env_changed=yes
(umask 077 && install -m 0640 -o root -g pier-proxy -- "$rendered/proxy.env" "$PROXY_ENV")
[ $proxy_env_changed = no ] || say "wrote $PROXY_ENV (the proxy's settings from $env_file)"

# /run/pier now and at every boot (before the services start: the proxy's unit hides it).
if ! cmp -s deploy/systemd/pier.tmpfiles "$TMPFILES"; then
  install -m 0644 -o root -g root -- deploy/systemd/pier.tmpfiles "$TMPFILES"
  say "installed $TMPFILES"
fi
install -d -m 0750 -o pier -g pier -- "$RUNTIME_DIR"

for bundle in apps/api/dist/main.mjs apps/worker/dist/main.mjs apps/proxy/dist/main.mjs; do
  [ -f "$root/$bundle" ] || fail "the build wrote no $bundle: run npm run build and see what it says"
done
# The services read the repository as pier and pier-proxy: every directory on the way must let them.
for user in pier pier-proxy; do
  setpriv --reuid="$user" --regid="$user" --clear-groups -- test -r "$root/node_modules/pino/package.json" -a -r "$root/apps/api/dist/main.mjs" -a -r "$root/apps/proxy/dist/main.mjs" ||
    fail "user $user cannot read $root (and its node_modules): make it readable by others (chmod o+rX on the path), or clone to /opt/pier"
done

systemd=no
[ -d /run/systemd/system ] && systemd=yes
running=()
installed=0
for unit in "${UNITS[@]}"; do
  if ! cmp -s "$rendered/$unit.service" "$UNIT_DIR/$unit.service"; then
    install -m 0644 -o root -g root -- "$rendered/$unit.service" "$UNIT_DIR/$unit.service"
    say "installed $UNIT_DIR/$unit.service"
    installed=$((installed + 1))
  fi
  # enable --now leaves a running service as it is, on the build it started from.
  if [ $systemd = yes ] && systemctl is-active --quiet "$unit"; then running+=("$unit"); fi
done
[ $installed -gt 0 ] || say "the units in $UNIT_DIR are up to date"

if [ $systemd = yes ]; then
  systemctl daemon-reload
  systemctl enable --now "${UNITS[@]}"
  if [ ${#running[@]} -gt 0 ]; then
    say "${running[*]} kept running the build, unit and settings they started with: 'systemctl restart ${running[*]}' applies the new ones"
  fi
  say "running: systemctl status ${UNITS[*]}; logs: journalctl -u pier-api -u pier-worker -u pier-proxy -f"
else
  say "systemd is not running this machine (PID 1 is $(cat /proc/1/comm)): nothing started. Where it runs:"
  say "  systemctl daemon-reload && systemctl enable --now ${UNITS[*]}"
fi
