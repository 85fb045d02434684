import * as k8s from '@kubernetes/client-node';
import type { RunningPortainerSimulator } from '../../src/sim/portainer/index.ts';
import { startPhoenix, waitReady, type PhoenixEnv } from './phoenix.ts';

export interface StackEnv {
  readonly env: PhoenixEnv;
  readonly portainer: RunningPortainerSimulator;
  readonly core: k8s.CoreV1Api;
}

/**
 * What the stack tests run on: Phoenix with both simulators (Portainer at speed 20, so its
 * 1-minute auto-update poll comes every 3 s), a golden Docker VM template (VMID 9600) to
 * clone, and the hypervisor Ready.
 */
export async function startStackEnv(name: string, observePeriodMs: number): Promise<StackEnv> {
  const env = await startPhoenix({
    name,
    observePeriodMs,
    portainer: { speed: 20 },
    seed: (sim) => sim.admin.addGuest({ type: 'qemu', vmid: 9600, config: { name: 'docker-golden', memory: 2048, scsi0: 'local-lvm:base-9600-disk-0,size=8G', template: 1 } }),
  });
  await waitReady(env, 'phoenixhypervisors', env.hypervisor);
  return { env, portainer: env.portainer!, core: env.cluster.kc.makeApiClient(k8s.CoreV1Api) };
}
