#!/usr/bin/env bash
# Python clients for the simulator's outside-client tests, in a cached venv: proxmoxer (an
# independent Proxmox client) and Ansible with its community.proxmox collection (the `ansible`
# package bundles it), so the scenarios are proven with clients users already run.
# Skipped (not failed) when python3 is absent; the tests then print why they skipped.
set -euo pipefail
venv="${PHOENIX_PY_VENV:-$HOME/.cache/phoenix/venv}"
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: proxmoxer and Ansible tests will be skipped"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import proxmoxer, requests' >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'proxmoxer==2.2.0' 'requests>=2.31,<3'
fi
# ansible 12.x (ansible-core 2.19, Python >= 3.11) ships community.proxmox 1.x.
if ! "$venv/bin/python" -c 'import ansible_collections.community.proxmox' >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'ansible==12.3.0' \
    || echo "Ansible could not be installed: the community.proxmox test will be skipped"
fi
"$venv/bin/python" -c 'import proxmoxer; print("proxmoxer", proxmoxer.__version__)'
"$venv/bin/python" -c 'import ansible_collections.community.proxmox, ansible; print("ansible", ansible.__version__ if hasattr(ansible, "__version__") else "installed")' 2>/dev/null || true
