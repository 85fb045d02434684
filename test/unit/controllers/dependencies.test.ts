import { strict as assert } from 'node:assert';
import { dependenciesOf, dependencyGate, findCycle, type DependencyRef } from '../../../src/controllers/dependencies.ts';

const ref = (name: string): DependencyRef => ({ kind: 'PhoenixLXC', name, namespace: 'ns' });

describe('dependencies', () => {
  it('counts a clone source and a stack\'s VM as dependencies, once each', () => {
    const deps = dependenciesOf({ metadata: { namespace: 'ns' }, spec: { source: { clone: { lxcRef: { name: 'base' } } }, dependsOn: [{ kind: 'PhoenixLXC', name: 'base' }, { kind: 'PhoenixHypervisor', name: 'pve' }] } });
    assert.deepEqual(deps, [ref('base'), { kind: 'PhoenixHypervisor', name: 'pve' }]);
  });

  it('stops counting a clone source once the clone exists, but keeps its other dependencies', () => {
    const spec = { source: { clone: { vmRef: { name: 'base-tpl' } } }, dependsOn: [{ kind: 'PhoenixHypervisor' as const, name: 'pve' }] };
    assert.deepEqual(dependenciesOf({ metadata: { namespace: 'ns' }, spec, status: { vmid: 120 } }), [{ kind: 'PhoenixVM', name: 'base-tpl', namespace: 'ns' }, { kind: 'PhoenixHypervisor', name: 'pve' }]);
    assert.deepEqual(dependenciesOf({ metadata: { namespace: 'ns' }, spec, status: { vmid: 120, configDigest: 'abc' } }), [{ kind: 'PhoenixHypervisor', name: 'pve' }]);
  });

  it('spells out the cycle an object is part of', () => {
    const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['a'] };
    const edges = (r: DependencyRef) => graph[r.name]?.map(ref);
    assert.deepEqual(findCycle(ref('a'), edges)?.map((r) => r.name), ['a', 'b', 'c', 'a']);
    assert.deepEqual(findCycle(ref('c'), edges)?.map((r) => r.name), ['c', 'a', 'b', 'c']);
    assert.equal(findCycle(ref('d'), edges), undefined, 'depending on a cycle is not being in it');
  });

  it('finds no cycle in a diamond or through missing objects', () => {
    const graph: Record<string, string[]> = { top: ['l', 'r'], l: ['base'], r: ['base'], base: ['ghost'] };
    assert.equal(findCycle(ref('top'), (r) => graph[r.name]?.map(ref)), undefined);
  });
});

describe('dependencyGate', () => {
  const object = (name: string, deps: string[], ready: boolean) => ({
    metadata: { name, namespace: 'ns', generation: 1 },
    spec: { dependsOn: deps.map((d) => ({ kind: 'PhoenixLXC' as const, name: d })) },
    status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'x', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  });
  const world = (objects: ReturnType<typeof object>[]) => (r: DependencyRef) => objects.find((o) => o.metadata.name === r.name);

  it('names the dependencies that are missing or not Ready, and lets a guest go once all are', () => {
    const app = object('app', ['db', 'cache'], false);
    const lookup = world([app, object('db', [], false)]);
    assert.deepEqual(dependencyGate(ref('app'), app, lookup), { waiting: ['PhoenixLXC ns/db (not Ready)', 'PhoenixLXC ns/cache (not found)'] });
    assert.deepEqual(dependencyGate(ref('app'), app, world([app, object('db', [], true), object('cache', [], true)])), { waiting: [] });
  });

  it('reports a cycle with every member named', () => {
    const a = object('a', ['b'], false);
    const gate = dependencyGate(ref('a'), a, world([a, object('b', ['a'], false)]));
    assert.equal(gate.cycle, 'dependency cycle: PhoenixLXC a → PhoenixLXC b → PhoenixLXC a; remove one of these dependencies');
  });
});
