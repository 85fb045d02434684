#!/bin/bash
# vLLM in a Python venv at /opt/vllm, served by a systemd unit rendered from the step's
# environment (the legacy vllm feature and its vllm_model_server.service).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
: "${VLLM_MODEL:?the model to serve}"
: "${VLLM_PORT:=8000}"
: "${VLLM_ARGS:=}"
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-dev
[ -x /opt/vllm/bin/python ] || python3 -m venv /opt/vllm
/opt/vllm/bin/pip install --upgrade pip
/opt/vllm/bin/pip install --upgrade vllm
cat > /etc/systemd/system/vllm.service <<UNIT
[Unit]
Description=vLLM OpenAI-compatible server (${VLLM_MODEL})
After=network-online.target
Wants=network-online.target

[Service]
Environment=PATH=/opt/vllm/bin:/usr/local/cuda/bin:/usr/bin:/bin
Environment=HF_HOME=/vllm_models
ExecStart=/opt/vllm/bin/vllm serve ${VLLM_MODEL} --host 0.0.0.0 --port ${VLLM_PORT} ${VLLM_ARGS}
Restart=on-failure
RestartSec=10

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable vllm
systemctl restart vllm
