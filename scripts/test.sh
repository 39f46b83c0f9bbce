#!/usr/bin/env bash
# `npm test`: sets up everything the tests need on this machine (Debian
# packages, dockerd, Postgres, Redis, node_modules, local base images), runs
# the static checks, then every test against the real services.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# Tests use their own role and database; `npm run up` uses `pier`.
export PIER_TEST_DATABASE_URL=${PIER_TEST_DATABASE_URL:-postgres://pier_test:pier_test@127.0.0.1:5432/pier_test}
export PIER_TEST_REDIS_URL=${PIER_TEST_REDIS_URL:-redis://127.0.0.1:6379/1}
export PIER_TEST_PROXY_ROLE=${PIER_TEST_PROXY_ROLE:-pier_test_proxy}
PIER_PG_USER=pier_test PIER_PG_PASSWORD=pier_test PIER_PG_DB=pier_test \
  PIER_PG_PROXY_USER="$PIER_TEST_PROXY_ROLE" PIER_PG_PROXY_PASSWORD="$PIER_TEST_PROXY_ROLE" bash scripts/services.sh
ensure_node_modules
bash scripts/base-images.sh
# The dashboard's browser tests drive Debian's Chromium (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing chromium"
  apt_log=$(mktemp /tmp/pier-chromium-apt.XXXXXX)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >"$apt_log" 2>&1 ||
    { apt-get update -q >>"$apt_log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >>"$apt_log" 2>&1; }; }; then
    tail -n 40 "$apt_log" >&2
    echo "[test] apt-get install chromium failed (full log: $apt_log)" >&2
    exit 1
  fi
  rm -f "$apt_log"
fi

echo "[check] lint, types, dependency rule"
npx biome check .
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p apps/dashboard/tsconfig.json
npx depcruise --config .dependency-cruiser.cjs apps packages
check_env_reads

echo "[test] vitest"
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  // A file that fails before its tests run (a hook, an import) fails no test: say so, or "0 failed" misleads.
  if (r.numFailedTestSuites > 0) console.log(`${r.numFailedTestSuites} test file(s) failed`);
' "$report" || true
rm -f "$report"
exit "$status"
