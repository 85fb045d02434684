import { strict as assert } from 'node:assert';
import { createHash, createHmac } from 'node:crypto';
import { fingerprint, verifyHostKey } from '../../../src/clients/ssh/host-keys.ts';

describe('SSH host key pinning', () => {
  const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
  const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIBBBBnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
  const b64 = key.toString('base64');

  it('prints fingerprints as ssh-keygen -lf does: unpadded base64 of the SHA-256', () => {
    const expected = createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
    assert.equal(fingerprint(key), `SHA256:${expected}`);
    assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('accepts a pinned fingerprint and refuses any other key', () => {
    assert.equal(verifyHostKey({ fingerprints: [fingerprint(key)] }, 'pve1', 22, key), 'accepted');
    assert.equal(verifyHostKey({ fingerprints: [fingerprint(key)] }, 'pve1', 22, other), 'mismatch');
  });

  it('reads known_hosts: patterns, ports, hashed names, negation and @revoked', () => {
    const knownHosts = `# comment\npve1,10.0.0.1 ssh-ed25519 ${b64}\n[10.0.0.2]:2222 ssh-ed25519 ${b64}\n*.lab,!bad.lab ssh-ed25519 ${b64}\n`;
    assert.equal(verifyHostKey({ knownHosts }, '10.0.0.1', 22, key), 'accepted');
    assert.equal(verifyHostKey({ knownHosts }, '10.0.0.1', 22, other), 'mismatch');
    assert.equal(verifyHostKey({ knownHosts }, '10.0.0.2', 2222, key), 'accepted');
    assert.equal(verifyHostKey({ knownHosts }, '10.0.0.2', 22, key), 'unknown', 'the port is part of the name');
    assert.equal(verifyHostKey({ knownHosts }, 'pve3.lab', 22, key), 'accepted');
    assert.equal(verifyHostKey({ knownHosts }, 'bad.lab', 22, key), 'unknown');
    const salt = Buffer.from('0123456789abcdef0123');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('pve9').digest('base64')} ssh-ed25519 ${b64}`;
    assert.equal(verifyHostKey({ knownHosts: hashed }, 'pve9', 22, key), 'accepted');
    assert.equal(verifyHostKey({ knownHosts: hashed }, 'pve8', 22, key), 'unknown');
    assert.equal(verifyHostKey({ knownHosts: `@revoked pve1 ssh-ed25519 ${b64}\n${knownHosts}` }, 'pve1', 22, key), 'revoked');
  });

  it('never trusts a host it has nothing pinned for', () => {
    assert.equal(verifyHostKey({}, 'pve1', 22, key), 'unknown');
  });
});
