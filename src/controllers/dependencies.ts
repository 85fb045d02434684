import type { KubeObject, ResourceType } from '../runtime/resource.ts';
import type { Informer } from '../runtime/informer.ts';
import { isConditionTrue, type Condition } from '../runtime/conditions.ts';
import { phoenixHypervisors, phoenixLxcs, phoenixStacks, phoenixVms } from '../api/objects.ts';

export interface DependencyRef {
  readonly kind: 'PhoenixLXC' | 'PhoenixVM' | 'PhoenixStack' | 'PhoenixHypervisor';
  readonly name: string;
  /** Undefined for the cluster-scoped PhoenixHypervisor. */
  readonly namespace?: string;
}

type DependencyCaches = Readonly<Record<DependencyRef['kind'], Informer<KubeObject>>>;

/** The shared caches of every kind a dependency can name, and a lookup of one reference in them. */
export function dependencyCaches(cache: (resource: ResourceType) => Informer<KubeObject>): { caches: DependencyCaches; lookup: (ref: DependencyRef) => KubeObject | undefined } {
  const caches: DependencyCaches = {
    PhoenixHypervisor: cache(phoenixHypervisors),
    PhoenixLXC: cache(phoenixLxcs),
    PhoenixVM: cache(phoenixVms),
    PhoenixStack: cache(phoenixStacks),
  };
  return { caches, lookup: (ref) => caches[ref.kind].get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name) };
}

interface WithDependencies {
  metadata: { namespace?: string };
  spec: {
    dependsOn?: { kind: DependencyRef['kind']; name: string }[];
    source?: { clone?: { lxcRef?: { name: string }; vmRef?: { name: string } } };
    vmRef?: { name: string };
  };
  status?: unknown;
}

/**
 * Everything an object waits for: its `dependsOn`, plus a stack's VM, and a clone source until
 * the clone exists (a config digest recorded). A made clone needs nothing more of its source: a
 * template whose changed steps cannot run (TemplateCannotRun) or a source re-running its steps
 * must not take every clone made from it out of Ready.
 */
export function dependenciesOf(object: WithDependencies): DependencyRef[] {
  const namespace = object.metadata.namespace;
  const refs: DependencyRef[] = [];
  const add = (kind: DependencyRef['kind'], name: string) => {
    const ref: DependencyRef = kind === 'PhoenixHypervisor' ? { kind, name } : { kind, name, ...(namespace ? { namespace } : {}) };
    if (!refs.some((r) => r.kind === ref.kind && r.name === ref.name)) refs.push(ref);
  };
  const clone = (object.status as { configDigest?: string } | undefined)?.configDigest === undefined ? object.spec.source?.clone : undefined;
  if (clone?.lxcRef) add('PhoenixLXC', clone.lxcRef.name);
  if (clone?.vmRef) add('PhoenixVM', clone.vmRef.name);
  if (object.spec.vmRef) add('PhoenixVM', object.spec.vmRef.name);
  for (const dep of object.spec.dependsOn ?? []) add(dep.kind, dep.name);
  return refs;
}

const dependencyIndex = 'dependencies';
const indexValue = (kind: string | undefined, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

/**
 * Keeps `informer` indexed by what its objects depend on, so that a dependency's change finds
 * its dependents without testing every cached object (with 10,000 guests, each guest's change
 * cost a scan of all of them, and the garbage of it).
 */
export function indexDependencies<T extends KubeObject>(informer: Informer<T>): void {
  if (informer.hasIndex(dependencyIndex)) return;
  informer.addIndex(dependencyIndex, (object) => dependenciesOf(object as unknown as WithDependencies).map((ref) => indexValue(ref.kind, ref.namespace, ref.name)));
}

/** The objects of `informer` (indexed by indexDependencies) that depend on `dependency`, as a watch delivers it. */
export function dependentsOf<T extends KubeObject>(informer: Informer<T>, dependency: KubeObject): T[] {
  return informer.byIndex(dependencyIndex, indexValue(dependency.kind, dependency.metadata.namespace, dependency.metadata.name));
}

export function describeRef(ref: DependencyRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** Ready for its current generation: a stale Ready from before a spec change does not count. */
export function isReady(object: KubeObject | undefined): boolean {
  if (!object) return false;
  const status = object.status as { observedGeneration?: number; conditions?: Condition[] } | undefined;
  return isConditionTrue(status?.conditions, 'Ready') && status?.observedGeneration === object.metadata.generation;
}

/** The dependencies not Ready yet, as words for a condition message. */
export function waitingFor(refs: readonly DependencyRef[], lookup: (ref: DependencyRef) => KubeObject | undefined): string[] {
  return refs.filter((ref) => !isReady(lookup(ref))).map((ref) => (lookup(ref) ? `${describeRef(ref)} (not Ready)` : `${describeRef(ref)} (not found)`));
}

const sameRef = (a: DependencyRef, b: DependencyRef) => a.kind === b.kind && a.name === b.name && a.namespace === b.namespace;

/**
 * The dependency cycle `start` is part of, as the path start → … → start, or undefined.
 * `edgesOf` gives an object's dependencies (undefined for objects that do not exist).
 */
export function findCycle(start: DependencyRef, edgesOf: (ref: DependencyRef) => readonly DependencyRef[] | undefined): DependencyRef[] | undefined {
  const visited: DependencyRef[] = [];
  const walk = (ref: DependencyRef, path: DependencyRef[]): DependencyRef[] | undefined => {
    for (const next of edgesOf(ref) ?? []) {
      if (sameRef(next, start)) return [...path, next];
      if (visited.some((v) => sameRef(v, next))) continue;
      visited.push(next);
      const found = walk(next, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

/**
 * What keeps `self` from going on: a dependency cycle it is part of (as a message naming every
 * member), or the dependencies that are not Ready yet. The reconcilers stall on a cycle and wait
 * otherwise.
 */
export function dependencyGate(self: DependencyRef, object: WithDependencies, lookup: (ref: DependencyRef) => KubeObject | undefined): { cycle?: string; waiting: string[] } {
  const cycle = findCycle(self, (ref) => {
    const found = lookup(ref) as (KubeObject & Partial<WithDependencies>) | undefined;
    return found?.spec ? dependenciesOf(found as WithDependencies) : undefined;
  });
  if (cycle) return { cycle: `dependency cycle: ${cycle.map((r) => `${r.kind} ${r.name}`).join(' → ')}; remove one of these dependencies`, waiting: [] };
  return { waiting: waitingFor(dependenciesOf(object), lookup) };
}
