import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { testCluster, type TestCluster } from './cluster.ts';
import { installPhoenixCrds, eventually } from './crds.ts';
import { startProxmoxSimulator, type RunningSimulator, type StartOptions } from '../../src/sim/proxmox/index.ts';
import { startPortainerSimulator, type RunningPortainerSimulator, type StartOptions as PortainerStartOptions } from '../../src/sim/portainer/index.ts';
import type { Manager } from '../../src/runtime/manager.ts';
import { createLogger } from '../../src/runtime/logging.ts';
import type { PhoenixControllers } from '../../src/controllers/phoenix.ts';
import { startLocalPhoenix } from '../../src/devcluster/phoenix-env.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';
import { shellWords } from '../../src/sim/proxmox/ssh.ts';

export interface PhoenixEnv {
  readonly cluster: TestCluster;
  readonly sim: RunningSimulator;
  readonly manager: Manager;
  readonly phoenix: PhoenixControllers;
  readonly custom: k8s.CustomObjectsApi;
  readonly namespace: string;
  readonly hypervisor: string;
  /** The Portainer simulator, when started with the `portainer` option. */
  readonly portainer?: RunningPortainerSimulator;
  stop(): Promise<void>;
  /** Stops Phoenix and starts it again with nothing in memory (see LocalPhoenix.restart). */
  restart(whileStopped?: () => void | Promise<void>): Promise<void>;
}

export const G = { group: apiGroup, version: apiVersion };

/**
 * A real kube-apiserver, the Proxmox simulator and a Phoenix manager in this process, with a
 * PhoenixHypervisor pointing at the simulator and Ready. Controllers may reach loopback only.
 */
export async function startPhoenix(options: {
  name: string;
  sim?: StartOptions;
  observePeriodMs?: number;
  debug?: boolean;
  hypervisor?: string;
  seed?: (sim: RunningSimulator) => void;
  /** Also start the Portainer simulator and set the hypervisor's spec.portainer to it. */
  portainer?: boolean | PortainerStartOptions;
  /** The Proxmox client's timeout; tests of lost answers use a short one. */
  proxmoxTimeoutMs?: number;
  /** How long a guest waiting on a task sleeps if its wake-up were lost (default 30 s). */
  taskWakeGuardMs?: number;
  /** Extra runtime flags, such as `--shutdown-timeout=200ms`. */
  runtimeArgs?: readonly string[];
}): Promise<PhoenixEnv> {
  const cluster = await testCluster();
  await installPhoenixCrds(cluster.kc);
  const namespace = options.name;
  const sim = await startProxmoxSimulator({ seed: 42, speed: 200, ...options.sim });
  options.seed?.(sim);
  const hypervisor = options.hypervisor ?? `sim-${namespace}`;
  const portainer = options.portainer ? await startPortainerSimulator({ seed: 42, ...(options.portainer === true ? {} : options.portainer) }) : undefined;
  const local = await startLocalPhoenix({
    kc: cluster.kc,
    sim,
    namespace,
    hypervisor,
    observePeriodMs: options.observePeriodMs ?? 60_000,
    ...(portainer ? { portainer } : {}),
    ...(options.proxmoxTimeoutMs ? { proxmoxTimeoutMs: options.proxmoxTimeoutMs } : {}),
    ...(options.taskWakeGuardMs ? { taskWakeGuardMs: options.taskWakeGuardMs } : {}),
    ...(options.runtimeArgs ? { runtimeArgs: options.runtimeArgs } : {}),
    ...(options.debug ? { logger: createLogger({ level: 'debug', format: 'text' }) } : {}),
  });
  const { custom } = local;
  await waitReady({ custom, namespace } as PhoenixEnv, 'phoenixhypervisors', hypervisor);

  return {
    cluster, sim, custom, namespace, hypervisor,
    get manager() {
      return local.manager;
    },
    get phoenix() {
      return local.phoenix;
    },
    restart: (whileStopped) => local.restart(whileStopped),
    ...(portainer ? { portainer } : {}),
    async stop() {
      await local.stop();
      await sim.close();
      await portainer?.close();
    },
  };
}

export async function getObject(env: Pick<PhoenixEnv, 'custom' | 'namespace'>, plural: string, name: string): Promise<any> {
  return plural === 'phoenixhypervisors'
    ? env.custom.getClusterCustomObject({ ...G, plural, name })
    : env.custom.getNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name });
}

/** A condition of an object's status, by type. */
export const condition = (object: any, type: string): { status: string; reason: string; message: string } | undefined =>
  object?.status?.conditions?.find((c: { type: string }) => c.type === type);

/** Stalled=True with this reason. */
export const stalledWith = (reason: string) => (object: any): boolean => condition(object, 'Stalled')?.status === 'True' && condition(object, 'Stalled')?.reason === reason;

/** Ready=True for the object's current generation, as `kubectl wait --for=condition=Ready` and kstatus see it. */
export const readyAtGeneration = (object: any): boolean => object?.status?.observedGeneration === object?.metadata?.generation && condition(object, 'Ready')?.status === 'True';

/** Waits for Ready=True at the current generation, the way `kubectl wait --for=condition=Ready` does. */
export function waitReady(env: Pick<PhoenixEnv, 'custom' | 'namespace'>, plural: string, name: string, timeoutMs = 60_000): Promise<any> {
  return waitCondition(env, plural, name, readyAtGeneration, 'Ready', timeoutMs);
}

