#!/usr/bin/env bash
# Python clients for the simulator's outside-client tests: proxmoxer (an independent
# Proxmox client) in a cached venv, so the scenario is proven with a second client.
# Skipped (not failed) when python3 is absent; the test then prints why it skipped.
set -euo pipefail
venv="${PHOENIX_PY_VENV:-$HOME/.cache/phoenix/venv}"
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: proxmoxer tests will be skipped"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import proxmoxer, requests' >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'proxmoxer==2.2.0' 'requests>=2.31,<3'
fi
"$venv/bin/python" -c 'import proxmoxer; print("proxmoxer", proxmoxer.__version__)'
