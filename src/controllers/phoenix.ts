import { Counter, type Registry } from '../runtime/prometheus.ts';
import type { ControllerDefinition } from '../runtime/manager.ts';
import type { KubeObject } from '../runtime/resource.ts';
import type { ExternalCallRecorder } from '../runtime/metrics.ts';
import { healthMetrics } from './guests/health-metrics.ts';
import { SpecValidator } from '../api/validation.ts';
import { ConnectionRegistry } from './hypervisor/connections.ts';
import { hypervisorController } from './hypervisor/reconciler.ts';
import { guestController } from './guests/reconciler.ts';
import { lxcAdapter, vmAdapter } from './guests/adapter.ts';
import { VmidAllocator } from './guests/vmid-allocator.ts';
import { CreateCapacity } from './guests/capacity.ts';
import { PortainerConnections } from './stacks/portainer-connections.ts';
import { stackController } from './stacks/reconciler.ts';
import { SshSessions } from '../clients/ssh/sessions.ts';

export interface PhoenixControllerOptions {
  /** Default drift-check period for guests. */
  readonly observePeriodMs?: number;
  readonly externalCalls?: ExternalCallRecorder;
  /** Which Proxmox hosts may be contacted (default: any). */
  readonly allowHost?: (host: string) => boolean;
  /** Where Phoenix's own metrics (drift corrections) are registered: the manager's registry. */
  readonly registry?: Registry;
  /** How long a Proxmox request may go unanswered before its outcome counts as unknown (default 30 s). */
  readonly proxmoxTimeoutMs?: number;
  /**
   * How long a guest waiting on a task sleeps if its wake-up were lost (default 30 s). Not a
   * flag: tests of the guard itself shorten it rather than wait 30 s.
   */
  readonly taskWakeGuardMs?: number;
}

/** Loopback only: for tests and the demo. */
export const loopbackOnly = (host: string): boolean => host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);

export interface PhoenixControllers {
  readonly definitions: ControllerDefinition<KubeObject>[];
  readonly connections: ConnectionRegistry;
  readonly portainer: PortainerConnections;
  close(): void;
}

/** How often an in-sync guest is looked at when neither `--observe-period` nor the object says. */
export const defaultObservePeriodMs = 5 * 60_000;

/**
 * The Phoenix controllers of one process, sharing one connection per hypervisor, one VMID
 * allocator and one set of create limits. Built per manager (tests run several in a process).
 */
export function createPhoenixControllers(options: PhoenixControllerOptions = {}): PhoenixControllers {
  // The guard less a second is how long a guest leaves a task it does not see followed to the
  // watch: at a second or less every guard would read the task again, in a loop.
  if (options.taskWakeGuardMs !== undefined && !(options.taskWakeGuardMs >= 2_000)) throw new RangeError(`taskWakeGuardMs must be at least 2 s, got ${options.taskWakeGuardMs}`);
  const observePeriodMs = options.observePeriodMs ?? defaultObservePeriodMs;
  // Half an observe period: each cycle of in-sync guests costs at most two cluster reads.
  const connections = new ConnectionRegistry(options.externalCalls, options.allowHost, options.proxmoxTimeoutMs);
  const ssh = new SshSessions();
  const deps = {
    connections,
    ssh,
    allocator: new VmidAllocator(),
    capacity: new CreateCapacity(),
    validator: new SpecValidator(),
    observePeriodMs,
    ...(options.taskWakeGuardMs !== undefined ? { taskWakeGuardMs: options.taskWakeGuardMs } : {}),
    healthMetrics: healthMetrics(options.registry),
    driftCorrections: new Counter({
      name: 'phoenix_drift_corrections_total',
      help: 'Config options Phoenix wrote back after they changed outside Phoenix, by kind and option',
      labelNames: ['kind', 'option'] as const,
      registers: options.registry ? [options.registry] : [],
    }),
  };
  const portainer = new PortainerConnections(options.externalCalls, options.allowHost);
  const definitions = [
    hypervisorController(connections, { observePeriodMs, driftCorrections: deps.driftCorrections, portainer, validator: deps.validator }),
    guestController(lxcAdapter, deps),
    guestController(vmAdapter, deps),
    stackController({ portainer, validator: deps.validator, observePeriodMs, driftCorrections: deps.driftCorrections }),
  ] as unknown as ControllerDefinition<KubeObject>[];
  return {
    definitions,
    connections,
    portainer,
    close: () => {
      connections.close();
      portainer.close();
      ssh.close();
    },
  };
}
