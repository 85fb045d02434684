import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../src/clients/ssh/key-pair.ts';

describe('ssh: ed25519 key pairs', () => {
  it('makes only pairs that ssh2 itself can read back (its generator drops a zero byte about once in 200)', () => {
    // 2,000 pairs: ssh2's raw generator yields an unreadable one in all but about 1 in 10,000 such runs.
    for (let i = 0; i < 2_000; i++) {
      const pair = ed25519KeyPair();
      const pub = ssh2.utils.parseKey(pair.public);
      assert.ok(!(pub instanceof Error), `unreadable public key: ${pair.public}`);
      assert.ok(!(ssh2.utils.parseKey(pair.private) instanceof Error), 'unreadable private key');
      assert.equal((Array.isArray(pub) ? pub[0] : pub)!.getPublicSSH().length, 51, 'an ed25519 public blob is 51 bytes');
    }
  });

  it('writes the comment into the authorized_keys line of the key the private half signs with', () => {
    const pair = ed25519KeyPair('phoenix-demo');
    const [type, , comment] = pair.public.split(' ');
    assert.equal(type, 'ssh-ed25519');
    assert.equal(comment, 'phoenix-demo');
    const pub = ssh2.utils.parseKey(pair.public);
    const priv = ssh2.utils.parseKey(pair.private);
    assert.ok(!(pub instanceof Error) && !Array.isArray(pub) && !(priv instanceof Error) && !Array.isArray(priv));
    const data = Buffer.from('challenge');
    assert.equal(pub.verify(data, priv.sign(data)), true);
    assert.match(pair.private, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  });
});
