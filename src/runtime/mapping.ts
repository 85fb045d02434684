import { findCondition, Ready, type StandardStatus } from './conditions.ts';
import { jsonEqual } from './deep-equal.ts';
import type { InformerHandler } from './informer.ts';
import { keyOf, objectKey, type ObjectRef } from './object-key.ts';
import type { KubeObject, ResourceType } from './resource.ts';

/** Where mapped keys go: a controller's queue. */
export type Enqueue = (key: string) => void;

/**
 * True when an update changes something a reconciler acts on: the spec (generation), labels,
 * annotations, finalizers or deletion. Status-only updates — mostly our own status writes — do
 * not, so they do not trigger another reconcile (controller-runtime's GenerationChanged plus the
 * metadata a controller reads).
 */
export function changedBeyondStatus(previous: KubeObject, current: KubeObject): boolean {
  const a = previous.metadata;
  const b = current.metadata;
  if (a.generation === undefined || b.generation === undefined) {
    // Kinds without a generation (Secrets, ConfigMaps): anything but status counts.
    const { status: _s1, metadata: m1, ...rest1 } = previous;
    const { status: _s2, metadata: m2, ...rest2 } = current;
    return !jsonEqual(rest1, rest2) || !jsonEqual(m1.labels, m2.labels) || !jsonEqual(m1.annotations, m2.annotations);
  }
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !jsonEqual(a.labels, b.labels) ||
    !jsonEqual(a.annotations, b.annotations) ||
    !jsonEqual(a.finalizers, b.finalizers)
  );
}

/**
 * The primary kind: its own key on add, delete, and updates beyond status; on resync, unless the
 * queue already holds it (`held`). A resync is the net for an object nothing would reconcile
 * again; one whose reconcile asked to be looked at later is not forgotten, and reconciling it at
 * the resync's phase too would observe it twice in a period (a guest's config read once per
 * observe cycle, plus once per resync).
 */
export function enqueueSelf<T extends KubeObject>(enqueue: Enqueue, held: (key: string) => boolean = () => false): InformerHandler<T> {
  return {
    onAdd: (object) => enqueue(objectKey(object)),
    onUpdate: (previous, current, resync) => {
      const key = objectKey(current);
      if (resync ? !held(key) : changedBeyondStatus(previous, current)) enqueue(key);
    },
    onDelete: (object) => enqueue(objectKey(object)),
  };
}

/** Enqueues the keys `map` returns for the object before and after each change (a reference may move). */
export function enqueueMapped<T extends KubeObject>(enqueue: Enqueue, map: (object: T) => readonly ObjectRef[]): InformerHandler<T> {
  const enqueueAll = (object: T) => {
    for (const ref of map(object)) enqueue(keyOf(ref));
  };
  return {
    onAdd: enqueueAll,
    onUpdate: (previous, current, resync) => {
      if (resync) return; // the primary's own resync already covers every primary object
      enqueueAll(previous);
      if (previous !== current) enqueueAll(current);
    },
    onDelete: enqueueAll,
  };
}

/**
 * An owned object enqueues its controlling owner of kind `owner`. A cluster-scoped owner has no
 * namespace in its key; a namespaced owner lives in the owned object's namespace.
 */
export function ownerRefs(owner: ResourceType): (object: KubeObject) => ObjectRef[] {
  const apiGroup = owner.group;
  return (object) =>
    (object.metadata.ownerReferences ?? [])
      .filter((ref) => ref.controller === true && ref.kind === owner.kind && groupOf(ref.apiVersion) === apiGroup)
      .map((ref) => (owner.namespaced && object.metadata.namespace ? { namespace: object.metadata.namespace, name: ref.name } : { name: ref.name }));
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function readyStatusOf(object: KubeObject): string | undefined {
  return findCondition((object.status as StandardStatus | undefined)?.conditions, Ready)?.status;
}

/**
 * For dependencies: enqueues the dependents `map` returns when the dependency appears, goes away,
 * or its Ready condition changes status (becomes Ready, or stops being Ready), and with
 * `specChanges` also when its spec or metadata change. Other updates of the dependency,
 * including its routine status writes, are ignored.
 */
export function enqueueOnReadinessChange<T extends KubeObject>(enqueue: Enqueue, map: (object: T) => readonly ObjectRef[], specChanges = false): InformerHandler<T> {
  const mapped = enqueueMapped(enqueue, map);
  return {
    ...mapped,
    onUpdate: (previous, current, resync) => {
      if (resync) return;
      if (readyStatusOf(previous) === readyStatusOf(current) && !(specChanges && changedBeyondStatus(previous, current))) return;
      for (const ref of map(current)) enqueue(keyOf(ref));
    },
  };
}
