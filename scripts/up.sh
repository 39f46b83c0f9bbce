#!/usr/bin/env bash
# `npm run up`: on a Debian/Ubuntu machine with Node.js 20, installs and starts
# what Pier needs, writes a .env with fresh secrets the first time, applies
# migrations, builds the local base images when no registry image is
# configured, builds the pier CLI (and puts it on PATH), the dashboard and the
# processes, then runs the compiled api + worker + proxy in the foreground
# (Ctrl-C stops all) under scripts/dist/start-all.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# Reads one variable from .env (without sourcing it: values are data, not shell).
env_file_value() {
  sed -n "s/^$1=//p" .env | tail -n 1
}

if [ ! -f .env ]; then
  echo "[up] writing .env with fresh secrets (kept out of git)"
  db_password=$(openssl rand -hex 24)
  admin_token=$(openssl rand -hex 32)
  umask 077
  sed -e "s#^DATABASE_URL=.*#DATABASE_URL=postgres://pier:${db_password}@127.0.0.1:5432/pier#" \
    -e "s#^PIER_SECRET_KEY=.*#PIER_SECRET_KEY=$(openssl rand -base64 32)#" \
    -e "s#^PIER_ADMIN_TOKEN=.*#PIER_ADMIN_TOKEN=${admin_token}#" \
    -e "s#^PIER_BASE_DOMAIN=.*#PIER_BASE_DOMAIN=localhost#" \
    -e "s#^PIER_HTTP_PORT=.*#PIER_HTTP_PORT=8080#" \
    -e "s#^PIER_HTTPS_PORT=.*#PIER_HTTPS_PORT=8443#" \
    -e "s#^PIER_IMAGE_\(NODE\|PYTHON\|POSTGRES\|REDIS\)=.*#PIER_IMAGE_\1=pier-local/\L\1#" \
    -e "s#^PIER_IMAGE_PROCFILE=.*#PIER_IMAGE_PROCFILE=pier-local/debian:bookworm#" \
    -e "s#^PIER_IMAGE_VOLUME_TOOLS=.*#PIER_IMAGE_VOLUME_TOOLS=pier-local/debian:bookworm#" \
    .env.example >.env
  umask 022
  echo "[up] admin token: ${admin_token}"
  echo "[up] (also in .env as PIER_ADMIN_TOKEN)"
fi

# The proxy's own key and database role (added to a .env written before they existed).
if ! grep -q '^PIER_PROXY_KEY=.' .env; then
  echo "[up] adding PIER_PROXY_KEY and PIER_PROXY_DATABASE_URL to .env"
  sed -i -e '/^PIER_PROXY_KEY=/d' -e '/^PIER_PROXY_DATABASE_URL=/d' .env
  printf 'PIER_PROXY_KEY=%s\nPIER_PROXY_DATABASE_URL=postgres://pier_proxy:%s@127.0.0.1:5432/pier\n' \
    "$(openssl rand -base64 32)" "$(openssl rand -hex 24)" >>.env
fi

# The Postgres role's password is whatever .env says.
db_url=$(env_file_value DATABASE_URL)
url_password() { node -e 'process.stdout.write(decodeURIComponent(new URL(process.argv[1]).password))' "$1"; }
db_password=$(url_password "$db_url")
proxy_password=$(url_password "$(env_file_value PIER_PROXY_DATABASE_URL)")
PIER_PG_USER=pier PIER_PG_PASSWORD="$db_password" PIER_PG_DB=pier \
  PIER_PG_PROXY_USER=pier_proxy PIER_PG_PROXY_PASSWORD="$proxy_password" bash scripts/services.sh

ensure_node_modules

# The pier CLI: one file, served by the api at /cli and installed here on PATH.
npm run --silent build:cli
cli_dir=/usr/local/bin
if [ ! -w "$cli_dir" ]; then
  cli_dir="$HOME/.local/bin"
  mkdir -p "$cli_dir"
fi
install -m 755 apps/cli/dist/pier.cjs "$cli_dir/pier"
# The web dashboard, served by the api at /.
npm run --silent build:dashboard
api_port=$(env_file_value PIER_API_PORT)
echo "[up] pier CLI installed as $cli_dir/pier; log in on this machine with:"
echo "[up]   pier login http://127.0.0.1:${api_port:-4000}   (token: PIER_ADMIN_TOKEN in .env)"

if grep -q '^PIER_IMAGE_[A-Z]*=pier-local/' .env; then
  bash scripts/base-images.sh
fi

npm run --silent migrate
# The processes, compiled: plain node runs them, with no TypeScript loader.
npm run --silent build:server
exec node scripts/dist/start-all.mjs
