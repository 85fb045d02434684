import { strict as assert } from 'node:assert';
import { dependenciesOf, findCycle, type DependencyRef } from '../../../src/controllers/dependencies.ts';

const ref = (name: string): DependencyRef => ({ kind: 'PhoenixLXC', name, namespace: 'ns' });

describe('dependencies', () => {
  it('counts a clone source and a stack\'s VM as dependencies, once each', () => {
    const deps = dependenciesOf({ metadata: { namespace: 'ns' }, spec: { source: { clone: { lxcRef: { name: 'base' } } }, dependsOn: [{ kind: 'PhoenixLXC', name: 'base' }, { kind: 'PhoenixHypervisor', name: 'pve' }] } });
    assert.deepEqual(deps, [ref('base'), { kind: 'PhoenixHypervisor', name: 'pve' }]);
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
