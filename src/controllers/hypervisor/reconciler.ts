import type { Counter } from '../../runtime/prometheus.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import { cycleStart, minObservePeriodMs } from '../observe-cycle.ts';
import type { ControllerDefinition, ControllerSetup } from '../../runtime/manager.ts';
import { defineController } from '../../runtime/manager.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { secrets } from '../../runtime/resource.ts';
import { secretText, type SecretObject } from '../secrets.ts';
import { phoenixHypervisors, type PhoenixHypervisor } from '../../api/objects.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import type { Connection, ConnectionRegistry } from './connections.ts';
import { HostConfigRun, type ConnectionFacts } from './host/host-config.ts';
import type { SpecValidator } from '../../api/validation.ts';
import type { PortainerConnections } from '../stacks/portainer-connections.ts';
import { byCodeUnits } from '../../runtime/order.ts';

/** How often a Ready hypervisor is checked again (node membership, version). */
export const hypervisorCheckPeriodMs = 5 * 60_000;

/** Every Secret a hypervisor reads, as `namespace/name`. */
const secretKeys = (refs: readonly ({ namespace: string; name: string } | undefined)[]) => refs.filter((r) => r !== undefined).map((r) => `${r.namespace}/${r.name}`);

/** The Secrets the connection check depends on: the API token and Portainer's key. */
function connectionSecrets(hv: PhoenixHypervisor): string[] {
  return secretKeys([hv.spec.proxmox.tokenSecretRef, hv.spec.portainer?.apiKeySecretRef]);
}

/** Every Secret the hypervisor reads: the connection's, and users' passwords. */
function referencedSecrets(hv: PhoenixHypervisor): string[] {
  return [...connectionSecrets(hv), ...secretKeys((hv.spec.users ?? []).map((u) => u.passwordSecretRef))];
}

/**
 * Connects to a PhoenixHypervisor's Proxmox endpoint and reports what it found. Guests read
 * the connection from the shared registry, so they never build their own clients or read the
 * token Secret themselves.
 */
export interface HypervisorControllerOptions {
  /** How often managed host configuration is observed for drift (the controller's --observe-period). */
  readonly observePeriodMs?: number;
  readonly driftCorrections?: Counter<'kind' | 'option'>;
  /** Where stacks find this hypervisor's Portainer (spec.portainer); its version goes into status. */
  readonly portainer?: PortainerConnections;
  /** Re-checks specs stored before the CRD had today's rules. */
  readonly validator?: SpecValidator;
}

