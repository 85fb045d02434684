import { apiGroup } from '../api/group.ts';
import { kinds } from '../api/kinds.ts';

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const plurals = kinds.map((k) => k.plural);

/**
 * Everything the controller may do cluster-wide, and no more. The chart and the plain
 * manifests are both rendered from this list, so they cannot drift apart.
 */
export const controllerClusterRules: readonly PolicyRule[] = [
  { apiGroups: [apiGroup], resources: plurals, verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: [apiGroup], resources: plurals.map((p) => `${p}/status`), verbs: ['get', 'update', 'patch'] },
  { apiGroups: [apiGroup], resources: plurals.map((p) => `${p}/finalizers`), verbs: ['update'] },
  // Tokens, passwords and compose files are read from Secrets and ConfigMaps that objects reference.
  { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list', 'watch'] },
  // A hypervisor's allowedNamespaces selects namespaces by their labels.
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/** Leader election, in the controller's own namespace only. */
export const controllerNamespaceRules: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
