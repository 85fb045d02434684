import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { noArguments, type Command } from '../command.ts';
import { installPhoenixCrds, eventually } from '../../devcluster/crds.ts';
import { freePort } from '../../devcluster/ports.ts';
import { localKubeconfig, packageRoot, workDir } from '../../devcluster/paths.ts';
import { rememberProcess } from '../../devcluster/processes.ts';
import { ed25519KeyPair } from '../../clients/ssh/key-pair.ts';
import { apiGroup, apiVersion } from '../../api/group.ts';

const usage = `phoenix demo

Runs Phoenix end to end on this machine, against the local cluster (\`phoenix cluster up\`
first): starts the Proxmox VE and Portainer simulators and \`phoenix controller\` in the
background, seeds the simulators with the host the examples describe, applies the guest and
stack examples with kubectl and shows them converging, provisioning inside a container (over
SSH to the simulated node, with a key pair made for the demo) and a VM (through the guest
agent). \`phoenix cluster down\` stops everything.`;

const root = packageRoot;
const phoenix = join(root, 'bin/phoenix.js');
/**
 * The legacy golden chain as provisioned containers (base, the NVIDIA userspace driver, vLLM),
 * in place of examples/10-lxc-golden-chain.yaml, which builds the same containers with nothing inside.
 */
const guestExamples = ['provision/golden-chain-lxc.yaml', '11-lxc-step-ca.yaml', '20-vm-cloud-template.yaml', '21-vm-docker-host.yaml', 'provision-demo.yaml'];
/** The stack example: Qdrant through Portainer onto the drphoenix VM, which must be Ready first. */
const stackExamples = ['30-stack-qdrant.yaml'];
const G = { group: apiGroup, version: apiVersion };

function say(line: string): void {
  process.stdout.write(`[demo] ${line}\n`);
}

function background(name: string, args: string[]): number {
  mkdirSync(workDir, { recursive: true });
  const log = openSync(join(workDir, `${name}.log`), 'w');
  const child = spawn(process.execPath, [phoenix, ...args], { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  child.unref();
  rememberProcess(name, child.pid ?? 0);
  return child.pid ?? 0;
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
}

/** An admin API answer: its `data`. */
async function get<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: T }).data;
}

/** How many guests and stacks the example files declare: the rows the demo waits on. */
function declaredObjects(files: string[]): number {
  const kinds = new Set(['PhoenixLXC', 'PhoenixVM', 'PhoenixStack']);
  return files
    .flatMap((file) => parseAllDocuments(readFileSync(join(root, 'examples', file), 'utf8')))
    .filter((doc) => kinds.has(String(doc.get('kind')))).length;
}

