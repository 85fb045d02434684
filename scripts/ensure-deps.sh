#!/usr/bin/env bash
# Runs `npm ci` only when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
# A worktree may link node_modules to another checkout's (docs: `ln -s …/node_modules`).
# npm ci would empty the linked directory first, under every checkout that shares it:
# leave a link alone.
if [ -L node_modules ]; then
  echo "node_modules links to $(readlink node_modules); not reinstalling into a shared directory"
  exit 0
fi
stamp=node_modules/.phoenix-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "node_modules up to date"
  exit 0
fi
npm ci --no-audit --no-fund
echo "$want" > "$stamp"
