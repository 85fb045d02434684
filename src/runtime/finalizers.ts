import type { KubeClient } from './kube-client.ts';
import type { KubeObject, ResourceType } from './resource.ts';

export function hasFinalizer(object: KubeObject, finalizer: string): boolean {
  return object.metadata.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(object: KubeObject): boolean {
  return Boolean(object.metadata.deletionTimestamp);
}

/**
 * Adds `finalizer` if missing; returns the object as the server now has it. No request is made
 * when it is already there. The patch carries the resourceVersion, so a concurrent change makes
 * it fail with 409 rather than silently drop someone else's finalizer (merge patch replaces lists).
 */
export async function ensureFinalizer<T extends KubeObject>(client: KubeClient, resource: ResourceType, object: T, finalizer: string): Promise<T> {
  if (hasFinalizer(object, finalizer)) return object;
  const finalizers = [...(object.metadata.finalizers ?? []), finalizer];
  return client.mergePatch<T>(resource, object.metadata, {
    metadata: { resourceVersion: object.metadata.resourceVersion, finalizers },
  });
}

/** Removes `finalizer` if present (same optimistic lock as ensureFinalizer). */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, resource: ResourceType, object: T, finalizer: string): Promise<T> {
  if (!hasFinalizer(object, finalizer)) return object;
  const finalizers = (object.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  return client.mergePatch<T>(resource, object.metadata, {
    metadata: { resourceVersion: object.metadata.resourceVersion, finalizers },
  });
}
