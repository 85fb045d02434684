import { strict as assert } from 'node:assert';
import { planPools } from '../../../src/hosts/pools.ts';
import { createdButNotWanted } from '../../../src/hosts/plan.ts';
import { withCreated } from '../../../src/hosts/plan.ts';

describe('host plan: pools', () => {
  it('creates a missing pool and records it as created', () => {
    const [step, ...rest] = planPools([{ id: 'prod', comment: 'production' }], [], []);
    assert.deepEqual(rest, []);
    assert.deepEqual(step?.call, { method: 'POST', path: '/pools', params: { poolid: 'prod', comment: 'production' } });
    assert.deepEqual(step?.records, { kind: 'pools', id: 'prod' });
    assert.equal(step?.safe, true);
  });

  it('updates a comment that differs, and leaves an undeclared comment alone', () => {
    const steps = planPools([{ id: 'prod', comment: 'production' }, { id: 'dev' }], [{ poolid: 'prod', comment: 'renamed' }, { poolid: 'dev', comment: 'whatever' }], []);
    assert.equal(steps.length, 1);
    assert.deepEqual(steps[0]?.call, { method: 'PUT', path: '/pools', params: { poolid: 'prod', comment: 'production' } });
    assert.deepEqual(steps[0]?.differences, [{ field: 'pools[prod].comment', observed: 'renamed', desired: 'production' }]);
    assert.equal(steps[0]?.records, undefined, 'an existing pool is not recorded as created');
  });

  it('plans nothing for an in-sync host, and never touches pools it did not create', () => {
    assert.deepEqual(planPools([{ id: 'prod', comment: 'p' }], [{ poolid: 'prod', comment: 'p' }, { poolid: 'other' }], []), []);
    assert.deepEqual(planPools([], [{ poolid: 'other' }], []), []);
  });

  it('removes a pool it created once dropped from the spec, only when empty', () => {
    const empty = planPools([], [{ poolid: 'old', members: 0 }], ['old']);
    assert.deepEqual(empty.map((s) => [s.call?.method, s.safe, s.forgets?.id]), [['DELETE', true, 'old']]);
    const used = planPools([], [{ poolid: 'old', members: 2 }], ['old']);
    assert.equal(used[0]?.safe, false);
    assert.match(used[0]?.refusal ?? '', /still has 2 members/);
    assert.deepEqual(createdButNotWanted([{ id: 'kept' }], ['kept', 'old']), ['old']);
  });

  it('forgets, without a call, a pool it created that someone else removed', () => {
    const [step] = planPools([], [], ['gone']);
    assert.equal(step?.call, undefined);
    assert.deepEqual(step?.forgets, { kind: 'pools', id: 'gone' });
  });

  it('keeps an emptied created list, so a merge patch clears it', () => {
    assert.deepEqual(withCreated({ pools: ['a'] }, { kind: 'pools', id: 'a' }, false), { pools: [] });
    assert.deepEqual(withCreated({}, { kind: 'storages', id: 'b' }, true), { storages: ['b'] });
  });
});
