/** The identity the work queue carries: "namespace/name", or "name" for cluster-scoped objects. */
export interface ObjectRef {
  readonly namespace?: string;
  readonly name: string;
}

export interface ObjectMetaLike {
  metadata?: { name?: string; namespace?: string };
}

export function keyOf(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** The work-queue identity of an object. */
export function refOf(object: ObjectMetaLike): ObjectRef {
  const name = object.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return { name, ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}) };
}

export function objectKey(object: ObjectMetaLike): string {
  return keyOf(refOf(object));
}

export function parseKey(key: string): ObjectRef {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
