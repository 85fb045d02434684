import ssh2 from 'ssh2';

export interface OpenSshKeyPair {
  /** OpenSSH private key text. */
  readonly private: string;
  /** `ssh-ed25519 AAAA… [comment]` authorized_keys line. */
  readonly public: string;
}

/**
 * A fresh ed25519 key pair in OpenSSH format. ssh2's generator drops a leading zero byte of the
 * raw key about once in 200 keys, and ssh2 then refuses its own output ("Malformed OpenSSH public
 * key"): such a pair is thrown away and another made, so a simulator start or a test never fails
 * by chance.
 */
export function ed25519KeyPair(comment?: string): OpenSshKeyPair {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment !== undefined ? { comment } : {});
    if (!(ssh2.utils.parseKey(pair.public) instanceof Error) && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}
