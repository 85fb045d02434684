import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import ssh2 from 'ssh2';
import { sshKeyPair } from '../../../src/devcluster/ssh-key.ts';

describe('the demo\'s SSH key pair', () => {
  it('gives a private key ssh2 reads and the authorized_keys line of the same key', () => {
    const { privateKey, publicKey } = sshKeyPair('phoenix-demo');
    const [type, blob, comment] = publicKey.split(' ');
    assert.equal(type, 'ssh-rsa');
    assert.equal(comment, 'phoenix-demo');
    const fromLine = ssh2.utils.parseKey(publicKey);
    assert.ok(!(fromLine instanceof Error) && !Array.isArray(fromLine));
    // The line's key is the private key's: what it signs, the line's key verifies.
    const priv = ssh2.utils.parseKey(privateKey);
    assert.ok(!(priv instanceof Error) && !Array.isArray(priv));
    const data = Buffer.from('challenge');
    assert.equal(fromLine.verify(data, priv.sign(data)), true);
    // SSH wire format: string "ssh-rsa", mpint e, mpint n (RFC 4253 6.6), n the private key's modulus.
    const wire = Buffer.from(blob!, 'base64');
    const field = (at: number) => wire.subarray(at + 4, at + 4 + wire.readUInt32BE(at));
    const name = field(0);
    const e = field(4 + name.length);
    const n = field(8 + name.length + e.length);
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    assert.equal(name.toString(), 'ssh-rsa');
    assert.equal(Buffer.from(n.subarray(n[0] === 0 ? 1 : 0)).toString('base64url'), jwk.n);
    assert.match(privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n/);
  });
});
