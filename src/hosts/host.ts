import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import { firewallRuleProblems } from '../api/firewall-checks.ts';
import { createdButNotWanted, type CreatedItems, type HostStep, type SpecProblem, type StagedNetwork } from './plan.ts';
import { planPools, type ObservedPool } from './pools.ts';
import { planStorages, storageProblems, type ObservedStorage } from './storages.ts';
import { planDns, planTimezone, type ObservedDns } from './nodes.ts';
import { planClusterFirewall, type ObservedClusterFirewall } from './firewall.ts';
import { downloadProblems, downloadTargets, planDownloads, type ObservedDownloads } from './downloads.ts';
import { planUsers, type AppliedPasswords, type ObservedUser, type PasswordSource } from './users.ts';
import { planAcls, type ObservedAcl } from './acls.ts';
import { planZfsPools, type ObservedZfs } from './zfs.ts';
import { planNetworks, type ObservedNetwork } from './networks.ts';

/** What the I/O layer read for one plan; a part the spec does not manage is left undefined. */
export interface HostObservation {
  pools?: readonly ObservedPool[];
  storages?: readonly ObservedStorage[];
  nodes: Readonly<Record<string, { dns?: ObservedDns; timezone?: string }>>;
  firewall?: ObservedClusterFirewall;
  users?: readonly ObservedUser[];
  acls?: readonly ObservedAcl[];
  downloads?: ObservedDownloads;
  /** Per node whose spec declares ZFS pools. */
  zfs?: Readonly<Record<string, ObservedZfs>>;
  /** Per node whose spec declares networks, or where Phoenix staged changes. */
  networks?: Readonly<Record<string, ObservedNetwork>>;
}

/** Secrets and records the user plan needs besides the observation. */
export interface HostSecrets {
  /** Passwords of the users that have a `passwordSecretRef`, read from their Secrets. */
  passwords: Readonly<Record<string, PasswordSource>>;
  /** The Secret resourceVersion last written per user (`status.userPasswords`). */
  applied: AppliedPasswords;
}

/** Which parts of the host the spec (or Phoenix's own records) makes Phoenix read. */
export interface HostReads {
  pools: boolean;
  /** Pools Phoenix created that the spec dropped: their members are counted before removing one. */
  inspectPools: string[];
  storages: boolean;
  /** Storages Phoenix created that the spec dropped: their guest volumes are counted before removing one. */
  inspectStorages: string[];
  dnsNodes: string[];
  timezoneNodes: string[];
  firewallOptions: boolean;
  firewallRules: boolean;
  users: boolean;
  acls: boolean;
  /** Storages whose content is listed, per node, to see which downloads are missing. */
  downloads: { node: string; storage: string }[];
  /** Nodes whose ZFS pools are listed (disks only when a pool is missing). */
  zfsNodes: { node: string; pools: string[] }[];
  /** Nodes whose network is listed, with the envelope's staged `changes`. */
  networkNodes: string[];
}

export function hostReads(spec: PhoenixHypervisorSpec, created: CreatedItems, staged: StagedNetwork = {}): HostReads {
  const withNetworks = (spec.nodes ?? []).filter((n) => n.networks !== undefined).map((n) => n.name);
  return {
    zfsNodes: (spec.nodes ?? []).filter((n) => n.zfsPools?.length).map((n) => ({ node: n.name, pools: (n.zfsPools ?? []).map((p) => p.name) })),
    // A node Phoenix staged on is read until that is reloaded, even if the spec dropped its networks.
    networkNodes: [...new Set([...withNetworks, ...Object.keys(staged)])],
    pools: spec.pools !== undefined || (created.pools?.length ?? 0) > 0,
    inspectPools: createdButNotWanted(spec.pools, created.pools ?? []),
    storages: spec.storages !== undefined || (created.storages?.length ?? 0) > 0,
    inspectStorages: createdButNotWanted(spec.storages, created.storages ?? []),
    dnsNodes: (spec.nodes ?? []).filter((n) => n.dns).map((n) => n.name),
    timezoneNodes: (spec.nodes ?? []).filter((n) => n.timezone !== undefined).map((n) => n.name),
    firewallOptions: spec.firewall !== undefined,
    firewallRules: spec.firewall?.rules !== undefined,
    users: spec.users !== undefined || (created.users?.length ?? 0) > 0,
    acls: spec.acls !== undefined || (created.acls?.length ?? 0) > 0,
    downloads: downloadTargets(spec.downloads),
  };
}

/** Whether an observation has anything to read: the reads of `hostReads`, seen as "is there host configuration". */
export function readsAnything(r: HostReads): boolean {
  return r.pools || r.storages || r.dnsNodes.length > 0 || r.timezoneNodes.length > 0 || r.firewallOptions || r.users || r.acls || r.downloads.length > 0 || r.zfsNodes.length > 0 || r.networkNodes.length > 0;
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
  problems.push(...downloadProblems(spec.downloads, clusterNodes));
  problems.push(...firewallRuleProblems(spec.firewall?.rules, 'spec.firewall.rules'));
  return problems;
}

/**
 * Every step that would bring the host to the spec, in the order they are carried out:
 * pools and storages first (guests need them), then node settings, the firewall, users
 * before the permissions that name them, and downloads last: they are the slow part, and
 * need the storages.
 */
export function planHost(spec: PhoenixHypervisorSpec, observed: HostObservation, created: CreatedItems, secrets: HostSecrets = { passwords: {}, applied: {} }, staged: StagedNetwork = {}): HostStep[] {
  const steps: HostStep[] = [];
  const nodes = spec.nodes ?? [];
  if (observed.pools) steps.push(...planPools(spec.pools, observed.pools, created.pools ?? []));
  // Before storages: a zfspool storage the spec lists may need the pool.
  for (const [i, node] of nodes.entries()) {
    const seen = observed.zfs?.[node.name];
    if (seen) steps.push(...planZfsPools(node.name, i, node.zfsPools, seen));
  }
  if (observed.storages) steps.push(...planStorages(spec.storages, observed.storages, created.storages ?? []));
  for (const node of spec.nodes ?? []) {
    const seen = observed.nodes[node.name];
    if (!seen) continue;
    if (seen.dns) steps.push(...planDns(node.name, node.dns, seen.dns));
    steps.push(...planTimezone(node.name, node.timezone, seen.timezone));
  }
  for (const [name, seen] of Object.entries(observed.networks ?? {})) {
    const i = nodes.findIndex((n) => n.name === name);
    steps.push(...planNetworks(name, i, nodes[i]?.networks, seen, staged[name] ?? []));
  }
  if (observed.firewall) steps.push(...planClusterFirewall(spec.firewall, observed.firewall));
  if (observed.users) steps.push(...planUsers(spec.users, observed.users, created.users ?? [], secrets.passwords, secrets.applied));
  if (observed.acls) steps.push(...planAcls(spec.acls, observed.acls, created.acls ?? []));
  if (observed.downloads) steps.push(...planDownloads(spec.downloads, observed.downloads));
  return steps;
}
