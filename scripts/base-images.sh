#!/usr/bin/env bash
# Builds Pier's local base images without any container registry:
#   1. debootstrap --variant=minbase a Debian bookworm rootfs (mirror read from the
#      host's apt configuration) and `docker import` it as <prefix>/debian:bookworm;
#   2. `docker build` each scripts/base-images/<name>/Dockerfile FROM that image,
#      installing Debian packages with apt-get.
# Every image gets :latest, a version tag (node:18, python:3.11, postgres:15,
# redis:7) and the label pier.base-image=<name>. Idempotent: an image whose tag
# exists and whose inputs (Dockerfile directory, base image) are unchanged is
# skipped.
#
# Usage: scripts/base-images.sh [name...]      (default: all of node python postgres redis)
# Env:   PIER_BASE_IMAGE_PREFIX  image name prefix (default pier-local)
#        PIER_DEBIAN_MIRROR      override the mirror read from apt's configuration
#        PIER_BASE_IMAGES_FORCE=1  rebuild even if the images exist
#        PIER_BUILD_CA_BUNDLE    PEM file of the CAs trusted for the npm registry download of
#                                corepack (default: the host's /etc/ssl/certs/ca-certificates.crt,
#                                so a TLS-inspecting proxy the host trusts works); kept out of the image
#        PIER_NPM_REGISTRY       npm registry (mirror) for that download
#        HTTP_PROXY, HTTPS_PROXY, NO_PROXY  passed to the image builds when set
set -euo pipefail

