import assert from 'node:assert/strict';
import { ProxmoxApiError, classifyProxmoxFailure, classifyTaskFailure, failedTaskStatus } from '../../../src/clients/proxmox/errors.ts';

/**
 * The messages below are what Proxmox's own code writes (file and sub named beside each), as
 * the transport sees them: the reason phrase, or reason and body joined with " - ".
 */
describe('Proxmox error classification by exact message forms', () => {
  const cases: [string, number | undefined, string, string][] = [
    // pve-guest-common AbstractConfig::load_config
    ['missing LXC config', 500, "Configuration file 'nodes/pve/lxc/100.conf' does not exist", 'NotFound'],
    ['missing VM config', 500, "Configuration file 'nodes/pve/qemu-server/100.conf' does not exist", 'NotFound'],
    // pve-cluster Cluster::check_vmid_unused
    ['CT id taken', 500, "CT 100 already exists on node 'pve'", 'AlreadyExists'],
    ['VM id taken, wrapped by qm create', 500, "unable to create VM 100 - VM 100 already exists on node 'pve2'", 'AlreadyExists'],
    // qemu-server API2/Qemu.pm clone_vm
    ['clone target taken', 500, 'unable to create VM 101: config file already exists', 'AlreadyExists'],
    // pve-guest-common AbstractConfig::check_lock, as the clone handler prefixes it
    ['CT lock', 500, 'clone failed: CT is locked (disk)', 'Locked'],
    ['VM lock', 500, 'VM is locked (snapshot-delete)', 'Locked'],
    // PVE::Tools::lock_file_full
    ['storage lock timeout', 500, "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout", 'LockTimeout'],
    // qemu-server and PVE::Tools::assert_if_modified
    ['VM digest', 500, 'checksum mismatch (file change by other user?)', 'Conflict'],
    ['CT digest', 500, 'detected modified configuration - file changed by other user? Try again.', 'Conflict'],
    // qemu-server API2/Qemu.pm update_vm_api: the qmconfig task it waited for failed, whatever its exit status says
    ['config task failed', 500, 'failed to update VM 100: hotplug problem - unable to apply', 'TaskFailed'],
    ['config task failed on a digest', 500, 'failed to update VM 100: checksum mismatch (file change by other user?)', 'TaskFailed'],
    ['config task failed on a lock', 500, 'failed to update VM 100: VM is locked (backup)', 'TaskFailed'],
    ['snapshot missing', 500, "snapshot 'before' does not exist", 'NotFound'],
    ['storage missing', 500, "storage 'fast' does not exist", 'NotFound'],
    // Not Proxmox's words: a reverse proxy, a load balancer, text that merely contains the words.
    ['proxy 404', 404, 'Not Found', 'Unavailable'],
    ['proxy 500 with "not found"', 500, 'Internal Server Error - upstream not found', 'ServerError'],
    ['"does not exist" without a Proxmox form', 500, 'backend does not exist', 'ServerError'],
    ['"is locked" without a Proxmox form', 500, 'account is locked', 'ServerError'],
    ['"already exists" without a Proxmox form', 500, 'session already exists', 'ServerError'],
    ['bad gateway', 502, 'Bad Gateway', 'Unavailable'],
    ['node unreachable', 595, 'Connection refused', 'Unavailable'],
    ['no answer', undefined, 'socket hang up', 'Unavailable'],
    ['token refused', 401, 'authentication failure', 'Unauthorized'],
    ['privilege', 403, 'Permission check failed (/vms/100, VM.Allocate)', 'Forbidden'],
  ];
  for (const [what, status, message, kind] of cases) {
    it(`${what} → ${kind}`, () => assert.equal(classifyProxmoxFailure(status, message), kind));
  }

  it('a 400 is a missing object only for the parameter forms Proxmox uses for one', () => {
    // pve-manager API2/Tasks.pm: raise_param_exc({ upid => "no such task" })
    assert.equal(classifyProxmoxFailure(400, 'Parameter verification failed.', { upid: 'no such task\n' }), 'NotFound');
    assert.equal(classifyProxmoxFailure(400, 'Parameter verification failed.', { upid: 'unable to parse worker upid' }), 'InvalidParameter');
    assert.equal(classifyProxmoxFailure(400, 'Parameter verification failed.', { vmid: 'value does not look like a valid VM ID' }), 'InvalidParameter');
  });

  it('a failed config task\'s exit status is what follows the VM', () => {
    const err = new ProxmoxApiError({ kind: 'TaskFailed', status: 500, message: 'failed to update VM 100: VM is locked (backup)', method: 'POST', path: '/nodes/pve/qemu/100/config' });
    assert.equal(failedTaskStatus(err), 'VM is locked (backup)');
  });

  it('task exit statuses use the same forms', () => {
    assert.equal(classifyTaskFailure("can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"), 'LockTimeout');
    assert.equal(classifyTaskFailure('unable to create CT 100 - some storage failure'), 'ServerError');
  });
});
