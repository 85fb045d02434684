#!/usr/bin/env bash
# `npm run demo`: runs Phoenix on this machine with nothing but Node and Go. Starts a real
# kube-apiserver and etcd on loopback, then `phoenix demo`: the Proxmox VE simulator and
# `phoenix controller` in the background, the guest examples applied with kubectl, and
# their convergence shown. Stop everything with `npm run cluster:down`.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== [demo] %s\n' "$*"; }

PATH="$(scripts/ensure-node.sh):$PATH"; export PATH
scripts/ensure-deps.sh >/dev/null

step "control plane (built from the Go module proxy the first time; cached after)"
bin=$(scripts/build-control-plane.sh)
export PATH="$bin:$PATH" TEST_ASSET_ETCD="$bin/etcd" TEST_ASSET_KUBE_APISERVER="$bin/kube-apiserver"
node bin/phoenix.js cluster up
export KUBECONFIG="$PWD/.phoenix/kubeconfig"

step "Phoenix: the Proxmox simulator, phoenix controller, and the guest examples"
node bin/phoenix.js demo
