import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { CreatedItems, HostStep, SpecProblem } from './plan.ts';
import { planPools, type ObservedPool } from './pools.ts';
import { planStorages, storageProblems, type ObservedStorage } from './storages.ts';
import { planDns, planTimezone, type ObservedDns } from './nodes.ts';
import { planClusterFirewall, type ObservedClusterFirewall } from './firewall.ts';

/** What the I/O layer read for one plan; a part the spec does not manage is left undefined. */
export interface HostObservation {
  pools?: readonly ObservedPool[];
  storages?: readonly ObservedStorage[];
  nodes: Readonly<Record<string, { dns?: ObservedDns; timezone?: string }>>;
  firewall?: ObservedClusterFirewall;
}

/** Which parts of the host the spec (or Phoenix's own records) makes Phoenix read. */
export interface HostReads {
  pools: boolean;
  storages: boolean;
  dnsNodes: string[];
  timezoneNodes: string[];
  firewallOptions: boolean;
  firewallRules: boolean;
}

export function hostReads(spec: PhoenixHypervisorSpec, created: CreatedItems): HostReads {
  return {
    pools: spec.pools !== undefined || (created.pools?.length ?? 0) > 0,
    storages: spec.storages !== undefined || (created.storages?.length ?? 0) > 0,
    dnsNodes: (spec.nodes ?? []).filter((n) => n.dns).map((n) => n.name),
    timezoneNodes: (spec.nodes ?? []).filter((n) => n.timezone !== undefined).map((n) => n.name),
    firewallOptions: spec.firewall !== undefined,
    firewallRules: spec.firewall?.rules !== undefined,
  };
}

/** The spec asks for host configuration, or Phoenix still has items of its own to look after. */
export function managesHost(spec: PhoenixHypervisorSpec, created: CreatedItems): boolean {
  const r = hostReads(spec, created);
  return r.pools || r.storages || r.dnsNodes.length > 0 || r.timezoneNodes.length > 0 || r.firewallOptions;
}

/**
 * Spec problems found before any call, each naming its field: nodes the cluster does not
 * have, options a storage type does not take.
 */
export function hostProblems(spec: PhoenixHypervisorSpec, clusterNodes: readonly string[]): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const [i, node] of (spec.nodes ?? []).entries()) {
    if (!clusterNodes.includes(node.name)) problems.push({ field: `spec.nodes[${i}].name`, message: `node ${node.name} is not part of the cluster (nodes: ${clusterNodes.join(', ') || 'none'})` });
  }
  for (const [i, storage] of (spec.storages ?? []).entries()) {
    for (const [j, node] of (storage.nodes ?? []).entries()) {
      if (!clusterNodes.includes(node)) problems.push({ field: `spec.storages[${i}].nodes[${j}]`, message: `node ${node} is not part of the cluster` });
    }
  }
  problems.push(...storageProblems(spec.storages));
  return problems;
}

/**
 * Every step that would bring the host to the spec, in the order they are carried out:
 * pools and storages first (guests need them), then node settings, then the firewall.
 */
export function planHost(spec: PhoenixHypervisorSpec, observed: HostObservation, created: CreatedItems): HostStep[] {
  const steps: HostStep[] = [];
  if (observed.pools) steps.push(...planPools(spec.pools, observed.pools, created.pools ?? []));
  if (observed.storages) steps.push(...planStorages(spec.storages, observed.storages, created.storages ?? []));
  for (const node of spec.nodes ?? []) {
    const seen = observed.nodes[node.name];
    if (!seen) continue;
    if (seen.dns) steps.push(...planDns(node.name, node.dns, seen.dns));
    steps.push(...planTimezone(node.name, node.timezone, seen.timezone));
  }
  if (observed.firewall) steps.push(...planClusterFirewall(spec.firewall, observed.firewall));
  return steps;
}
