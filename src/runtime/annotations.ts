import jsonPatch from 'fast-json-patch';
import type { KubeClient } from './kube-client.ts';
import type { KubeObject, ResourceType } from './resource.ts';

/**
 * Sets (or, with undefined, removes) annotations of `object`, returning the object as the
 * server now has it. The JSON Patch is computed from the annotations as they were and starts
 * with a `test` of the resourceVersion, so it applies only to the object this decision was
 * made from; a concurrent change makes it fail with a conflict instead of being overwritten.
 * No request is made when nothing changes.
 */
export async function setAnnotations<T extends KubeObject>(client: KubeClient, resource: ResourceType, object: T, changes: Readonly<Record<string, string | undefined>>): Promise<T> {
  const before = object.metadata.annotations ?? {};
  const after: Record<string, string> = { ...before };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete after[key];
    else after[key] = value;
  }
  // An absent map must be absent on the left too, or the patch would `replace` a missing path.
  const was = object.metadata.annotations ? { metadata: { annotations: object.metadata.annotations } } : { metadata: {} };
  const operations = jsonPatch.compare(was, { metadata: { annotations: after } });
  if (!operations.length) return object;
  return client.jsonPatch<T>(resource, object.metadata, [{ op: 'test', path: '/metadata/resourceVersion', value: object.metadata.resourceVersion }, ...operations]);
}
