import assert from 'node:assert/strict';
import { validateParams, MSG_MISSING, MSG_UNKNOWN } from '../../../src/proxmox/validate.ts';
import { bool, defsForVersion, int, nodeParam, oneOf, str, vmidParam, type ParamDefs } from '../../../src/proxmox/schema.ts';
import { lxcNetFormat } from '../../../src/proxmox/guest-formats.ts';
import { checkNamedFormat, isKnownFormat } from '../../../src/proxmox/formats.ts';

const defs: ParamDefs = {
  node: nodeParam,
  vmid: vmidParam,
  onboot: bool({ optional: true }),
  cores: int({ optional: true, minimum: 1, maximum: 8 }),
  ostype: oneOf(['debian', 'ubuntu'], { optional: true }),
  description: str({ optional: true, maxLength: 5 }),
  tags: str({ optional: true, format: 'pve-tag-list' }),
  'net[n]': str({ optional: true, count: 32, format: lxcNetFormat }),
  newer: str({ optional: true, since: '9.1' }),
};

describe('parameter validation (pve-common JSONSchema rules)', () => {
  it('accepts valid input and types it: integers and 0/1 booleans become numbers', () => {
    const r = validateParams(defs, { node: 'pve', vmid: '100', onboot: '1', cores: '2', net31: 'name=eth0,bridge=vmbr0' });
    assert.deepEqual(r, { ok: true, params: { node: 'pve', vmid: 100, onboot: 1, cores: 2, net31: 'name=eth0,bridge=vmbr0' } });
    assert.deepEqual(validateParams(defs, { node: 'pve', vmid: 100, onboot: true }), { ok: true, params: { node: 'pve', vmid: 100, onboot: 1 } }, 'JSON booleans are accepted');
  });

  it('collects one error per parameter, in Proxmox wording', () => {
    const r = validateParams(defs, { vmid: '99', onboot: 'true', cores: '9', ostype: 'arch', description: 'toolong', tags: 'ok,bad tag!', net32: 'x', extra: '1' });
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.errors, {
      node: MSG_MISSING,
      vmid: 'invalid format - value does not look like a valid VM ID\n',
      onboot: "type check ('boolean') failed - got 'true'",
      cores: 'value must have a maximum value of 8',
      ostype: "value 'arch' does not have a value in the enumeration 'debian, ubuntu'",
      description: 'value may only be 5 characters long',
      tags: 'invalid format - invalid characters in tag\n',
      net32: MSG_UNKNOWN,
      extra: MSG_UNKNOWN,
    });
  });

  it('checks format before range, as Proxmox does', () => {
    const r = validateParams(defs, { node: 'pve', vmid: '1000000000' });
    assert.deepEqual(!r.ok && r.errors, { vmid: 'invalid format - value does not look like a valid VM ID\n' });
    const arr = validateParams(defs, { node: ['a', 'b'], vmid: '100' });
    assert.deepEqual(!arr.ok && arr.errors, { node: "type check ('string') failed - got ARRAY" });
  });

  it('knows which parameters a release has', () => {
    assert.equal(Object.hasOwn(defsForVersion(defs, '8.4'), 'newer'), false);
    assert.equal(Object.hasOwn(defsForVersion(defs, '9.1'), 'newer'), true);
  });

  it('derives -list and -opt formats', () => {
    assert.equal(isKnownFormat('pve-storage-id-list'), true);
    assert.equal(isKnownFormat('no-such-format'), false);
    assert.equal(checkNamedFormat('pve-configid-list', 'net0,cores'), undefined);
    assert.equal(checkNamedFormat('pve-configid-list', 'net0,1x'), "invalid configuration ID '1x'");
    assert.equal(checkNamedFormat('pve-qm-ipconfig', 'ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto'), undefined);
    assert.equal(checkNamedFormat('pve-qm-ipconfig', 'ip=10.0.0.2'), "invalid IP configuration 'ip=10.0.0.2'");
  });
});
