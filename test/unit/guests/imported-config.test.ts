import { strict as assert } from 'node:assert';
import { importedConfig } from '../../../src/guests/imported-config.ts';
import { describeWithMarker } from '../../../src/guests/marker.ts';

describe('importedConfig: a found guest as status shows it', () => {
  it('keeps every option as Proxmox returned it, sorted, without the digest', () => {
    assert.deepEqual(importedConfig({ memory: 2048, cores: 2, digest: 'abc', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0' }), {
      cores: '2', memory: '2048', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
    });
  });

  it('leaves out the snapshot parent, which is no option a spec can set', () => {
    assert.deepEqual(importedConfig({ cores: 2, parent: 'pre-upgrade', digest: 'abc' }), { cores: '2' });
  });

  it('masks secrets', () => {
    assert.deepEqual(importedConfig({ cipassword: '**********', sshkeys: 'ssh-ed25519%20AAAA', ciuser: 'ops' }), { cipassword: '(secret)', ciuser: 'ops', sshkeys: '(secret)' });
  });

  it('shows the notes without Phoenix\'s marker, and no description when only the marker is there', () => {
    const owner = { uid: '0f9c2d1e-5b7a-4c3d-9e8f-112233445566', ref: 'PhoenixVM ns/db' };
    assert.deepEqual(importedConfig({ description: describeWithMarker('DBA notes', owner) }), { description: 'DBA notes' });
    assert.deepEqual(importedConfig({ description: describeWithMarker(undefined, owner) }), {});
  });
});
