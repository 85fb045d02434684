#!/usr/bin/env bash
# Builds helm from the Go module proxy into the cache (for chart tests); prints its path.
# Built the way helm's own Makefile builds it: with its version and the Kubernetes version of
# its client-go stamped in. Without them `helm version` says only "v3.21" and `helm template`
# assumes Kubernetes 1.20, which the chart's kubeVersion (>=1.31) refuses.
set -euo pipefail
HELM_VERSION="${PHOENIX_HELM_VERSION:-3.21.4}"
CACHE="${PHOENIX_CACHE:-$HOME/.cache/phoenix}"
BIN="$CACHE/helm-$HELM_VERSION-stamped/bin"
mkdir -p "$CACHE"
# Concurrent runs share the cache: one builds, the others wait (see build-control-plane.sh).
exec 9>"$CACHE/.helm-build-lock"
flock 9
if [ ! -x "$BIN/helm" ]; then
  echo "[helm] building helm v$HELM_VERSION from the Go module proxy (first time only)" >&2
  mkdir -p "$BIN"
  module_dir=$(go mod download -json "helm.sh/helm/v3@v$HELM_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  client_go=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$module_dir/go.mod" | head -1)
  [ -n "$client_go" ] || { echo "[helm] cannot read client-go's version from $module_dir/go.mod" >&2; exit 1; }
  pkg=helm.sh/helm/v3
  ldflags="-s -w -X $pkg/internal/version.version=v$HELM_VERSION -X $pkg/internal/version.gitTreeState=clean"
  for var in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X $pkg/$var.k8sVersionMajor=1 -X $pkg/$var.k8sVersionMinor=$client_go"
  done
  ( GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@v$HELM_VERSION" ) &
  pid=$!; start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30 & wait $! || true
    kill -0 "$pid" 2>/dev/null && echo "[helm] still building ($((SECONDS - start)) s)" >&2
  done
  wait "$pid"
  "$BIN/helm" version --short >&2
fi
echo "$BIN/helm"