function kubectl(args: string[]): string {
  return execFileSync('kubectl', ['--kubeconfig', localKubeconfig, ...args], { encoding: 'utf8' });
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run Phoenix locally against the Proxmox and Portainer simulators and watch guests and a stack converge',
  usage,
  async run(argv) {
    noArguments(argv);
    if (!existsSync(localKubeconfig)) {
      process.stderr.write('phoenix demo: no local cluster; run `phoenix cluster up` (or `npm run demo`) first\n');
      return 1;
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(localKubeconfig);
    say('installing the CRDs');
    await installPhoenixCrds(kc);

    const port = await freePort();
    const sshPort = await freePort();
    say(`starting the Proxmox VE simulator on 127.0.0.1:${port}, node phoenix's SSH on ${sshPort} (log: .phoenix/simulator.log)`);
    background('simulator', ['sim', 'proxmox', '--port', String(port), '--ssh-port', String(sshPort), '--ssh-node', 'phoenix', '--speed', '10', '--seed', '1']);
    const simUrl = `http://127.0.0.1:${port}`;
    let token = '';
    await eventually('the simulator to print its token', async () => {
      const match = /API token:\s+(\S+=\S+)/.exec(readFileSync(join(workDir, 'simulator.log'), 'utf8'));
      token = match?.[1] ?? '';
      return token !== '';
    });
    // The host the examples describe: node "phoenix", its storages, pools and cloud image.
    const admin = `${simUrl}/_sim`;
    await post(`${admin}/nodes`, { name: 'phoenix', cpus: 32, memoryGiB: 256 });
    await post(`${admin}/storages`, { id: 'quickOS-lxc-disks', type: 'zfspool', content: ['images', 'rootdir'], totalGiB: 2000 });
    await post(`${admin}/storages`, { id: 'quickOS-vm-disks', type: 'zfspool', content: ['images', 'rootdir'], totalGiB: 2000 });
    await post(`${admin}/storages`, { id: 'fastData-shared-iso', type: 'dir', content: ['iso', 'vztmpl', 'import', 'snippets', 'images', 'rootdir'], totalGiB: 4000, path: '/fastData/shared-iso' });
    await post(`${admin}/volumes`, { volid: 'fastData-shared-iso:import/noble-server-cloudimg-amd64.qcow2', node: 'phoenix', content: 'import', sizeBytes: 629145600, format: 'qcow2' });
    await post(`${admin}/volumes`, { volid: 'fastData-shared-iso:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', node: 'phoenix', content: 'vztmpl', sizeBytes: 126000000, format: 'tzst' });
    // Containers are provisioned over SSH to their node (docs/provisioning.md): a key pair made
    // now, its public half authorized for a dedicated user who runs pct through sudo, its private
    // half only ever in a Secret; the node's host key pinned by fingerprint, never trusted on sight.
    const sshKey = ed25519KeyPair('phoenix-demo');
    await post(`${admin}/ssh/authorized-keys`, { username: 'phoenix', publicKey: sshKey.public });
    const nodeSsh = await get<{ port: number; hostKeyFingerprint: string }>(`${admin}/ssh`);
    for (const poolid of ['ai', 'infrastructure']) await post(`${admin}/pools`, { poolid });

    // Portainer, with an environment for the VM the stack example deploys onto (its agent).
    const portainerPort = await freePort();
    const keyFile = join(workDir, 'portainer-api-key');
    rmSync(keyFile, { force: true });
    say(`starting the Portainer simulator on 127.0.0.1:${portainerPort} (log: .phoenix/portainer.log)`);
    background('portainer', ['sim', 'portainer', '--port', String(portainerPort), '--speed', '10', '--seed', '1', '--environment', 'drphoenix=tcp://10.0.0.102:9001', '--api-key-file', keyFile]);
    const portainerUrl = `http://127.0.0.1:${portainerPort}`;
    let apiKey = '';
    await eventually('the Portainer simulator to write its API key', async () => {
      apiKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
      return apiKey !== '';
    });

    say('declaring the simulator as PhoenixHypervisor "pve" (token in Secret phoenix-system/pve-token, Portainer key in phoenix-system/portainer-api-key)');
    say(`  and its SSH: user phoenix with sudo, key in Secret phoenix-system/pve-ssh, host key pinned as ${nodeSsh.hostKeyFingerprint}`);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: 'phoenix-system' } } }).catch(() => undefined);
    await core.deleteNamespacedSecret({ namespace: 'phoenix-system', name: 'pve-token' }).catch(() => undefined);
    await core.createNamespacedSecret({ namespace: 'phoenix-system', body: { metadata: { name: 'pve-token' }, stringData: { token } } });
    await core.deleteNamespacedSecret({ namespace: 'phoenix-system', name: 'portainer-api-key' }).catch(() => undefined);
    await core.createNamespacedSecret({ namespace: 'phoenix-system', body: { metadata: { name: 'portainer-api-key' }, stringData: { apiKey } } });
    await core.deleteNamespacedSecret({ namespace: 'phoenix-system', name: 'pve-ssh' }).catch(() => undefined);
    await core.createNamespacedSecret({ namespace: 'phoenix-system', body: { metadata: { name: 'pve-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': sshKey.private, username: 'phoenix' } } });
    await custom.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: 'pve' }).catch(() => undefined);
    await custom.createClusterCustomObject({
      ...G,
      plural: 'phoenixhypervisors',
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: 'pve' }, spec: {
          proxmox: { url: simUrl, tokenSecretRef: { name: 'pve-token', namespace: 'phoenix-system' } },
          portainer: { url: portainerUrl, apiKeySecretRef: { name: 'portainer-api-key', namespace: 'phoenix-system' } },
          // Node phoenix is reached at proxmox.url's host (127.0.0.1), on the simulator's SSH port.
          ssh: { credentialsSecretRef: { name: 'pve-ssh', namespace: 'phoenix-system' }, hostKeyFingerprints: [nodeSsh.hostKeyFingerprint], port: nodeSsh.port, sudo: true },
        } },
    });

    // The chain's scripts, as its header says: kubectl create configmap --from-file=examples/provision/scripts/.
    const scriptsDir = join(root, 'examples', 'provision', 'scripts');
    const scripts = Object.fromEntries(readdirSync(scriptsDir).map((file) => [file, readFileSync(join(scriptsDir, file), 'utf8')]));
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'golden-chain-scripts' }).catch(() => undefined);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'golden-chain-scripts' }, data: scripts } });

    say('starting phoenix controller (log: .phoenix/controller.log; loopback endpoints only)');
    background('controller', ['controller', '--kubeconfig', localKubeconfig, '--allowed-proxmox-hosts=loopback', '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', '--concurrency=4', '--log-format=json']);

    const examples = [...guestExamples, ...stackExamples];
    say(`kubectl apply -f examples/{${examples.join(',')}}`);
    for (const file of examples) process.stdout.write(kubectl(['apply', '-f', join(root, 'examples', file)]));

    const declared = declaredObjects(examples);
    const started = Date.now();
    let reported = -1;
    await eventually('every guest and stack Ready', async () => {
      const table = kubectl(['get', 'phoenixlxcs,phoenixvms,phoenixstacks', '--no-headers']);
      const rows = table.trim().split('\n').filter(Boolean);
      const ready = rows.filter((l) => /\sTrue\s/.test(l)).length;
      if (ready !== reported) say(`${ready}/${rows.length} guests and stacks Ready after ${Math.round((Date.now() - started) / 1000)} s`);
      reported = ready;
      return rows.length === declared && ready === rows.length;
    }, 5 * 60_000).catch((err: Error) => say(`not everything converged: ${err.message} (see .phoenix/controller.log)`));
    process.stdout.write(`\n${kubectl(['get', 'phoenix', '-A'])}\n`);
    // What the table cannot show: that the steps ran and the services in the guests answer.
    interface Inside { kind: string; metadata: { name: string }; spec: { provision?: unknown[] }; status?: { conditions?: { type: string; status: string; message?: string }[] } }
    const guests = (JSON.parse(kubectl(['get', 'phoenixlxcs,phoenixvms', '-A', '-o', 'json'])) as { items: Inside[] }).items.filter((o) => o.spec.provision?.length);
    const said = (o: Inside, type: string): string[] => o.status?.conditions?.filter((c) => c.type === type).map((c) => `${type} ${c.status} (${c.message ?? ''})`) ?? [];
    process.stdout.write(`Inside the guests:\n${guests.map((o) => `  ${o.kind} ${o.metadata.name}: ${[...said(o, 'Provisioned'), ...said(o, 'Healthy')].join(', ')}\n`).join('')}\n`);
    writeFileSync(join(workDir, 'demo.txt'), `simulator ${simUrl}\nadmin ${admin}\nportainer ${portainerUrl}\n`);
    process.stdout.write(
      [
        'Phoenix keeps running. Try:',
        `  export KUBECONFIG=${localKubeconfig}`,
        '  kubectl describe phoenixlxc granite-embedding       # conditions and events',
        '  kubectl patch phoenixlxc step-ca --type merge -p \'{"spec":{"cores":4}}\'   # watch it converge',
        `  curl -s ${admin}/state | head -c 600             # what the simulated Proxmox holds`,
        '  kubectl get phoenixstack qdrant -o jsonpath=\'{.status.services}\'   # the stack\'s containers, through Portainer',
        '  kubectl get phoenixlxc demo-web -o jsonpath=\'{.status.provision}\'   # its steps, run over SSH with pct',
        '  kubectl describe phoenixvm demo-docker              # steps and health check through the guest agent',
        'Stop everything with: npm run cluster:down',
        '',
      ].join('\n'),
    );
    return 0;
  },
};
