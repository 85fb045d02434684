/**
 * The simulated node's SSH server (ssh2's Server), for the container transport: key
 * authentication only, a host key of its own, and a "shell" that runs `pct exec`, `pct push`
 * and `pct pull` (with `sudo`/`sudo -n` in front, for a user other than root) on the containers
 * of its node, and SFTP into the node's own small file system (what `pct push` copies from).
 * Everything else is refused as a shell would (`command not found`, exit 127), and so is a
 * command line with unquoted shell operators: the simulator runs single pct commands only.
 *
 * pct's refusals follow pve-container src/PVE/CLI/pct.pm: `exec` loads the config first
 * (`Configuration file 'nodes/<node>/lxc/<vmid>.conf' does not exist`), then `container
 * '<vmid>' not running!`; `push` and `pull` check that the container runs first (`can only push
 * files to a running CT`, `can only pull files from a running VM`), then open the files
 * (`failed to open <file> for reading`, create_file's `failed to create file: <path>: <errno>`,
 * `failed to open <path>: <errno>`, `invalid mode`, `failed to get uid for`). A pct that dies
 * exits 255 (PVE::CLIHandler's exit(-1)); pct run by a user other than root says `please run
 * as root` (PVE::RPCEnvironment's setup_default_cli_env).
 */

import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ed25519KeyPair } from '../../clients/ssh/key-pair.ts';
import ssh2, { type Connection, type ParsedKey, type ServerChannel, type SFTPWrapper } from 'ssh2';

// ssh2 is CommonJS: its classes come through the default export.
const { Server, utils } = ssh2;
import type { Simulator } from './simulator.ts';
import { snippetChanged } from './snippets.ts';

const { STATUS_CODE, OPEN_MODE } = utils.sftp;

export interface SshServerOptions {
  /** Listen port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** The node this server is (default: the first node). */
  readonly node?: string;
}

export interface RunningSshServer {
  readonly host: string;
  readonly port: number;
  readonly node: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** A known_hosts line for this server's address and port. */
  readonly knownHosts: string;
  /** A key pair authorized for `root`, for tests and the demo (OpenSSH format). */
  readonly clientKey: { readonly username: string; readonly privateKey: string; readonly publicKey: string };
  /** Authorizes a public key (OpenSSH `ssh-ed25519 AAAA…` form) for `username`. */
  authorize(username: string, publicKey: string): void;
  /** The node's files (what SFTP wrote and pct pull copied out), by path. */
  readonly files: Map<string, Buffer>;
  /**
   * The next `times` commands whose line contains `match` run, but their channel closes without
   * an exit status: an answer lost on the way (a dropped connection), the outcome unknown to the client.
   */
  dropAnswers(match: string, times?: number): void;
  /** SSH connections accepted so far (authenticated or not). */
  readonly connectionsAccepted: () => number;
  /** Every command line received, in order, for tests. */
  readonly commands: { readonly username: string; readonly line: string; readonly exitCode: number }[];
  close(): Promise<void>;
}

const fingerprintOf = (blob: Buffer): string => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

