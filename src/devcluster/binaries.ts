import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);

export interface ControlPlaneBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
}

const buildScript = fileURLToPath(new URL('../../scripts/build-control-plane.sh', import.meta.url));

/**
 * Finds etcd and kube-apiserver the way envtest does (TEST_ASSET_* or KUBEBUILDER_ASSETS),
 * else builds them from the Go module proxy into the cache (the first time takes minutes;
 * the script prints progress on stderr, which we pass through).
 */
export async function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Promise<ControlPlaneBinaries> {
  const assets = env['KUBEBUILDER_ASSETS'];
  const etcd = env['TEST_ASSET_ETCD'] ?? (assets ? join(assets, 'etcd') : undefined);
  const kubeApiserver = env['TEST_ASSET_KUBE_APISERVER'] ?? (assets ? join(assets, 'kube-apiserver') : undefined);
  if (etcd && kubeApiserver) {
    for (const path of [etcd, kubeApiserver]) {
      if (!existsSync(path)) throw new Error(`control-plane binary not found: ${path}`);
    }
    return { etcd, kubeApiserver };
  }
  const child = run('bash', [buildScript], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const bin = stdout.trim().split('\n').pop() ?? '';
  return { etcd: join(bin, 'etcd'), kubeApiserver: join(bin, 'kube-apiserver') };
}
