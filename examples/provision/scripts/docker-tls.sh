#!/bin/bash
# Docker's API on tcp/2376 with mutual TLS. The step places ca.pem, cert.pem and key.pem
# (from a Secret) in /etc/docker/tls first; this script only points dockerd at them.
# dockerd refuses "hosts" in daemon.json while the systemd unit passes -H, hence the drop-in.
set -euo pipefail
chmod 0600 /etc/docker/tls/key.pem
cat > /etc/docker/daemon.json <<JSON
{
  "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"],
  "tls": true,
  "tlsverify": true,
  "tlscacert": "/etc/docker/tls/ca.pem",
  "tlscert": "/etc/docker/tls/cert.pem",
  "tlskey": "/etc/docker/tls/key.pem"
}
JSON
mkdir -p /etc/systemd/system/docker.service.d
cat > /etc/systemd/system/docker.service.d/phoenix-tls.conf <<UNIT
[Service]
ExecStart=
ExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock
UNIT
systemctl daemon-reload
systemctl restart docker
