#!/bin/bash
# Last step of a VM template: forget this machine's identity, so each clone gets its own
# machine-id, SSH host keys and cloud-init run (the legacy template pipeline's cleanup).
set -euo pipefail
cloud-init clean --logs --seed || true
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/ssh/ssh_host_*
