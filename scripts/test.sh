#!/usr/bin/env bash
# The whole test suite, from a fresh clone: brings Node 24, installs dependencies,
# builds the control plane (cached), runs every setup hook, type-checks, checks that
# generated files are current, then runs mocha against a real kube-apiserver.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== [test] %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }

step "Node"
PATH="$(scripts/ensure-node.sh):$PATH"; export PATH
echo "node $(node --version), npm $(npm --version)"

step "npm dependencies"
scripts/ensure-deps.sh

step "control plane (etcd, kube-apiserver, kubectl)"
bin=$(scripts/build-control-plane.sh)
export TEST_ASSET_ETCD="$bin/etcd" TEST_ASSET_KUBE_APISERVER="$bin/kube-apiserver"
PATH="$bin:$PATH"
echo "kubectl: $(kubectl version --client 2>/dev/null | head -1)"

step "helm"
scripts/build-helm.sh >/dev/null

for hook in scripts/test-setup.d/*.sh; do
  [ -e "$hook" ] || continue
  step "setup: $(basename "$hook")"
  bash "$hook"
done

step "type check"
npx tsc -p tsconfig.json

if [ -f scripts/generate.ts ]; then
  step "generated files are current"
  node scripts/generate.ts --check
fi

step "mocha"
npx mocha "$@"
