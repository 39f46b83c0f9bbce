#!/usr/bin/env bash
# Installs, from Debian's packages, what `npm run bench` compares Pier's proxy
# with and loads it from: nginx, HAProxy, Caddy and wrk. The bench starts each
# proxy itself, in a temp directory on loopback ports, so the packages'
# services are kept from starting at install (policy-rc.d) and disabled after,
# as scripts/services.sh does for nginx: Caddy's and nginx's would claim
# :80, Pier's proxy's port. Idempotent; needs root only when something is missing.
set -euo pipefail

log() { printf '[bench] %s\n' "$*"; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

declare -A binary=([nginx]=nginx [haproxy]=haproxy [caddy]=caddy [wrk]=wrk)
missing=()
for package in nginx haproxy caddy wrk; do
  command -v "${binary[$package]}" >/dev/null 2>&1 || [ -x "/usr/sbin/${binary[$package]}" ] || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root (sudo bash $0) or apt-get install ${missing[*]}"

POLICY_RC=/usr/sbin/policy-rc.d
policy_rc_created=0
cleanup() { if [ "$policy_rc_created" -eq 1 ]; then rm -f "$POLICY_RC"; fi; }
trap cleanup EXIT
if [ ! -e "$POLICY_RC" ]; then
  printf '#!/bin/sh\n# temporary, written by pier scripts/bench-proxy/install-proxies.sh\nexit 101\n' >"$POLICY_RC"
  chmod 755 "$POLICY_RC"
  policy_rc_created=1
fi

apt_log=$(mktemp /tmp/pier-bench-apt.XXXXXX)
install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >>"$apt_log" 2>&1
}
log "installing ${missing[*]} (Debian packages; their services stay off)"
if ! install && ! { apt-get update -q >>"$apt_log" 2>&1 && install; }; then
  tail -n 40 "$apt_log" >&2
  die "apt-get install ${missing[*]} failed (full log: $apt_log)"
fi
if [ -d /run/systemd/system ]; then
  for service in "${missing[@]}"; do
    [ "$service" = wrk ] || systemctl disable --now "$service" >/dev/null 2>&1 || true
  done
fi
rm -f "$apt_log"