PREFIX=${PIER_BASE_IMAGE_PREFIX:-pier-local}
SUITE=bookworm
FORCE=${PIER_BASE_IMAGES_FORCE:-0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES_DIR=$HERE/base-images
ALL_NAMES=(node python postgres redis)
BASE=$PREFIX/debian:$SUITE

log() { printf '[base-images] %s\n' "$*"; }
die() { printf '[base-images] error: %s\n' "$*" >&2; exit 1; }

# Debian's client; a newer one may sit earlier on PATH (/usr/local/bin/docker).
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
export DOCKER_BUILDKIT=0 # the classic builder ships with Debian's docker.io

[[ $PREFIX =~ ^[a-z0-9]+([._/-][a-z0-9]+)*$ ]] || die "invalid PIER_BASE_IMAGE_PREFIX: $PREFIX"
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=("${ALL_NAMES[@]}")
for n in "${names[@]}"; do
  [ -f "$IMAGES_DIR/$n/Dockerfile" ] || die "unknown image '$n' (no $IMAGES_DIR/$n/Dockerfile)"
done

"$DOCKER" info >/dev/null 2>&1 || die "Docker is not reachable; run scripts/services.sh first"

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
image_label() {
  "$DOCKER" image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

TMP=
cleanup() {
  [ -n "$TMP" ] && [ -d "$TMP" ] || return 0
  # debootstrap may leave /proc, /sys or a bind-mounted /dev behind on failure:
  # unmount them before deleting anything.
  awk -v d="$TMP/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

# --- the Debian mirror, from the host's apt configuration ----------------------

# deb822 (*.sources): URIs of the first enabled `deb` stanza whose Suites has $SUITE.
mirror_from_deb822() {
  awk -v suite="$SUITE" '
    function reset() { types = suites = uris = enabled = last = "" }
    function flush(  a) {
      if ((" " types " ") ~ / deb / && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
        split(uris, a, " "); print a[1]; found = 1; exit
      }
      reset()
    }
    BEGIN { reset() }
    FNR == 1 { flush() }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    /^[ \t]/ {
      if (last == "uris") uris = uris " " $0
      else if (last == "suites") suites = suites " " $0
      else if (last == "types") types = types " " $0
      next
    }
    {
      i = index($0, ":"); key = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1)
      last = key
      if (key == "types") types = val
      else if (key == "suites") suites = val
      else if (key == "uris") uris = val
      else if (key == "enabled") { enabled = tolower(val); gsub(/[ \t]/, "", enabled) }
    }
    END {
      if (!found) flush()
      # normalise whitespace is done by the space-padded matches above
    }
  ' "$@" | tr -d ' \t'
}

# one-line format: `deb [options] URL bookworm component...`
mirror_from_list() {
  awk -v suite="$SUITE" '
    /^[ \t]*#/ { next }
    {
      sub(/#.*/, ""); sub(/\[[^]]*\]/, "")
      if ($1 == "deb" && $3 == suite) { print $2; exit }
    }
  ' "$@"
}

find_mirror() {
  local m='' f
  local sources=() lists=()
  for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && sources+=("$f"); done
  [ -f /etc/apt/sources.list ] && lists+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && lists+=("$f"); done
  if [ "${#sources[@]}" -gt 0 ]; then m=$(mirror_from_deb822 "${sources[@]}"); fi
  if [ -z "$m" ] && [ "${#lists[@]}" -gt 0 ]; then m=$(mirror_from_list "${lists[@]}"); fi
  printf '%s' "$m"
}

# --- pier-local/debian:bookworm --------------------------------------------------

# apt/dpkg settings for a small image (the same ideas as Debian's official images).
configure_rootfs() {
  local r=$1
  printf '#!/bin/sh\n# no services start during image builds\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  cat >"$r/etc/apt/apt.conf.d/90pier-image" <<'EOF'
// written by pier scripts/base-images.sh: keep images small
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
  # Same freshness policy as the host (e.g. a snapshot mirror with old Release files).
  if apt-config dump Acquire::Check-Valid-Until 2>/dev/null | grep -q '"false"'; then
    echo 'Acquire::Check-Valid-Until "false";' >>"$r/etc/apt/apt.conf.d/90pier-image"
  fi
  cat >"$r/etc/dpkg/dpkg.cfg.d/90pier-image" <<'EOF'
# written by pier scripts/base-images.sh: no docs, man pages or translations
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian/*
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/tmp/* "$r"/var/tmp/*
  mkdir -p "$r/var/lib/apt/lists/partial"
  # Docker provides these at run time; do not bake the build host's into the image.
  : >"$r/etc/resolv.conf"
  echo localhost >"$r/etc/hostname"
  rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
}

build_debian() {
  command -v debootstrap >/dev/null || die "debootstrap is not installed; run scripts/services.sh first"
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
  local mirror=${PIER_DEBIAN_MIRROR:-$(find_mirror)}
  [ -n "$mirror" ] || die "no '$SUITE' entry found in /etc/apt/sources.list or /etc/apt/sources.list.d/ (set PIER_DEBIAN_MIRROR)"
  case $mirror in
    http://* | https://* | file:/*) ;;
    *) die "unsupported mirror URI for debootstrap: $mirror" ;;
  esac
  TMP=$(mktemp -d /var/tmp/pier-rootfs.XXXXXX)
  local rootfs=$TMP/rootfs
  log "debootstrap --variant=minbase $SUITE from $mirror (a few minutes)"
  if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$TMP/debootstrap.log" 2>&1; then
    tail -n 30 "$TMP/debootstrap.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  awk -v d="$rootfs/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m"; done
  configure_rootfs "$rootfs"
  log "docker import $BASE"
  tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL pier.base-image=debian' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $SUITE" \
    - "$BASE" >/dev/null
  "$DOCKER" tag "$BASE" "$PREFIX/debian:latest"
  cleanup
  TMP=
}

if [ "$FORCE" = 1 ] || ! image_exists "$BASE"; then
  build_debian
elif ! image_exists "$PREFIX/debian:latest"; then
  "$DOCKER" tag "$BASE" "$PREFIX/debian:latest"
fi
base_id=$("$DOCKER" image inspect -f '{{.Id}}' "$BASE")

# --- images built from Dockerfiles ---------------------------------------------------

# The version tag is read from the built image itself.
version_of() {
  local img=$1 name=$2
  case $name in
    node) "$DOCKER" run --rm --entrypoint node "$img" -p 'process.versions.node.split(".")[0]' ;;
    python) "$DOCKER" run --rm --entrypoint python3 "$img" -c 'import sys; print("%d.%d" % sys.version_info[:2])' ;;
    postgres) "$DOCKER" run --rm --entrypoint ls "$img" /usr/lib/postgresql ;;
    redis) "$DOCKER" run --rm --entrypoint redis-server "$img" --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p' ;;
  esac
}

# Changes to the Dockerfile directory or to the base image trigger a rebuild.
inputs_hash() {
  { (cd "$IMAGES_DIR/$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); echo "$base_id"; } |
    sha256sum | cut -c1-16
}

# What image builds need to reach the npm registry from behind a TLS-inspecting
# proxy or through a mirror. Build args of a stage that is not the last one,
# and Docker's predefined proxy args, are not recorded in the final image.
network_args=()
if [ -n "${PIER_NPM_REGISTRY:-}" ]; then network_args+=(--build-arg "npm_config_registry=$PIER_NPM_REGISTRY"); fi
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  if [ -n "${!v:-}" ]; then network_args+=(--build-arg "$v"); fi
done
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
if [ -z "${PIER_BUILD_CA_BUNDLE:-}" ] && [ -r "$HOST_CA_BUNDLE" ]; then PIER_BUILD_CA_BUNDLE=$HOST_CA_BUNDLE; fi
if [ -n "${PIER_BUILD_CA_BUNDLE:-}" ] && [ ! -r "$PIER_BUILD_CA_BUNDLE" ]; then
  die "PIER_BUILD_CA_BUNDLE ($PIER_BUILD_CA_BUNDLE) is not a readable file"
fi

# A copy of the image's directory plus pier-build-ca.crt (PIER_BUILD_CA_BUNDLE, or empty).
build_context() {
  local context
  context=$(mktemp -d /var/tmp/pier-base-image-context.XXXXXX)
  cp -R "$IMAGES_DIR/$1/." "$context/"
  if [ -n "${PIER_BUILD_CA_BUNDLE:-}" ]; then cp "$PIER_BUILD_CA_BUNDLE" "$context/pier-build-ca.crt"; else : >"$context/pier-build-ca.crt"; fi
  printf '%s' "$context"
}

for name in "${names[@]}"; do
  img=$PREFIX/$name
  hash=$(inputs_hash "$name")
  if [ "$FORCE" != 1 ] && image_exists "$img:latest" && [ "$(image_label "$img:latest" pier.base-image.inputs)" = "$hash" ]; then
    continue
  fi
  log "docker build $img"
  old_id=$("$DOCKER" image inspect -f '{{.Id}}' "$img:latest" 2>/dev/null || true)
  build_log=$(mktemp /var/tmp/pier-base-image-"$name".XXXXXX.log)
  context=$(build_context "$name")
  if ! "$DOCKER" build --force-rm --build-arg "BASE_IMAGE=$BASE" "${network_args[@]}" \
    --label "pier.base-image=$name" --label "pier.base-image.inputs=$hash" \
    -t "$img:latest" "$context" >"$build_log" 2>&1; then
    rm -rf "$context"
    tail -n 40 "$build_log" >&2
    die "docker build $img failed (full log: $build_log)"
  fi
  rm -rf "$context" "$build_log"
  version=$(version_of "$img:latest" "$name" | tail -n 1)
  [[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "could not read the version of $img (got '$version')"
  "$DOCKER" tag "$img:latest" "$img:$version"
  log "tagged $img:latest and $img:$version"
  # A rebuild leaves the previous image untagged; remove it unless something
  # still uses it (a container, or an image built on top of it).
  if [ -n "$old_id" ] && [ "$old_id" != "$("$DOCKER" image inspect -f '{{.Id}}' "$img:latest")" ] &&
    [ -z "$("$DOCKER" image inspect -f '{{join .RepoTags " "}}' "$old_id" 2>/dev/null)" ]; then
    "$DOCKER" rmi "$old_id" >/dev/null 2>&1 || true
  fi
done

log "ok: $PREFIX/debian ${names[*]/#/$PREFIX/}"
