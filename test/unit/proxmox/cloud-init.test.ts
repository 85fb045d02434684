import assert from 'node:assert/strict';
import { decodeSshKeys, encodeSshKeys, formatIpConfig, parseIpConfig } from '../../../src/proxmox/cloud-init.ts';
import { checkNamedFormat } from '../../../src/proxmox/formats.ts';

describe('cloud-init values', () => {
  it('encodes sshkeys so that the urlencoded format accepts them, and decodes them back', () => {
    const keys = 'ssh-ed25519 AAAAC3Nza+/x= me@host\nssh-rsa AAAAB3 other@host\n';
    const encoded = encodeSshKeys(keys);
    assert.equal(checkNamedFormat('urlencoded', encoded), undefined);
    assert.equal(encoded.includes('+'), false, 'a literal + would be read back as a space');
    assert.deepEqual(decodeSshKeys(encoded), ['ssh-ed25519 AAAAC3Nza+/x= me@host', 'ssh-rsa AAAAB3 other@host']);
  });

  it('parses and prints ipconfig in Proxmox order', () => {
    assert.deepEqual(parseIpConfig('gw=10.0.0.1,ip=10.0.0.5/24,ip6=auto'), { gw: '10.0.0.1', ip: '10.0.0.5/24', ip6: 'auto' });
    assert.equal(formatIpConfig({ ip6: 'dhcp', ip: 'dhcp' }), 'ip=dhcp,ip6=dhcp');
    assert.equal(checkNamedFormat('pve-qm-ipconfig', formatIpConfig({ ip: '192.168.1.9/24', gw: '192.168.1.1' })), undefined);
  });
});

describe('startup order', () => {
  it('validates as Proxmox parses it: parts in any order, a bare number is the order', () => {
    for (const ok of ['up=10,order=3', 'down=5,up=10', '3', '3,up=10', 'order=0']) assert.equal(checkNamedFormat('pve-startup-order', ok), undefined, ok);
    for (const bad of ['', '0', 'order=x', 'up=10,later', 'order=3;up=10']) assert.equal(checkNamedFormat('pve-startup-order', bad), 'invalid startup order', bad);
  });
});
