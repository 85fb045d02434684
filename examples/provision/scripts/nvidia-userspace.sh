#!/bin/bash
# The NVIDIA userspace driver in a container: the host's kernel module serves it, so the
# .run installer must not build one (--no-kernel-module), and its version must equal the
# host's exactly (NVIDIA_DRIVER_VERSION, e.g. 580.95.05). Then the CUDA toolkit, and a check
# that nvcc runs. The /dev/nvidia* devices are passed to the container by root@pam (see
# golden-chain-lxc.yaml): the script waits for them, as the legacy feature learnt to.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
: "${NVIDIA_DRIVER_VERSION:?set the host driver version}"
: "${CUDA_PACKAGE:=cuda-toolkit-12-8}"
for _ in $(seq 1 60); do [ -e /dev/nvidiactl ] && break; sleep 2; done
[ -e /dev/nvidiactl ] || { echo "no /dev/nvidiactl: pass the GPU devices to the container first" >&2; exit 1; }
apt-get update
apt-get install -y --no-install-recommends build-essential pkg-config libglvnd-dev wget
run="NVIDIA-Linux-x86_64-${NVIDIA_DRIVER_VERSION}.run"
wget -q -O "/tmp/${run}" "https://download.nvidia.com/XFree86/Linux-x86_64/${NVIDIA_DRIVER_VERSION}/${run}"
sh "/tmp/${run}" --silent --no-kernel-module --no-dkms --no-drm --no-nouveau-check --no-questions --accept-license
rm -f "/tmp/${run}"
. /etc/os-release
repo="ubuntu${VERSION_ID//./}"
wget -q -O /tmp/cuda-keyring.deb "https://developer.download.nvidia.com/compute/cuda/repos/${repo}/x86_64/cuda-keyring_1.1-1_all.deb"
dpkg -i /tmp/cuda-keyring.deb
apt-get update
apt-get install -y --no-install-recommends "${CUDA_PACKAGE}"
echo 'export PATH=/usr/local/cuda/bin:$PATH' > /etc/profile.d/cuda.sh
nvidia-smi
/usr/local/cuda/bin/nvcc --version