export function hypervisorController(connections: ConnectionRegistry, options: HypervisorControllerOptions = {}): ControllerDefinition<PhoenixHypervisor> {
  return defineController<PhoenixHypervisor>({
    kind: 'PhoenixHypervisor',
    resource: phoenixHypervisors,
    setup(setup: ControllerSetup<PhoenixHypervisor>): Reconciler<PhoenixHypervisor> {
      // A rotated or newly created Secret (the token, Portainer's API key, a user's password)
      // takes effect at once, without waiting for the next observation or a restart.
      setup.watchMapped<SecretObject>(secrets, (secret) =>
        setup.primary
          .list()
          .filter((hv) => referencedSecrets(hv).includes(`${secret.metadata.namespace}/${secret.metadata.name}`))
          .map((hv) => ({ name: hv.metadata.name })),
      );
      const secretCache = setup.cache<SecretObject>(secrets);
      /** The last check of each hypervisor, reused by the quick requeues of one observation cycle. */
      const checks = new Map<string, { cycle: number; inputs: string; facts: ConnectionFacts }>();
      const observePeriodMs = Math.min(hypervisorCheckPeriodMs, Math.max(minObservePeriodMs, options.observePeriodMs ?? hypervisorCheckPeriodMs));

      /** Reads Proxmox's version and nodes (and Portainer's version): what status reports of the endpoint. */
      async function check(hv: PhoenixHypervisor, connection: Connection): Promise<ConnectionFacts> {
        const ref = hv.spec.proxmox.tokenSecretRef;
        let version: string;
        let nodes: { node: string; status?: string; maxcpu?: number; maxmem?: number }[];
        try {
          version = String((await connection.client.api.version.$get()).version);
          nodes = (await connection.client.api.nodes.$get()) as typeof nodes;
        } catch (err) {
          if (isProxmoxError(err, 'Unauthorized')) throw new TerminalError('Unauthorized', `Proxmox refused the API token in Secret ${ref.namespace}/${ref.name}: check that the token exists and has not expired`);
          if (isProxmoxError(err, 'Forbidden')) throw new TerminalError('InsufficientPrivileges', `the API token may not read the cluster: ${(err as Error).message}`);
          if (isProxmoxError(err, 'Unavailable')) throw new RetryableError('Unreachable', `cannot reach Proxmox at ${hv.spec.proxmox.url}: ${(err as Error).message}`, { cause: err });
          throw err;
        }
        const online = nodes.filter((n) => n.status === 'online').map((n) => n.node).sort();
        connections.update(hv.metadata.name, { version, nodes: online });
        const nodeStatus = nodes
          .map((n) => ({
            name: n.node,
            status: n.status ?? 'unknown',
            ...(n.maxcpu !== undefined ? { maxCpu: n.maxcpu } : {}),
            ...(n.maxmem !== undefined ? { memoryTotal: n.maxmem } : {}),
          }))
          .sort((a, b) => byCodeUnits(a.name, b.name));
        const offline = nodeStatus.filter((n) => n.status !== 'online').map((n) => n.name);
        // Portainer trouble is reported, not fatal: guests do not need Portainer.
        const portainer = options.portainer ? await options.portainer.describe(hv, secretCache, setup.redactor) : { note: '' };
        // Only slow-changing facts go into status (no CPU load or memory in use), so a
        // converged hypervisor costs no writes to the API server.
        const facts: ConnectionFacts = {
          message: `Proxmox VE ${version}, ${online.length} of ${nodes.length} nodes online${offline.length ? ` (offline: ${offline.join(', ')})` : ''}${portainer.note ? `; ${portainer.note}` : ''}`,
          fields: { proxmoxVersion: version, nodes: nodeStatus, portainerVersion: portainer.version },
          allNodes: nodeStatus.map((n) => n.name),
          onlineNodes: online,
        };
        return facts;
      }

      return {
        async reconcile({ object: hv, request, signal, stopping }) {
          if (!hv) {
            checks.delete(request.name);
            connections.remove(request.name);
            options.portainer?.remove(request.name);
            return;
          }
          connections.assertAllowed(hv.spec.proxmox.url);
          const ref = hv.spec.proxmox.tokenSecretRef;
          const token = secretText(secretCache, ref.namespace, ref.name, ref.key ?? 'token', 'the API token (user@realm!tokenid=uuid)').trim();
          if (!/^[^@\s]+@[^!\s]+![^=\s]+=\S+$/.test(token)) {
            throw new TerminalError('InvalidToken', `Secret ${ref.namespace}/${ref.name} key "${ref.key ?? 'token'}" is not an API token of the form user@realm!tokenid=uuid`);
          }
          const connection = connections.upsert(hv, token);
          // Host configuration requeues quickly while it works (after each step, while a task
          // runs); those requeues reuse this cycle's check instead of reading version and nodes
          // again. A new cycle, a spec change, or a changed token or Portainer key checks again
          // (a user's password does not change what the check reads).
          const cycle = cycleStart(Date.now(), observePeriodMs);
          const inputs = [hv.metadata.generation, ...connectionSecrets(hv).map((key) => secretCache.get(key)?.metadata.resourceVersion ?? '')].join('|');
          const last = checks.get(hv.metadata.name);
          let facts: ConnectionFacts;
          if (last && last.cycle === cycle && last.inputs === inputs && connection.version !== undefined) {
            facts = last.facts;
          } else {
            facts = await check(hv, connection);
            checks.set(hv.metadata.name, { cycle, inputs, facts });
          }
          try {
            return await new HostConfigRun(setup, hv, connection, facts, {
              checkPeriodMs: hypervisorCheckPeriodMs,
              observePeriodMs,
              ...(options.driftCorrections ? { driftCorrections: options.driftCorrections } : {}),
              ...(options.validator ? { validator: options.validator } : {}),
            }, { signal, stopping }).reconcile();
          } catch (err) {
            if (isProxmoxError(err, 'Forbidden')) throw new RetryableError('InsufficientPrivileges', `the API token lacks a privilege for host configuration: ${err.message}`, { cause: err });
            if (isProxmoxError(err, 'Unavailable')) throw new RetryableError('Unreachable', `cannot reach Proxmox at ${hv.spec.proxmox.url}: ${err.message}`, { cause: err });
            throw err;
          }
        },
      };
    },
  });
}
