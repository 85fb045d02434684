import { randomBytes } from 'node:crypto';
import { isConflict, isNotFound } from '../../src/runtime/errors.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import type { KubeObject, ResourceType } from '../../src/runtime/resource.ts';
import { eventually } from '../support/crds.ts';

export { eventually };

/** The runtime's own test kind: knows nothing of Proxmox, has a status subresource like every Phoenix kind. */
export const widgets: ResourceType = { group: 'runtime-test.phoenix.io', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };
export const namespaces: ResourceType = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
export const configMaps: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const crds: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false };

export interface Widget extends KubeObject {
  spec?: { size?: number; configMap?: string; dependsOn?: string };
  status?: { observedGeneration?: number; conditions?: Array<{ type: string; status: string; lastTransitionTime: string; reason: string }>; [k: string]: unknown };
}

export async function installWidgetCrd(client: KubeClient): Promise<void> {
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${widgets.plural}.${widgets.group}` },
    spec: {
      group: widgets.group,
      scope: 'Namespaced',
      names: { plural: widgets.plural, singular: 'widget', kind: widgets.kind, listKind: 'WidgetList' },
      versions: [
        {
          name: widgets.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  try {
    await client.create(crds, crd);
  } catch (err) {
    if (!isConflict(err)) throw err; // already installed by an earlier test file in this run
  }
  await eventually('the Widget kind is served', async () => {
    await client.list(widgets, { limit: 1 });
    return true;
  });
}

/** A fresh namespace, so tests in one run never see each other's objects. */
export async function freshNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export function widget(namespace: string, name: string, spec: Widget['spec'] = {}): Widget {
  return { apiVersion: `${widgets.group}/${widgets.version}`, kind: widgets.kind, metadata: { name, namespace }, spec };
}

export async function getOrUndefined<T extends KubeObject>(client: KubeClient, resource: ResourceType, name: string, namespace?: string): Promise<T | undefined> {
  try {
    return await client.get<T>(resource, name, namespace);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
