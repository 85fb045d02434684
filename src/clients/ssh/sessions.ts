/**
 * SSH to Proxmox nodes with `ssh2`: one connection per node (and credentials), reused by every
 * command and file Phoenix sends there, opened on first use and dropped when it closes. A node's
 * host key must be pinned (host-keys.ts): an unlisted or different key ends the handshake before
 * anything is sent, and is reported as a HostKeyError. Credentials are only ever handed to ssh2;
 * they are in no message this module makes.
 */

import { createHash } from 'node:crypto';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { fingerprint, verifyHostKey, type HostKeyPins, type HostKeyVerdict } from './host-keys.ts';

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: string;
  readonly passphrase?: string;
  readonly pins: HostKeyPins;
  readonly connectTimeoutMs: number;
}

export interface SshResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The node's host key is not the pinned one (or none is pinned for it): nothing was sent. */
export class HostKeyError extends Error {
  readonly verdict: Exclude<HostKeyVerdict, 'accepted'>;
  readonly fingerprint: string;

  constructor(target: SshTarget, verdict: Exclude<HostKeyVerdict, 'accepted'>, presented: string) {
    const what = verdict === 'unknown' ? 'no pinned host key is listed for it' : verdict === 'revoked' ? 'its host key is marked @revoked' : 'its host key differs from the pinned one';
    super(`refused to connect to ${target.host}:${target.port}: ${what} (it presented ${presented})`);
    this.name = 'HostKeyError';
    this.verdict = verdict;
    this.fingerprint = presented;
  }
}

/** The node refused the credentials. */
export class SshAuthError extends Error {
  constructor(target: SshTarget) {
    super(`${target.host}:${target.port} refused the SSH key of user ${target.username}`);
    this.name = 'SshAuthError';
  }
}

/** OpenSSH's default MaxSessions: channels one connection may have open at once. */
const maxChannels = 10;

interface Session {
  readonly key: string;
  readonly client: Promise<Client>;
  open: number;
  readonly waiting: (() => void)[];
}

export class SshSessions {
  readonly #sessions = new Map<string, Session>();
  #closed = false;

  /** Runs `command` (one shell line) and waits for it, at most `waitMs`: undefined when it has not ended by then. */
  async exec(target: SshTarget, command: string, waitMs: number): Promise<SshResult | undefined> {
    return this.#withChannel(target, (client) => new Promise<SshResult | undefined>((resolve, reject) => {
      client.exec(command, (err, stream: ClientChannel) => {
        if (err) return reject(err);
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => {
          resolve(undefined);
          stream.close();
        }, waitMs);
        let exit: { code: number | null; signal?: string } | undefined;
        stream.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        stream.on('exit', (code: number | null, signal?: string) => (exit = { code, ...(signal ? { signal } : {}) }));
        stream.on('close', () => {
          clearTimeout(timer);
          // No exit status: the connection went away under the command, whose outcome is unknown.
          if (!exit) return reject(new Error(`the SSH channel to ${target.host}:${target.port} closed before the command reported how it ended`));
          // A command ended by a signal has no exit code; report it as a failure.
          resolve({ exitCode: exit.code ?? 255, stdout, stderr });
        });
      });
    }));
  }

  /** Writes a file on the node (SFTP), replacing it, with `mode`. */
  async writeFile(target: SshTarget, path: string, content: Buffer, mode: number): Promise<void> {
    await this.#sftp(target, (sftp, done) => sftp.writeFile(path, content, { mode }, done));
  }

  /** Removes a file on the node (SFTP); a missing file is no error. */
  async unlink(target: SshTarget, path: string): Promise<void> {
    await this.#sftp(target, (sftp, done) => sftp.unlink(path, (err) => done(err && (err as { code?: number }).code !== 2 ? err : undefined)));
  }

  close(): void {
    this.#closed = true;
    for (const session of this.#sessions.values()) void session.client.then((c) => c.end(), () => undefined);
    this.#sessions.clear();
  }

  #sftp(target: SshTarget, act: (sftp: SFTPWrapper, done: (err?: Error | null) => void) => void): Promise<void> {
    return this.#withChannel(target, (client) => new Promise<void>((resolve, reject) => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        act(sftp, (e) => {
          sftp.end();
          if (e) reject(e);
          else resolve();
        });
      });
    }));
  }

  async #withChannel<T>(target: SshTarget, use: (client: Client) => Promise<T>): Promise<T> {
    const session = this.#session(target);
    const client = await session.client;
    if (session.open >= maxChannels) await new Promise<void>((resolve) => session.waiting.push(resolve));
    session.open++;
    try {
      return await use(client);
    } finally {
      session.open--;
      session.waiting.shift()?.();
    }
  }

  /** The connection to the target's node, made when there is none for these credentials and pins. */
  #session(target: SshTarget): Session {
    if (this.#closed) throw new Error('SSH sessions are closed');
    const node = `${target.host}:${target.port}`;
    const key = createHash('sha256').update(JSON.stringify([target.username, target.privateKey, target.passphrase ?? '', target.pins])).digest('hex');
    const existing = this.#sessions.get(node);
    if (existing?.key === key) return existing;
    if (existing) void existing.client.then((c) => c.end(), () => undefined);
    const session: Session = { key, client: connect(target, () => this.#drop(node, session)), open: 0, waiting: [] };
    // A failed connection is not kept: the next call tries again.
    session.client.catch(() => this.#drop(node, session));
    this.#sessions.set(node, session);
    return session;
  }

  #drop(node: string, session: Session): void {
    if (this.#sessions.get(node) === session) this.#sessions.delete(node);
  }
}

/**
 * ssh2, loaded on the first connection: a controller that never uses SSH does not carry it.
 * Loading it costs about 10 MiB of resident memory (its poly1305 WebAssembly module alone
 * reserves 16 MiB of external memory), a seventh of the controller's idle budget (issue 11).
 */
let ssh2: Promise<typeof import('ssh2')> | undefined;

async function connect(target: SshTarget, onClose: () => void): Promise<Client> {
  const { Client } = await (ssh2 ??= import('ssh2').then((m) => m.default as typeof import('ssh2')));
  return new Promise((resolve, reject) => {
    const client = new Client();
    let refused: HostKeyError | undefined;
    let ready = false;
    client.on('ready', () => {
      ready = true;
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (ready) return;
      if (refused) reject(refused);
      else if (err.level === 'client-authentication') reject(new SshAuthError(target));
      else reject(new Error(`cannot connect to ${target.host}:${target.port} over SSH: ${err.message}`));
    });
    client.on('close', () => {
      onClose();
      if (!ready) reject(refused ?? new Error(`the SSH connection to ${target.host}:${target.port} closed during the handshake`));
    });
    client.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      ...(target.passphrase !== undefined ? { passphrase: target.passphrase } : {}),
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(target.pins, target.host, target.port, key);
        if (verdict === 'accepted') return true;
        refused = new HostKeyError(target, verdict, fingerprint(key));
        return false;
      },
    });
  });
}
