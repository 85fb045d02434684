import assert from 'node:assert/strict';
import { encodeWorkerId, formatUpid, parseUpid, upidTokenId } from '../../../src/proxmox/upid.ts';

describe('UPIDs', () => {
  it('formats the pve-common layout with upper-case hex and a trailing colon', () => {
    const upid = formatUpid({ node: 'pve', pid: 0xa1b2c, pstart: 0x123abcd, starttime: 0x65a1b2c3, type: 'qmcreate', id: '100', user: 'root@pam' });
    assert.equal(upid, 'UPID:pve:000A1B2C:0123ABCD:65A1B2C3:qmcreate:100:root@pam:');
  });

  it('round-trips, including 9-digit pstart and token users', () => {
    const text = 'UPID:node-2:00001001:1217C458D:6955B903:vzclone:9000:ops@pve!ci:';
    const parsed = parseUpid(text)!;
    assert.deepEqual(parsed, { node: 'node-2', pid: 0x1001, pstart: 0x1217c458d, starttime: 0x6955b903, type: 'vzclone', id: '9000', user: 'ops@pve!ci' });
    assert.equal(formatUpid(parsed), text);
    assert.equal(upidTokenId(parsed.user), 'ci');
    assert.equal(upidTokenId('root@pam'), undefined);
  });

  it('rejects what Proxmox cannot parse', () => {
    for (const bad of ['', 'UPID:pve:1:2:3:x:1:root@pam:', 'UPID:pve:00001001:217C458D:6955B903:vzcreate:100:root@pam', 'UPID:-pve:00001001:217C458D:6955B903:a::u:']) {
      assert.equal(parseUpid(bad), undefined, bad);
    }
    assert.equal(parseUpid('UPID:pve:00001001:217C458D:6955B903:srvreload::root@pam:')?.id, '', 'node tasks have an empty id');
  });

  it('encodes a worker id like pve-common encode_text: ":" "%", control and non-ASCII bytes as %XX', () => {
    assert.equal(encodeWorkerId('debian-12-standard_12.7-1_amd64.tar.zst'), 'debian-12-standard_12.7-1_amd64.tar.zst');
    assert.equal(encodeWorkerId('a b:c%d'), 'a b%3Ac%25d');
    assert.equal(encodeWorkerId('tab\there'), 'tab%09here');
    assert.equal(encodeWorkerId('café.iso'), 'caf%C3%A9.iso');
  });
});
