import type { KubeObject, OwnerReference } from './resource.ts';

/** The controller reference an owner puts on what it creates (controller-runtime's SetControllerReference). */
export function controllerReference(owner: KubeObject): OwnerReference {
  const { apiVersion, kind } = owner;
  const { name, uid } = owner.metadata;
  if (!apiVersion || !kind || !uid) throw new Error(`owner ${name} needs apiVersion, kind and uid to be referenced`);
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * Returns `object`'s owner references with `owner` as its controller. Refuses what the garbage
 * collector would reject or mishandle: a second controller, or a namespaced owner in another
 * namespace (a cluster-scoped owner may own namespaced objects).
 */
export function withControllerReference(object: KubeObject, owner: KubeObject): OwnerReference[] {
  const reference = controllerReference(owner);
  if (owner.metadata.namespace && owner.metadata.namespace !== object.metadata.namespace) {
    throw new Error(`${owner.kind} ${owner.metadata.namespace}/${owner.metadata.name} cannot own an object in namespace ${object.metadata.namespace ?? '(cluster)'}`);
  }
  const existing = object.metadata.ownerReferences ?? [];
  const other = existing.find((ref) => ref.controller && ref.uid !== reference.uid);
  if (other) throw new Error(`${object.metadata.name} is already controlled by ${other.kind} ${other.name}`);
  return [...existing.filter((ref) => ref.uid !== reference.uid), reference];
}

export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

export function isOwnedBy(object: KubeObject, owner: KubeObject): boolean {
  return object.metadata.ownerReferences?.some((ref) => ref.uid === owner.metadata.uid) ?? false;
}
