#!/usr/bin/env bash
# Builds tools/promcheck (promlint and the PromQL parser, from the Go module proxy) into the
# cache, keyed by its sources; prints its path. The metrics tests run it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${PHOENIX_CACHE:-$HOME/.cache/phoenix}"
key=$(cat "$root"/tools/promcheck/{go.mod,go.sum,main.go} | sha256sum | cut -c1-16)
BIN="$CACHE/promcheck-$key/promcheck"
mkdir -p "$CACHE"
# Concurrent runs share the cache: one builds, the others wait (as build-helm.sh).
exec 9>"$CACHE/.promcheck-build-lock"
flock 9
if [ ! -x "$BIN" ]; then
  echo "[promcheck] building tools/promcheck (first time only)" >&2
  mkdir -p "$(dirname "$BIN")"
  ( cd "$root/tools/promcheck" && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" . ) >&2
  mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
