import { apiGroup } from '../api/group.ts';
import { kinds } from '../api/kinds.ts';

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const plurals = (scope: 'Cluster' | 'Namespaced') => kinds.filter((k) => k.scope === scope).map((k) => k.plural);

/** What a controller does with the kinds it reconciles: read and watch them, write status and finalizers. */
function reconciled(resources: readonly string[]): PolicyRule[] {
  return [
    { apiGroups: [apiGroup], resources, verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    { apiGroups: [apiGroup], resources: resources.map((p) => `${p}/status`), verbs: ['get', 'update', 'patch'] },
    { apiGroups: [apiGroup], resources: resources.map((p) => `${p}/finalizers`), verbs: ['update'] },
  ];
}

const readSecrets: PolicyRule = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] };
const recordEvents: PolicyRule = { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] };

/**
 * Everything the controller may do, split by where it is granted. The chart's RBAC template and
 * so manifests/install.yaml are rendered from these lists, so they cannot drift apart, and the
 * least-privilege e2e test proves the controller needs nothing more.
 */
export const rbac = {
  /**
   * Always cluster-wide: PhoenixHypervisor is cluster-scoped, and a hypervisor's
   * allowedNamespaces selects namespaces by their labels.
   */
  cluster: [...reconciled(plurals('Cluster')), { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }] as readonly PolicyRule[],
  /**
   * In each watched namespace (a Role per namespace with controller.watchNamespaces, else
   * cluster-wide): the namespaced kinds, the Secrets and ConfigMaps they reference, their Events.
   * The Secret cache lists Secrets' metadata only and reads the data of referenced ones (docs/install.md).
   */
  watched: [
    ...reconciled(plurals('Namespaced')),
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
    readSecrets,
    recordEvents,
  ] as readonly PolicyRule[],
  /** In the namespaces holding hypervisor credentials (the release namespace and controller.credentialsNamespaces). */
  credentials: [readSecrets] as readonly PolicyRule[],
  /** Where Events about cluster-scoped objects go (clusterScopedEventNamespace), when not every namespace is watched. */
  clusterEvents: [recordEvents] as readonly PolicyRule[],
  /** Leader election in the controller's own namespace: what LeaderElector does (read, watch for a release, take, renew). */
  leaderElection: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update'] }] as readonly PolicyRule[],
} as const;
