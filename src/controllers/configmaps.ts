import type { KubeObject, ResourceType } from '../runtime/resource.ts';

/** ConfigMaps, which stacks (compose files, env) and guests (provisioning steps) read. */
export const configMaps: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
