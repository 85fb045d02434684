"""The outside-client scenario, driven by proxmoxer (an independent Proxmox client).

Usage: proxmoxer_scenario.py <port> <token-id> <token-secret> <template-vmid>
Prints one JSON object with what each step observed; the mocha test asserts on it.
"""
import json
import sys

from proxmoxer import ProxmoxAPI, ResourceException
from proxmoxer.tools import Tasks

port, token_id, secret, template = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
user, token_name = token_id.split("!")
px = ProxmoxAPI("127.0.0.1", port=int(port), user=user, token_name=token_name, token_value=secret, verify_ssl=False, timeout=30)
node = px.nodes("pve")
out = {}


def wait(upid):
    return Tasks.blocking_status(px, upid, timeout=60, polling_interval=0.02)


out["version"] = px.version.get()["version"]
nextid = px.cluster.nextid.get()
out["nextid"] = nextid
ct = int(nextid)
upid = node.lxc.post(
    vmid=ct,
    ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    hostname="web-1",
    net0="name=eth0,bridge=vmbr0,ip=dhcp",
    rootfs="local-lvm:4",
    tags="Prod,web",
)
out["ct_create_upid"] = upid
out["ct_create"] = wait(upid)["exitstatus"]
cfg = node.lxc(ct).config.get()
out["ct_tags"] = cfg["tags"]
out["ct_net0"] = cfg["net0"]

vm = ct + 1
upid = node.qemu(template).clone.post(newid=vm, name="app-1")
out["clone_upid"] = upid
out["clone"] = wait(upid)["exitstatus"]
cfg = node.qemu(vm).config.get()
out["vm_name"] = cfg["name"]
digest = cfg["digest"]
node.qemu(vm).config.put(cores=2, digest=digest)
out["vm_cores"] = node.qemu(vm).config.get()["cores"]
try:
    node.qemu(vm).config.put(cores=4, digest=digest)
    out["stale_digest"] = "accepted"
except ResourceException as e:
    out["stale_digest"] = [e.status_code, e.content]

out["start"] = wait(node.qemu(vm).status.start.post())["exitstatus"]
out["status_after_start"] = node.qemu(vm).status.current.get()["status"]
out["stop"] = wait(node.qemu(vm).status.stop.post())["exitstatus"]
out["status_after_stop"] = node.qemu(vm).status.current.get()["status"]
out["delete_vm"] = wait(node.qemu(vm).delete())["exitstatus"]
out["delete_ct"] = wait(node.lxc(ct).delete())["exitstatus"]
try:
    node.qemu(vm).config.get()
    out["deleted_vm_config"] = "still there"
except ResourceException as e:
    out["deleted_vm_config"] = [e.status_code, e.content]
print(json.dumps(out))
