# Helpers shared by up.sh and test.sh. Sourced, not run.

# npm ci when node_modules is missing or older than the lock file.
ensure_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "[setup] npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# Only apps/*/src/main.ts reads process.env (DESIGN.md); everything else gets config passed in.
check_env_reads() {
  local offenders
  offenders=$(grep -rln --include='*.ts' 'process\.env' apps packages | grep -Ev '^apps/[^/]+/src/main\.ts$' || true)
  if [ -n "$offenders" ]; then
    echo "[check] process.env is read outside apps/*/src/main.ts:" >&2
    echo "$offenders" >&2
    return 1
  fi
}
