/**
 * Host key pinning for SSH: a key is accepted only when the PhoenixHypervisor lists it, as a
 * `known_hosts` line for the address or as a SHA256 fingerprint. There is no trust on first use.
 * known_hosts follows sshd(8)'s format: comma-separated patterns (`*`, `?`, `!` negation,
 * `[host]:port` for another port than 22) or a hashed name `|1|salt|hmac-sha1`; the markers
 * `@revoked` (refused) and `@cert-authority` (not supported here: ignored).
 */

import { createHash, createHmac } from 'node:crypto';

export interface HostKeyPins {
  readonly knownHosts?: string;
  readonly fingerprints?: readonly string[];
}

export type HostKeyVerdict = 'accepted' | 'mismatch' | 'unknown' | 'revoked';

/** The fingerprint `ssh-keygen -lf` prints: `SHA256:` and the unpadded base64 of the key blob's SHA-256. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

interface KnownHost {
  readonly marker?: string;
  readonly hosts: string;
  readonly key: Buffer;
}

function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    const marker = words[0]!.startsWith('@') ? words.shift() : undefined;
    const [hosts, , key] = words;
    if (!hosts || !key) continue;
    out.push({ ...(marker ? { marker } : {}), hosts, key: Buffer.from(key, 'base64') });
  }
  return out;
}

/** How the address appears in known_hosts: bare for port 22, `[host]:port` otherwise. */
const hostName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`);

function glob(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = hosts.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (glob(pattern.slice(1), name)) return false;
    } else if (glob(pattern, name)) matched = true;
  }
  return matched;
}

/** Whether the key a node presented at `host:port` is pinned. */
export function verifyHostKey(pins: HostKeyPins, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  if (pins.fingerprints?.includes(fingerprint(keyBlob))) return 'accepted';
  const name = hostName(host, port);
  const lines = parseKnownHosts(pins.knownHosts ?? '').filter((l) => hostsMatch(l.hosts, name));
  if (lines.some((l) => l.marker === '@revoked' && l.key.equals(keyBlob))) return 'revoked';
  const plain = lines.filter((l) => l.marker === undefined);
  if (plain.some((l) => l.key.equals(keyBlob))) return 'accepted';
  return plain.length || pins.fingerprints?.length ? 'mismatch' : 'unknown';
}
