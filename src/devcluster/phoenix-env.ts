import * as k8s from '@kubernetes/client-node';
import { Manager } from '../runtime/manager.ts';
import { parseRuntimeConfig } from '../runtime/config.ts';
import { silentLogger, type Logger } from '../runtime/logging.ts';
import { createPhoenixControllers, loopbackOnly, type PhoenixControllers } from '../controllers/phoenix.ts';
import type { RunningSimulator } from '../sim/proxmox/index.ts';
import type { RunningPortainerSimulator } from '../sim/portainer/index.ts';
import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import { apiGroup, apiVersion } from '../api/group.ts';

export interface LocalPhoenixOptions {
  readonly kc: k8s.KubeConfig;
  readonly sim: RunningSimulator;
  /** Namespace watched, and where the token Secret lives. Created if missing. */
  readonly namespace: string;
  /** Name of the PhoenixHypervisor pointing at the simulator. */
  readonly hypervisor: string;
  readonly observePeriodMs?: number;
  /** Extra runtime flags, such as `--queue-qps=1000`. */
  readonly runtimeArgs?: readonly string[];
  readonly hypervisorSpec?: Partial<PhoenixHypervisorSpec>;
  readonly logger?: Logger;
  /** A running Portainer simulator the hypervisor's spec.portainer points at (key in Secret `portainer-key`). */
  readonly portainer?: RunningPortainerSimulator;
  /** The Proxmox client's timeout (default 30 s); tests of lost answers use a short one. */
  readonly proxmoxTimeoutMs?: number;
  /** See PhoenixControllerOptions.taskWakeGuardMs. */
  readonly taskWakeGuardMs?: number;
}

export interface LocalPhoenix {
  readonly manager: Manager;
  readonly phoenix: PhoenixControllers;
  readonly custom: k8s.CustomObjectsApi;
  stop(): Promise<void>;
  /**
   * Stops this manager and starts a new one with fresh controllers (nothing kept in memory), as
   * a restarted controller process; the hypervisor and its Secret stay. `manager` and `phoenix`
   * are the new ones afterwards. `whileStopped` runs in between, when no controller runs (a task
   * that ends while the controller is down).
   */
  restart(whileStopped?: () => void | Promise<void>): Promise<void>;
}

/**
 * A Phoenix manager in this process (loopback endpoints only) with a PhoenixHypervisor
 * pointing at a running simulator: what the end-to-end tests and the benchmarks share.
 */
export async function startLocalPhoenix(options: LocalPhoenixOptions): Promise<LocalPhoenix> {
  const { kc, sim, namespace, hypervisor } = options;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  const startManager = async (): Promise<{ manager: Manager; phoenix: PhoenixControllers }> => {
    const config = parseRuntimeConfig(['--metrics-bind-address=0', '--health-probe-bind-address=0', `--namespaces=${namespace}`, '--concurrency=8', ...(options.runtimeArgs ?? [])], {});
    const manager = new Manager({ config, kubeConfig: kc, logger: options.logger ?? silentLogger() });
    const phoenix = createPhoenixControllers({
      observePeriodMs: options.observePeriodMs ?? 60_000,
      externalCalls: manager.metrics,
      registry: manager.metrics.registry,
      allowHost: loopbackOnly,
      ...(options.proxmoxTimeoutMs ? { proxmoxTimeoutMs: options.proxmoxTimeoutMs } : {}),
      ...(options.taskWakeGuardMs ? { taskWakeGuardMs: options.taskWakeGuardMs } : {}),
    });
    for (const definition of phoenix.definitions) await manager.addController(definition);
    await manager.start();
    return { manager, phoenix };
  };
  let running = await startManager();
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pve-token' }, stringData: { token: `${sim.token.fullId}=${sim.token.secret}` } } });
  if (options.portainer) await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'portainer-key' }, stringData: { apiKey: options.portainer.apiKey } } });
  const portainer = options.portainer ? { portainer: { url: options.portainer.url, apiKeySecretRef: { name: 'portainer-key', namespace } } } : {};
  await custom.createClusterCustomObject({
    group: apiGroup,
    version: apiVersion,
    plural: 'phoenixhypervisors',
    body: {
      apiVersion: `${apiGroup}/${apiVersion}`,
      kind: 'PhoenixHypervisor',
      metadata: { name: hypervisor },
      spec: { ...portainer, ...options.hypervisorSpec, proxmox: { url: sim.url, tokenSecretRef: { name: 'pve-token', namespace } } },
    },
  });
  return {
    get manager() {
      return running.manager;
    },
    get phoenix() {
      return running.phoenix;
    },
    custom,
    async stop() {
      await running.manager.stop();
      running.phoenix.close();
      await custom.deleteClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors', name: hypervisor }).catch(() => undefined);
    },
    async restart(whileStopped) {
      await running.manager.stop();
      running.phoenix.close();
      await whileStopped?.();
      running = await startManager();
    },
  };
}
