#!/usr/bin/env bash
# Builds etcd and kube-apiserver from the Go module proxy into a cache outside the
# repository, so tests can run a real control plane without Docker or downloads of
# prebuilt binaries. Idempotent: a cached binary of the right version is reused.
set -euo pipefail

K8S_VERSION="${PHOENIX_K8S_VERSION:-1.34.4}"
ETCD_VERSION="${PHOENIX_ETCD_VERSION:-3.6.16}"
CACHE="${PHOENIX_CACHE:-$HOME/.cache/phoenix}"
BIN="$CACHE/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
WORK="$CACHE/control-plane/build"
mkdir -p "$BIN" "$WORK"

log() { printf '[control-plane] %s\n' "$*" >&2; }

# Several test runs on one machine share the cache: one builds, the others wait for it
# (two builds in one work directory delete each other's files).
exec 9>"$CACHE/control-plane/.build-lock"
if ! flock -n 9; then
  log "another run is building the control plane; waiting for it"
  flock 9
fi

if ! command -v go >/dev/null; then
  log "Go is required to build the control plane (https://go.dev); none found on PATH"; exit 1
fi

# A module build can sit silent for many minutes; a heartbeat shows it is alive.
with_heartbeat() {
  local what="$1"; shift
  local start=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30 & wait $! || true
    kill -0 "$pid" 2>/dev/null && log "$what: still working ($((SECONDS - start)) s)"
  done
  wait "$pid"
}

if [ ! -x "$BIN/etcd" ]; then
  log "building etcd v$ETCD_VERSION (first time only)"
  d="$WORK/etcd-$ETCD_VERSION"; rm -rf "$d"; mkdir -p "$d"; cd "$d"
  go mod init local/etcdbuild >/dev/null 2>&1
  # etcd's own go.mod replaces its sibling modules with relative paths, which
  # `go install` refuses; a wrapper module ignores a dependency's replaces.
  with_heartbeat "etcd download" go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  with_heartbeat "etcd compile" env CGO_ENABLED=0 go build -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
fi
log "etcd: $("$BIN/etcd" --version | head -1)"

if [ ! -x "$BIN/kube-apiserver" ]; then
  log "building kube-apiserver v$K8S_VERSION (first time only; several minutes on 2 cores)"
  d="$WORK/kube-apiserver-$K8S_VERSION"; rm -rf "$d"; mkdir -p "$d"; cd "$d"
  go mod init local/apiserverbuild >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging="v0.${K8S_VERSION#1.}"
  # k8s.io/kubernetes pins its staging modules at v0.0.0 with local replaces;
  # point each one at its published release instead.
  for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"); do
    go mod edit "-replace=$m=$m@$staging"
  done
  go mod edit "-require=k8s.io/kubernetes@v$K8S_VERSION"
  with_heartbeat "kube-apiserver download" go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION"
  ldflags="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#1.}"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION"
  with_heartbeat "kube-apiserver compile" env CGO_ENABLED=0 go build -ldflags "$ldflags" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
fi
log "kube-apiserver: $("$BIN/kube-apiserver" --version)"

# kubectl of the same minor as the server (kubectl supports one minor of skew; the
# machine's may be older). Built in the same wrapper module, so it shares the cache.
if [ ! -x "$BIN/kubectl" ]; then
  log "building kubectl v$K8S_VERSION (first time only)"
  cd "$WORK/kube-apiserver-$K8S_VERSION"
  with_heartbeat "kubectl download" go get "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION"
  ldflags="-X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${K8S_VERSION#1.}"
  ldflags="$ldflags -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION"
  with_heartbeat "kubectl compile" env CGO_ENABLED=0 go build -ldflags "$ldflags" -o "$BIN/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv "$BIN/kubectl.tmp" "$BIN/kubectl"
fi
log "kubectl: $("$BIN/kubectl" version --client 2>/dev/null | head -1)"

echo "$BIN"