export async function startSshServer(sim: Simulator, options: SshServerOptions = {}): Promise<RunningSshServer> {
  const host = ed25519KeyPair();
  const client = ed25519KeyPair();
  const hostPublic = parsed(host.public);
  const node = options.node ?? sim.state.nodes[0]?.name ?? 'pve';
  const authorized = new Map<string, Buffer[]>([['root', [parsed(client.public).getPublicSSH()]]]);
  const files = new Map<string, Buffer>();
  const commands: RunningSshServer['commands'][number][] = [];
  const connections = new Set<Connection>();
  let accepted = 0;
  const drops: { match: string; times: number }[] = [];

  const server = new Server({ hostKeys: [host.private] }, (conn) => {
    connections.add(conn);
    accepted++;
    conn.on('close', () => connections.delete(conn));
    conn.on('error', () => undefined);
    let username = '';
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const keys = authorized.get(ctx.username) ?? [];
      if (!keys.some((k) => k.equals(ctx.key.data))) return ctx.reject(['publickey']);
      if (ctx.signature) {
        const key = parsed(`${ctx.key.algo} ${ctx.key.data.toString('base64')}`);
        if (key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      }
      username = ctx.username;
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const stream = accept();
          void runLine(sim, node, files, username, info.command).then(({ exitCode, stdout, stderr }) => {
            commands.push({ username, line: info.command, exitCode });
            const drop = drops.find((d) => d.times > 0 && info.command.includes(d.match));
            if (drop) {
              drop.times--;
              stream.close();
              return;
            }
            finish(stream, exitCode, stdout, stderr);
          });
        });
        session.on('sftp', (accept) => serveSftp(accept(), files, (path, size) => snippetChanged(sim, node, path, size)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const blob = hostPublic.getPublicSSH();
  return {
    host: '127.0.0.1',
    port,
    node,
    hostKeyFingerprint: fingerprintOf(blob),
    knownHosts: `[127.0.0.1]:${port} ${hostPublic.type} ${blob.toString('base64')}`,
    clientKey: { username: 'root', privateKey: client.private, publicKey: client.public },
    authorize(user, publicKey) {
      authorized.set(user, [...(authorized.get(user) ?? []), parsed(publicKey).getPublicSSH()]);
    },
    files,
    dropAnswers(match, times = 1) {
      drops.push({ match, times });
    },
    connectionsAccepted: () => accepted,
    commands,
    close: () => new Promise<void>((resolve) => {
      for (const c of connections) c.end();
      server.close(() => resolve());
    }),
  };
}

function parsed(key: string): ParsedKey {
  const k = utils.parseKey(key);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0]! : k;
}

function finish(stream: ServerChannel, exitCode: number, stdout: string, stderr: string): void {
  if (stdout) stream.write(stdout);
  if (stderr) stream.stderr.write(stderr);
  stream.exit(exitCode);
  stream.end();
}

interface Outcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const died = (message: string): Outcome => ({ exitCode: 255, stdout: '', stderr: `${message}\n` });

/** The node's shell: one pct command, as the words of a POSIX shell line. */
async function runLine(sim: Simulator, node: string, files: Map<string, Buffer>, username: string, line: string): Promise<Outcome> {
  const parsedWords = shellWords(line);
  if (!parsedWords) return { exitCode: 127, stdout: '', stderr: `phoenix-sim: the simulated node runs single pct exec, pct push and pct pull commands only, not: ${line}\n` };
  let words = parsedWords;
  let asRoot = username === 'root';
  if (words[0] === 'sudo') {
    words = words.slice(words[1] === '-n' ? 2 : 1);
    // The least-privilege rule of docs/provisioning.md: pct exec and pct push (and pull) only.
    if (words[0] !== 'pct' || !['exec', 'push', 'pull'].includes(words[1] ?? '')) {
      return { exitCode: 1, stdout: '', stderr: `sudo: a password is required\n` };
    }
    asRoot = true;
  }
  if (words[0] !== 'pct' && words[0] !== '/usr/sbin/pct') return { exitCode: 127, stdout: '', stderr: `bash: line 1: ${words[0] ?? ''}: command not found\n` };
  if (!asRoot) return died('please run as root');
  const [, verb, vmidText = '', ...rest] = words;
  const vmid = /^\d+$/.test(vmidText) ? Number(vmidText) : NaN;
  if (Number.isNaN(vmid)) return died(`400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID`);
  const g = sim.state.guests.find((x) => x.vmid === vmid && x.type === 'lxc' && x.node === node);
  const running = g !== undefined && g.status === 'running';
  if (verb === 'exec') {
    if (!g) return died(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
    if (!running) return died(`container '${vmid}' not running!`);
    const dash = rest.indexOf('--');
    const argv = dash >= 0 ? rest.slice(dash + 1) : rest;
    if (!argv.length) return died('missing command at /usr/share/perl5/PVE/CLI/pct.pm line 246.');
    const result = sim.agents.runToEnd(g, argv);
    await sim.clock.sleep(result.durationMs);
    return result;
  }
  if (verb === 'push' || verb === 'pull') {
    const [source = '', destination = '', ...flags] = rest;
    const opts = flagValues(flags);
    if (!running) return died(verb === 'push' ? 'can only push files to a running CT' : 'can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 664.');
    if (opts.perms !== undefined && !/^0?[0-7]+$/.test(opts.perms)) return died(`invalid mode: '0${opts.perms}'`);
    for (const id of [opts.user, opts.group]) if (id !== undefined && !/^\d+$/.test(id) && id !== 'root') return died(`failed to get ${id === opts.user ? 'uid' : 'gid'} for: ${id}`);
    if (verb === 'push') {
      const content = files.get(source);
      if (!content) return died(`failed to open ${source} for reading`);
      const refused = sim.agents.pushFile(g!, destination, content.toString('utf8'));
      return refused ? died(refused) : { exitCode: 0, stdout: '', stderr: '' };
    }
    const content = g!.agentFiles[source.startsWith('/') ? source : `/${source}`];
    if (content === undefined) return died(`failed to open ${source}: ${sim.agents.isDir(g!, source) ? 'Is a directory' : 'No such file or directory'}`);
    files.set(destination, Buffer.from(content, 'utf8'));
    return { exitCode: 0, stdout: '', stderr: '' };
  }
  return died(`unknown command 'pct ${verb ?? ''}'`);
}

function flagValues(flags: readonly string[]): { perms?: string; user?: string; group?: string } {
  const out: Record<string, string> = {};
  for (let i = 0; i < flags.length; i += 2) out[flags[i]!.replace(/^--?/, '')] = flags[i + 1] ?? '';
  return out;
}

/**
 * The words of a POSIX shell line: '…' literal, "…" with \ before " \ $ ` escaped, \ outside
 * quotes escaping the next character. Undefined when the line uses what a real shell would
 * expand or run (unquoted ; & | < > ( ) $ ` or a newline): this shell runs single commands.
 */
export function shellWords(line: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let text = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1] ?? '')) text += line[++i];
        else if (line[i] === '$' || line[i] === '`') return undefined;
        else text += line[i];
      }
      if (i >= line.length) return undefined;
      word = (word ?? '') + text;
    } else if (ch === '\\') {
      if (i + 1 >= line.length) return undefined;
      word = (word ?? '') + line[++i];
    } else if (ch === ' ' || ch === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (';&|<>()$`\n*?[#~'.includes(ch) && !(ch === '#' && word !== undefined) && !(ch === '~' && word !== undefined)) {
      return undefined;
    } else word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * SFTP into the node's files: open for writing, write, close, remove, and enough stat for
 * clients. `changed` hears of every file written (its size) or removed (undefined).
 */
function serveSftp(sftp: SFTPWrapper, files: Map<string, Buffer>, changed: (path: string, size: number | undefined) => void): void {
  const open = new Map<number, { path: string; chunks: Buffer[]; size: number }>();
  let next = 0;
  const handleOf = (buf: Buffer): number => (buf.length === 4 ? buf.readUInt32BE(0) : -1);
  sftp.on('OPEN', (reqid, filename, flags) => {
    if (!(flags & OPEN_MODE.WRITE)) {
      if (!files.has(filename)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    }
    const id = next++;
    const existing = flags & OPEN_MODE.TRUNC ? undefined : files.get(filename);
    open.set(id, { path: filename, chunks: existing ? [existing] : [], size: existing?.length ?? 0 });
    const handle = Buffer.alloc(4);
    handle.writeUInt32BE(id, 0);
    sftp.handle(reqid, handle);
  });
  sftp.on('WRITE', (reqid, handle, offset, data) => {
    const file = open.get(handleOf(handle));
    if (!file) return sftp.status(reqid, STATUS_CODE.FAILURE);
    const whole = Buffer.concat(file.chunks);
    const grown = Buffer.alloc(Math.max(whole.length, offset + data.length));
    whole.copy(grown);
    data.copy(grown, offset);
    file.chunks = [grown];
    sftp.status(reqid, STATUS_CODE.OK);
  });
  sftp.on('CLOSE', (reqid, handle) => {
    const id = handleOf(handle);
    const file = open.get(id);
    if (!file) return sftp.status(reqid, STATUS_CODE.FAILURE);
    open.delete(id);
    files.set(file.path, Buffer.concat(file.chunks));
    changed(file.path, files.get(file.path)!.length);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  sftp.on('REMOVE', (reqid, path) => {
    if (!files.delete(path)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    changed(path, undefined);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  sftp.on('FSETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
  sftp.on('SETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
  const stat = (reqid: number, size: number | undefined) =>
    size === undefined ? sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE) : sftp.attrs(reqid, { mode: 0o100600, uid: 0, gid: 0, size, atime: 0, mtime: 0 });
  sftp.on('FSTAT', (reqid, handle) => stat(reqid, open.get(handleOf(handle)) ? Buffer.concat(open.get(handleOf(handle))!.chunks).length : undefined));
  sftp.on('STAT', (reqid, path) => stat(reqid, files.get(path)?.length));
  sftp.on('LSTAT', (reqid, path) => stat(reqid, files.get(path)?.length));
}
