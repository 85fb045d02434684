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

  it('enqueues dependents when a dependency becomes Ready or stops being Ready, not on other status writes', () => {
    const keys: string[] = [];
    const handler = enqueueOnReadinessChange<KubeObject>((k) => keys.push(k), () => [{ namespace: 'ns', name: 'dependent' }]);
    const at = new Date('2026-01-01T00:00:00Z');
    const progressing = object(1, {}, nextStatus(undefined, 1, { phase: 'reconciling', reason: 'Progressing', message: 'a' }, {}, at));
    const progressingMore = object(1, {}, nextStatus(undefined, 1, { phase: 'reconciling', reason: 'Progressing', message: 'b' }, {}, at));
    const ready = object(1, {}, nextStatus(undefined, 1, { phase: 'ready', reason: 'Succeeded', message: '' }, {}, at));
    handler.onUpdate?.(progressing, progressingMore, false);
    assert.deepEqual(keys, []);
    handler.onUpdate?.(progressingMore, ready, false);
    assert.deepEqual(keys, ['ns/dependent']);
    handler.onUpdate?.(ready, progressing, false);
    assert.deepEqual(keys, ['ns/dependent', 'ns/dependent']);
  });

  it('with specChanges, also enqueues dependents when the dependency\'s spec changes, still not on status writes', () => {
    const keys: string[] = [];
    const handler = enqueueOnReadinessChange<KubeObject>((k) => keys.push(k), () => [{ namespace: 'ns', name: 'dependent' }], true);
    const at = new Date('2026-01-01T00:00:00Z');
    const ready = object(1, {}, nextStatus(undefined, 1, { phase: 'ready', reason: 'Succeeded', message: 'a' }, {}, at));
    const readyAgain = object(1, {}, nextStatus(undefined, 1, { phase: 'ready', reason: 'Succeeded', message: 'b' }, {}, at));
    const respecified = object(2, {}, nextStatus(undefined, 1, { phase: 'ready', reason: 'Succeeded', message: 'b' }, {}, at));
    handler.onUpdate?.(ready, readyAgain, false);
    assert.deepEqual(keys, []);
    handler.onUpdate?.(readyAgain, respecified, false);
    assert.deepEqual(keys, ['ns/dependent']);
  });
});
