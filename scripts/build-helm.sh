#!/usr/bin/env bash
# Builds helm from the Go module proxy into the cache (for chart tests); prints its path.
set -euo pipefail
HELM_VERSION="${PHOENIX_HELM_VERSION:-3.21.4}"
CACHE="${PHOENIX_CACHE:-$HOME/.cache/phoenix}"
BIN="$CACHE/helm-$HELM_VERSION/bin"
mkdir -p "$CACHE"
# Concurrent runs share the cache: one builds, the others wait (see build-control-plane.sh).
exec 9>"$CACHE/.helm-build-lock"
flock 9
if [ ! -x "$BIN/helm" ]; then
  echo "[helm] building helm v$HELM_VERSION from the Go module proxy (first time only)" >&2
  mkdir -p "$BIN"
  ( GOBIN="$BIN" CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" ) &
  pid=$!; start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30 & wait $! || true
    kill -0 "$pid" 2>/dev/null && echo "[helm] still building ($((SECONDS - start)) s)" >&2
  done
  wait "$pid"
fi
echo "$BIN/helm"
