#!/usr/bin/env bash
# Runs `npm ci` only when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.phoenix-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "node_modules up to date"
  exit 0
fi
npm ci --no-audit --no-fund
echo "$want" > "$stamp"
