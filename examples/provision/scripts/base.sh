#!/bin/bash
# The legacy base_setup feature: the packages every guest of the chain expects, and a
# UTF-8 locale. Safe to run again (Phoenix re-runs a step when it or an earlier one changes).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl wget vim htop jq git locales gnupg
sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
locale-gen en_US.UTF-8
update-locale LANG=en_US.UTF-8
# A VM template: the guest agent must come back in every clone.
if [ -d /run/systemd/system ] && systemctl list-unit-files qemu-guest-agent.service >/dev/null 2>&1; then
  systemctl enable qemu-guest-agent
fi