/** Waits until the object as the API server has it satisfies `predicate`; a timeout names its last status. */
export async function waitCondition(env: Pick<PhoenixEnv, 'custom' | 'namespace'>, plural: string, name: string, predicate: (object: any) => boolean, what: string, timeoutMs = 60_000): Promise<any> {
  let last: any;
  try {
    await eventually(`${plural}/${name}: ${what}`, async () => {
      last = await getObject(env, plural, name);
      return predicate(last);
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  }
  return last;
}

export function apply(env: PhoenixEnv, kind: 'PhoenixLXC' | 'PhoenixVM', name: string, spec: Record<string, unknown>): Promise<any> {
  const plural = kind === 'PhoenixLXC' ? 'phoenixlxcs' : 'phoenixvms';
  return env.custom.createNamespacedCustomObject({
    ...G,
    plural,
    namespace: env.namespace,
    body: { apiVersion: `${apiGroup}/${apiVersion}`, kind, metadata: { name }, spec: { hypervisorRef: { name: env.hypervisor }, node: 'pve', ...spec } },
  });
}

/** Every condition state of a kind's objects as the API server sent them, in order (a watch, not polls). */
export interface ConditionLog {
  readonly seen: { name: string; type: string; status: string; reason: string; message: string; generation: number | undefined; observedGeneration: number | undefined }[];
  /** Ready going from True to False for an object, after it was first Ready (at that moment's generation). */
  flaps(name?: string): { name: string; reason: string; message: string }[];
  stop(): void;
}

export async function watchConditions(env: Pick<PhoenixEnv, 'cluster' | 'namespace'>, plural: string): Promise<ConditionLog> {
  const seen: ConditionLog['seen'] = [];
  const { Watch } = await import('@kubernetes/client-node');
  let stopped = false;
  let request: { abort(): void } | undefined;
  // The API server ends watches after a while; the log watches again (from the current state) until stopped.
  const start = async (): Promise<void> => {
    if (stopped) return;
    request = await new Watch(env.cluster.kc).watch(`/apis/${G.group}/${G.version}/namespaces/${env.namespace}/${plural}`, {}, (_type, item: any) => {
      for (const c of item.status?.conditions ?? []) {
        seen.push({ name: item.metadata.name, type: c.type, status: c.status, reason: c.reason, message: c.message, generation: item.metadata.generation, observedGeneration: c.observedGeneration });
      }
    }, () => void start().catch(() => undefined));
  };
  await start();
  return {
    seen,
    flaps(name) {
      const out: { name: string; reason: string; message: string }[] = [];
      // The generation each object was last Ready at (undefined while not Ready).
      const readyAt = new Map<string, number | undefined>();
      for (const c of seen) {
        if (c.type !== 'Ready' || (name !== undefined && c.name !== name)) continue;
        if (c.status === 'True') {
          readyAt.set(c.name, c.generation);
          continue;
        }
        // A spec change makes Ready False honestly (there is new work): only the same generation counts.
        if (readyAt.get(c.name) !== undefined && readyAt.get(c.name) === c.generation) out.push({ name: c.name, reason: c.reason, message: c.message });
        readyAt.set(c.name, undefined);
      }
      return out;
    },
    stop: () => {
      stopped = true;
      request?.abort();
    },
  };
}

/** What a person does as root@pam: log in with the password (a ticket, not a token), then call the API with it. */
/** Seeds an extra Linux bridge on `node`, active, as a host with a second bridge has it. */
export function addBridge(sim: RunningSimulator, name: string, node = 'pve'): void {
  sim.simulator.state.nodes.find((n) => n.name === node)!.network[name] = { iface: name, type: 'bridge', method: 'manual', autostart: 1, active: 1, families: 'inet', bridge_ports: 'none', bridge_stp: 'off', bridge_fd: 0 };
}

export async function asRoot(env: Pick<PhoenixEnv, 'sim'>, method: string, path: string, params: Record<string, string>): Promise<void> {
  const login = await fetch(`${env.sim.url}/api2/json/access/ticket`, { method: 'POST', body: new URLSearchParams({ username: 'root@pam', password: 'phoenix' }) });
  const { data } = (await login.json()) as { data: { ticket: string; CSRFPreventionToken: string } };
  const response = await fetch(`${env.sim.url}/api2/json${path}`, {
    method,
    headers: { cookie: `PVEAuthCookie=${encodeURIComponent(data.ticket)}`, csrfpreventiontoken: data.CSRFPreventionToken },
    body: new URLSearchParams(params),
  });
  assert.equal(response.status, 200, `${method} ${path} as root: ${response.status} ${response.statusText} ${await response.text()}`);
}

/**
 * A `pct set <vmid> -key value … [-delete a,b]` or `qm set …` command line, as the API call the
 * pct and qm tools make of it: PUT /nodes/<node>/{lxc,qemu}/<vmid>/config.
 */
export function parseSetCommand(command: string): { type: 'lxc' | 'qemu'; vmid: number; params: Record<string, string> } {
  const words = shellWords(command);
  assert.ok(words, `not a single command a shell would run as given: ${command}`);
  const [tool, verb, vmid, ...rest] = words;
  assert.ok((tool === 'pct' || tool === 'qm') && verb === 'set' && /^\d+$/.test(vmid ?? ''), `not a pct/qm set command: ${command}`);
  assert.equal(rest.length % 2, 0, `an option without a value: ${command}`);
  const params: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!.replace(/^--?/, '');
    assert.ok(rest[i]!.startsWith('-') && !(key in params), `not an option, or given twice: ${rest[i]} in ${command}`);
    params[key] = rest[i + 1]!;
  }
  return { type: tool === 'pct' ? 'lxc' : 'qemu', vmid: Number(vmid), params };
}

/** Runs a `pct set`/`qm set` command line as root@pam on `node`, through the API as pct and qm do. */
export async function runAsRoot(env: Pick<PhoenixEnv, 'sim'>, node: string, command: string): Promise<void> {
  const { type, vmid, params } = parseSetCommand(command);
  await asRoot(env, 'PUT', `/nodes/${node}/${type}/${vmid}/config`, params);
}
