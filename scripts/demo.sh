#!/usr/bin/env bash
# `npm run demo`: runs Phoenix on this machine with nothing but Node and Go. Starts a real
# kube-apiserver and etcd on loopback, installs the CRDs, applies the examples and shows
# them with kubectl. Stop everything with `npm run cluster:down`.
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

step "CRDs"
kubectl apply --server-side --force-conflicts --field-manager=phoenix-demo -f crds/
kubectl wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=phoenix

step "examples"
kubectl apply --server-side --force-conflicts --field-manager=phoenix-demo -f examples/

step "kubectl get phoenix -A"
kubectl get phoenix -A

cat <<MSG

The local cluster keeps running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get phoenixlxcs copy-cuda -o yaml
  kubectl explain phoenixvm.spec.cloudInit
Stop it with: npm run cluster:down
MSG
