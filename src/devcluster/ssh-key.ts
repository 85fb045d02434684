import { generateKeyPairSync } from 'node:crypto';
import ssh2 from 'ssh2';

/**
 * A fresh SSH key pair for the demo's PhoenixHypervisor. RSA, because node:crypto writes
 * ed25519 private keys only as PKCS#8, which neither ssh2 nor OpenSSH reads; an RSA key as
 * PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) both read. 3072 bits, ssh-keygen's default.
 */
export function sshKeyPair(comment: string): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 3072,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  // An authorized_keys line: type, the public key in SSH wire format as base64, a comment.
  return { privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')} ${comment}` };
}
