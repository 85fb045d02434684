import { strict as assert } from 'node:assert';
import { nextStatus } from '../../../src/runtime/conditions.ts';
import { changedBeyondStatus, enqueueOnReadinessChange, enqueueSelf, ownerRefs } from '../../../src/runtime/mapping.ts';
import { controllerReference, withControllerReference } from '../../../src/runtime/owner-references.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/resource.ts';

const stack: ResourceType = { group: 'hypervisor.phoenix.io', version: 'v1alpha1', plural: 'phoenixstacks', kind: 'PhoenixStack', namespaced: true };

function object(generation: number, extra: Partial<KubeObject['metadata']> = {}, status?: unknown): KubeObject {
  return { apiVersion: 'hypervisor.phoenix.io/v1alpha1', kind: 'PhoenixStack', metadata: { name: 'web', namespace: 'ns', uid: 'u-web', generation, ...extra }, status };
}

describe('runtime: mapping watches', () => {
  it('ignores status-only updates of the primary kind but not spec, label or deletion changes', () => {
    assert.equal(changedBeyondStatus(object(1), object(1, {}, { ready: true })), false);
    assert.equal(changedBeyondStatus(object(1), object(2)), true);
    assert.equal(changedBeyondStatus(object(1), object(1, { labels: { a: 'b' } })), true);
    assert.equal(changedBeyondStatus(object(1), object(1, { deletionTimestamp: 'now' })), true);
  });

  it('enqueues the primary on resync even though nothing changed', () => {
    const keys: string[] = [];
    const handler = enqueueSelf<KubeObject>((k) => keys.push(k));
    handler.onUpdate?.(object(1), object(1), false);
    handler.onUpdate?.(object(1), object(1), true);
    assert.deepEqual(keys, ['ns/web']);
  });

  it('leaves a resync of a key the queue already holds (a requeue pending) to that requeue, but not a change', () => {
    const keys: string[] = [];
    const held = new Set(['ns/web']);
    const handler = enqueueSelf<KubeObject>((k) => keys.push(k), (k) => held.has(k));
    handler.onUpdate?.(object(1), object(1), true);
    assert.deepEqual(keys, [], 'a guest with its next observation scheduled was observed again at the resync');
    handler.onUpdate?.(object(1), object(2), false);
    held.clear();
    handler.onUpdate?.(object(2), object(2), true);
    assert.deepEqual(keys, ['ns/web', 'ns/web']);
  });

  it('maps an owned object to its controlling owner of the right kind only', () => {
    const owned: KubeObject = {
      metadata: {
        name: 'web-secret',
        namespace: 'ns',
        ownerReferences: [
          controllerReference(object(1)),
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: 'u2' },
        ],
      },
    };
    assert.deepEqual(ownerRefs(stack)(owned), [{ namespace: 'ns', name: 'web' }]);
  });

  it('refuses a second controller or a cross-namespace owner', () => {
    const owned: KubeObject = { metadata: { name: 's', namespace: 'ns', ownerReferences: [{ ...controllerReference(object(1)), uid: 'someone-else' }] } };
    assert.throws(() => withControllerReference(owned, object(1)), /already controlled/);
    assert.throws(() => withControllerReference({ metadata: { name: 's', namespace: 'other' } }, object(1)), /cannot own/);
  });

  /** A dependency at `generation` whose status (written at generation 1) is in `phase`; `message` tells writes apart. */
  const dependency = (generation: number, phase: 'ready' | 'reconciling', message: string) =>
    object(generation, {}, nextStatus(undefined, 1, { phase, reason: phase === 'ready' ? 'Succeeded' : 'Progressing', message }, {}, new Date('2026-01-01T00:00:00Z')));

  /** The dependents enqueued by a readiness handler, and that handler. */
  function readinessHandler(specChanges?: boolean) {
    const keys: string[] = [];
    const handler = enqueueOnReadinessChange<KubeObject>((k) => keys.push(k), () => [{ namespace: 'ns', name: 'dependent' }], specChanges);
    return { keys, update: (from: KubeObject, to: KubeObject) => handler.onUpdate?.(from, to, false) };
  }

  it('enqueues dependents when a dependency becomes Ready or stops being Ready, not on other status writes', () => {
    const { keys, update } = readinessHandler();
    update(dependency(1, 'reconciling', 'a'), dependency(1, 'reconciling', 'b'));
    assert.deepEqual(keys, []);
    update(dependency(1, 'reconciling', 'b'), dependency(1, 'ready', ''));
    assert.deepEqual(keys, ['ns/dependent']);
    update(dependency(1, 'ready', ''), dependency(1, 'reconciling', 'a'));
    assert.deepEqual(keys, ['ns/dependent', 'ns/dependent']);
  });

  it('with specChanges, also enqueues dependents when the dependency\'s spec changes, still not on status writes', () => {
    const { keys, update } = readinessHandler(true);
    update(dependency(1, 'ready', 'a'), dependency(1, 'ready', 'b'));
    assert.deepEqual(keys, []);
    update(dependency(1, 'ready', 'b'), dependency(2, 'ready', 'b'));
    assert.deepEqual(keys, ['ns/dependent']);
  });
});
