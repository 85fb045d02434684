import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { noArguments, UsageError, type Command } from '../command.ts';
import { ControlPlane, type ControlPlaneState } from '../../devcluster/control-plane.ts';
import { localClusterDir, localKubeconfig } from '../../devcluster/paths.ts';
import { isAlive as alive, stopRememberedProcesses } from '../../devcluster/processes.ts';

const usage = `phoenix cluster up|down|status

  up      Build (first time only) and start etcd and kube-apiserver on loopback, in the
          background. Writes a kubeconfig to ${localKubeconfig}.
  down    Stop them (and whatever 'phoenix demo' started) and delete their data.
  status  Print the running cluster's address and versions.`;

function readState(): ControlPlaneState | undefined {
  const file = join(localClusterDir, 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneState;
}

async function down(state: ControlPlaneState): Promise<void> {
  for (const pid of [state.apiserverPid, state.etcdPid]) {
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'Local kube-apiserver and etcd',
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === undefined) throw new UsageError('missing action');
    noArguments(rest);
    const state = readState();
    switch (action) {
      case 'up': {
        if (state && alive(state.apiserverPid) && alive(state.etcdPid)) {
          process.stdout.write(`already running: ${state.server} (kubeconfig ${localKubeconfig})\n`);
          return 0;
        }
        if (state) await down(state);
        const plane = new ControlPlane({ dir: localClusterDir, detached: true, log: (l) => process.stderr.write(`[cluster] ${l}\n`) });
        const started = await plane.start();
        copyFileSync(started.kubeconfig, localKubeconfig);
        process.stdout.write(
          `kube-apiserver ${started.versions.kubernetes} and etcd ${started.versions.etcd} running at ${started.server}\n` +
            `export KUBECONFIG=${localKubeconfig}\n`,
        );
        return 0;
      }
      case 'down': {
        const stopped = await stopRememberedProcesses();
        if (stopped.length) process.stdout.write(`stopped ${stopped.join(', ')}\n`);
        if (state) await down(state);
        rmSync(localClusterDir, { recursive: true, force: true });
        rmSync(localKubeconfig, { force: true });
        process.stdout.write('local cluster stopped\n');
        return 0;
      }
      case 'status':
        if (!state || !alive(state.apiserverPid)) {
          process.stdout.write('not running\n');
          return 1;
        }
        process.stdout.write(`${state.server} kubernetes=${state.versions.kubernetes} etcd=${state.versions.etcd} kubeconfig=${localKubeconfig}\n`);
        return 0;
      default:
        throw new UsageError(action === undefined ? 'missing action' : `unknown action '${action}'`);
    }
  },
};
