import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { openSync, closeSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { resolveBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { freePort } from './ports.ts';

export interface ControlPlaneOptions {
  /** Directory for data, certificates, logs and the kubeconfig. Created if missing. */
  readonly dir: string;
  /** Start the processes in their own session so they outlive this process (`phoenix cluster up`). */
  readonly detached?: boolean;
  readonly binaries?: ControlPlaneBinaries;
  readonly log?: (line: string) => void;
}

export interface ControlPlaneState {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly server: string;
  readonly etcdUrl: string;
  readonly etcdPid: number;
  readonly apiserverPid: number;
  readonly apiserverArgs: string[];
  readonly kubeApiserver: string;
  readonly versions: { readonly kubernetes: string; readonly etcd: string };
}

const startTimeoutMs = 60_000;

/**
 * A real etcd and kube-apiserver on loopback, started the way controller-runtime's envtest
 * starts them: token authentication for a system:masters user, RBAC authorisation, and the
 * ServiceAccount admission plugin off (no controller-manager runs to create default accounts).
 */
export class ControlPlane {
  private etcd?: ChildProcess;
  private apiserver?: ChildProcess;
  private current?: ControlPlaneState;

  private readonly options: ControlPlaneOptions;

  constructor(options: ControlPlaneOptions) {
    this.options = options;
  }

  get state(): ControlPlaneState {
    if (!this.current) throw new Error('control plane not started');
    return this.current;
  }

  async start(): Promise<ControlPlaneState> {
    const log = this.options.log ?? (() => {});
    const { dir } = this.options;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'pki'), { recursive: true });
    const binaries = this.options.binaries ?? (await resolveBinaries());

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    this.etcd = this.spawnLogged(binaries.etcd, [
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl,
      '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes', String(2 * 1024 ** 3),
    ], join(dir, 'etcd.log'));
    await waitFor(`etcd at ${etcdUrl}`, () => httpGet(`${etcdUrl}/health`).then((body) => body.includes('true')));
    const etcdVersion = JSON.parse(await httpGet(`${etcdUrl}/version`)) as { etcdserver: string };
    log(`etcd ${etcdVersion.etcdserver} ready at ${etcdUrl}`);

    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},phoenix-admin,phoenix-admin,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserverArgs = [
      '--etcd-servers', etcdUrl,
      '--bind-address', '127.0.0.1',
      '--advertise-address', '127.0.0.1',
      '--secure-port', String(apiPort),
      '--cert-dir', join(dir, 'pki'),
      '--token-auth-file', join(dir, 'tokens.csv'),
      '--authorization-mode', 'RBAC',
      '--service-cluster-ip-range', '10.0.0.0/24',
      '--service-account-issuer', `${server}/`,
      '--service-account-key-file', join(dir, 'sa.pub'),
      '--service-account-signing-key-file', join(dir, 'sa.key'),
      '--disable-admission-plugins', 'ServiceAccount',
      '--allow-privileged=true',
      '--endpoint-reconciler-type', 'none',
    ];
    this.apiserver = this.spawnLogged(binaries.kubeApiserver, apiserverArgs, join(dir, 'kube-apiserver.log'));
    await waitFor(`kube-apiserver at ${server}`, () =>
      httpsGet(`${server}/readyz`, token).then((body) => body.trim() === 'ok'), this.apiserver);
    const version = JSON.parse(await httpsGet(`${server}/version`, token)) as { gitVersion: string };
    log(`kube-apiserver ${version.gitVersion} ready at ${server}`);

    const kubeconfig = join(dir, 'kubeconfig');
    const ca = readFileSync(join(dir, 'pki', 'apiserver.crt')).toString('base64');
    writeFileSync(kubeconfig, kubeconfigYaml(server, ca, token), { mode: 0o600 });

    this.current = {
      dir, kubeconfig, server, etcdUrl,
      etcdPid: this.etcd.pid ?? 0,
      apiserverPid: this.apiserver.pid ?? 0,
      apiserverArgs,
      kubeApiserver: binaries.kubeApiserver,
      versions: { kubernetes: version.gitVersion, etcd: etcdVersion.etcdserver },
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(this.current, null, 2));
    return this.current;
  }

  /** Stops kube-apiserver alone and starts it again on the same port and etcd (watch-recovery tests). */
  async restartApiserver(): Promise<void> {
    const state = this.state;
    await stopProcess(this.apiserver);
    this.apiserver = this.spawnLogged(state.kubeApiserver, state.apiserverArgs, join(state.dir, 'kube-apiserver.log'));
    const token = readFileSync(join(state.dir, 'tokens.csv'), 'utf8').split(',')[0] ?? '';
    await waitFor('kube-apiserver restart', () =>
      httpsGet(`${state.server}/readyz`, token).then((body) => body.trim() === 'ok'), this.apiserver);
    this.current = { ...state, apiserverPid: this.apiserver.pid ?? 0 };
  }

  async stop(): Promise<void> {
    await stopProcess(this.apiserver);
    await stopProcess(this.etcd);
  }

  private spawnLogged(binary: string, args: string[], logFile: string): ChildProcess {
    const fd = openSync(logFile, 'a');
    const child = spawn(binary, args, { stdio: ['ignore', fd, fd], detached: this.options.detached ?? false });
    closeSync(fd);
    if (this.options.detached) child.unref();
    return child;
  }
}

function kubeconfigYaml(server: string, caData: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: phoenix-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: phoenix-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: phoenix-local',
    '  context:',
    '    cluster: phoenix-local',
    '    user: phoenix-admin',
    'current-context: phoenix-local',
    '',
  ].join('\n');
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Polls a readiness probe; fails early with a clear message if the process dies. */
async function waitFor(what: string, probe: () => Promise<boolean>, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited (code ${child.exitCode ?? child.signalCode}) before it became ready; see its log`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${startTimeoutMs / 1000} s waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => collect(res, resolve, reject));
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(url: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The server's certificate is self-signed at start-up; we only ask it whether it is ready.
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false }, (res) =>
      collect(res, resolve, reject));
    req.on('error', reject);
    req.end();
  });
}

function collect(res: import('node:http').IncomingMessage, resolve: (body: string) => void, reject: (err: Error) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200)}`))));
}
