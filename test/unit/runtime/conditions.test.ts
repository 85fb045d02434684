import { strict as assert } from 'node:assert';
import {
  computeKStatus,
  findCondition,
  nextStatus,
  setCondition,
  type Condition,
  type StandardStatus,
} from '../../../src/runtime/conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.600Z');
const t1 = new Date('2026-01-01T01:00:00Z');

describe('runtime: conditions', () => {
  it('stamps a new condition with the time in whole seconds', () => {
    const [ready] = setCondition([], { type: 'Ready', status: 'False', reason: 'Progressing', message: 'booting' }, t0);
    assert.equal(ready?.lastTransitionTime, '2026-01-01T00:00:00Z');
  });

  it('keeps lastTransitionTime when only reason or message change', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Progressing', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'b' }, t1);
    assert.equal(second[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(second[0]?.reason, 'Waiting');
  });

  it('moves lastTransitionTime when the status changes, and leaves other conditions alone', () => {
    const other: Condition = { type: 'Custom', status: 'True', reason: 'X', message: '', lastTransitionTime: 'then' };
    const first = setCondition([other], { type: 'Ready', status: 'False', reason: 'Progressing', message: '' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'Succeeded', message: '' }, t1);
    assert.equal(findCondition(second, 'Ready')?.lastTransitionTime, '2026-01-01T01:00:00Z');
    assert.deepEqual(findCondition(second, 'Custom'), other);
    assert.equal(second.length, 2);
  });

  it('rejects reasons Kubernetes would reject', () => {
    assert.throws(() => setCondition([], { type: 'Ready', status: 'True', reason: 'not valid', message: '' }, t0), /invalid condition reason/);
  });

  it('sets the kstatus trio and observedGeneration for each phase', () => {
    const ready = nextStatus(undefined, 3, { phase: 'ready', reason: 'Succeeded', message: 'up' }, { vmid: 101 }, t0);
    assert.equal(ready.observedGeneration, 3);
    assert.equal(ready['vmid'], 101);
    const statuses = (s: StandardStatus) => Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]));
    assert.deepEqual(statuses(ready), { Ready: 'True', Reconciling: 'False', Stalled: 'False', Synced: 'True' });
    assert.ok(ready.conditions?.every((c) => c.observedGeneration === 3));
    const stalled = nextStatus(ready, 4, { phase: 'stalled', reason: 'InvalidSpec', message: 'bad' }, {}, t1);
    assert.deepEqual(statuses(stalled), { Ready: 'False', Reconciling: 'False', Stalled: 'True', Synced: 'False' });
    const reconciling = nextStatus(stalled, 5, { phase: 'reconciling', reason: 'Progressing', message: '' }, {}, t1);
    assert.deepEqual(statuses(reconciling), { Ready: 'False', Reconciling: 'True', Stalled: 'False', Synced: 'True' });
  });

  it('removes the kind-specific conditions it is told no longer apply, and keeps the others', () => {
    const extra = [{ type: 'Provisioned', status: 'True' as const, reason: 'StepsSucceeded', message: '1 step succeeded' }, { type: 'Healthy', status: 'True' as const, reason: 'ChecksPassing', message: '' }];
    const before = nextStatus(undefined, 1, { phase: 'ready', reason: 'Converged', message: 'up' }, {}, t0, extra);
    const after = nextStatus(before, 2, { phase: 'ready', reason: 'Converged', message: 'up' }, {}, t1, [], undefined, ['Provisioned']);
    assert.deepEqual((after.conditions ?? []).map((c) => c.type).sort(), ['Healthy', 'Ready', 'Reconciling', 'Stalled', 'Synced']);
  });

  it('is a fixed point: applying the same phase twice changes nothing', () => {
    const once = nextStatus(undefined, 2, { phase: 'ready', reason: 'Succeeded', message: 'up' }, {}, t0);
    const twice = nextStatus(once, 2, { phase: 'ready', reason: 'Succeeded', message: 'up' }, {}, t1);
    assert.deepEqual(twice, once);
  });

  it('agrees with kstatus on each state', () => {
    const gen = (g: number, status?: StandardStatus) => ({ metadata: { generation: g }, ...(status ? { status } : {}) });
    const ready = nextStatus(undefined, 2, { phase: 'ready', reason: 'Succeeded', message: '' }, {}, t0);
    assert.equal(computeKStatus(gen(2, ready)), 'Current');
    assert.equal(computeKStatus(gen(3, ready)), 'InProgress', 'a newer generation not yet observed');
    assert.equal(computeKStatus(gen(2, nextStatus(undefined, 2, { phase: 'stalled', reason: 'Bad', message: '' }, {}, t0))), 'Failed');
    assert.equal(computeKStatus(gen(2, nextStatus(undefined, 2, { phase: 'reconciling', reason: 'P', message: '' }, {}, t0))), 'InProgress');
    assert.equal(computeKStatus({ metadata: { generation: 1, deletionTimestamp: 'x' } }), 'Terminating');
  });

  describe('trouble of the controller\'s own (Synced=False)', () => {
    const grace = 120_000;
    const at = (seconds: number) => new Date(Date.parse('2026-03-01T10:00:00Z') + seconds * 1000);
    const statuses = (s: StandardStatus) => Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
    const converged = nextStatus(undefined, 4, { phase: 'ready', reason: 'Converged', message: 'running' }, {}, at(0));

    it('leaves a converged object Ready and says what is wrong in Synced', () => {
      const troubled = nextStatus(converged, 4, { phase: 'trouble', reason: 'Unreachable', message: 'no route to host' }, {}, at(10), [], grace);
      assert.deepEqual(statuses(troubled), { Ready: 'True/Converged', Reconciling: 'False/Converged', Stalled: 'False/Converged', Synced: 'False/Unreachable' });
      assert.equal(findCondition(troubled.conditions, 'Synced')?.message, 'no route to host');
      assert.equal(computeKStatus({ metadata: { generation: 4 }, status: troubled }), 'Current');
      // Still within the grace period: still Ready.
      const later = nextStatus(troubled, 4, { phase: 'trouble', reason: 'Unreachable', message: 'no route to host' }, {}, at(129), [], grace);
      assert.equal(findCondition(later.conditions, 'Ready')?.status, 'True');
    });

    it('turns Ready False once the trouble has lasted longer than the grace period', () => {
      const troubled = nextStatus(converged, 4, { phase: 'trouble', reason: 'Unreachable', message: 'down' }, {}, at(10), [], grace);
      const lasting = nextStatus(troubled, 4, { phase: 'trouble', reason: 'Unreachable', message: 'down' }, {}, at(131), [], grace);
      assert.deepEqual(statuses(lasting), { Ready: 'False/Unreachable', Reconciling: 'True/Unreachable', Stalled: 'False/Unreachable', Synced: 'False/Unreachable' });
    });

    it('says in Ready what holds up an object on its way to Ready', () => {
      const creating = nextStatus(undefined, 1, { phase: 'reconciling', reason: 'Creating', message: '' }, {}, at(0));
      const troubled = nextStatus(creating, 1, { phase: 'trouble', reason: 'InsufficientPrivileges', message: 'Permission check failed' }, {}, at(1), [], grace);
      assert.deepEqual(statuses(troubled), { Ready: 'False/InsufficientPrivileges', Reconciling: 'True/InsufficientPrivileges', Stalled: 'False/InsufficientPrivileges', Synced: 'False/InsufficientPrivileges' });
    });

    it('keeps naming the failure of an object whose attempts fail, through trouble younger than the grace period', () => {
      const failing = nextStatus(undefined, 1, { phase: 'failing', reason: 'TaskFailed', message: 'create failed twice' }, {}, at(0));
      assert.deepEqual(statuses(failing), { Ready: 'False/TaskFailed', Reconciling: 'True/TaskFailed', Stalled: 'False/TaskFailed', Synced: 'False/TaskFailed' });
      assert.equal(computeKStatus({ metadata: { generation: 1 }, status: failing }), 'InProgress');
      const restarted = nextStatus(failing, 1, { phase: 'trouble', reason: 'WaitingForHypervisor', message: 'connecting' }, {}, at(30), [], grace);
      const readFailed = nextStatus(restarted, 1, { phase: 'trouble', reason: 'ReconcileError', message: '500' }, {}, at(60), [], grace);
      for (const s of [restarted, readFailed]) assert.equal(findCondition(s.conditions, 'Ready')?.reason, 'TaskFailed');
      assert.deepEqual(statuses(readFailed), { Ready: 'False/TaskFailed', Reconciling: 'True/TaskFailed', Stalled: 'False/TaskFailed', Synced: 'False/ReconcileError' });
      const lasting = nextStatus(readFailed, 1, { phase: 'trouble', reason: 'ReconcileError', message: '500' }, {}, at(151), [], grace);
      assert.equal(findCondition(lasting.conditions, 'Ready')?.reason, 'ReconcileError', 'trouble since 30 s has outlasted the 120 s grace');
    });

    it('keeps a failing object stalled on its own failure, and times the trouble from when it began', () => {
      const stalled = nextStatus(undefined, 1, { phase: 'stalled', reason: 'TaskFailed', message: 'create failed 5 times' }, {}, at(0));
      const troubled = nextStatus(stalled, 1, { phase: 'trouble', reason: 'WaitingForHypervisor', message: 'connecting' }, {}, at(300), [], grace);
      assert.deepEqual(statuses(troubled), { Ready: 'False/TaskFailed', Reconciling: 'False/TaskFailed', Stalled: 'True/TaskFailed', Synced: 'False/WaitingForHypervisor' });
      assert.equal(findCondition(troubled.conditions, 'Synced')?.lastTransitionTime, '2026-03-01T10:05:00Z', 'the trouble began at 300 s, not when the stall did');
      assert.equal(findCondition(troubled.conditions, 'Stalled')?.message, 'create failed 5 times');
      const within = nextStatus(troubled, 1, { phase: 'trouble', reason: 'WaitingForHypervisor', message: 'connecting' }, {}, at(419), [], grace);
      assert.equal(findCondition(within.conditions, 'Stalled')?.status, 'True');
      const lasting = nextStatus(within, 1, { phase: 'trouble', reason: 'WaitingForHypervisor', message: 'connecting' }, {}, at(421), [], grace);
      assert.deepEqual(statuses(lasting), { Ready: 'False/WaitingForHypervisor', Reconciling: 'True/WaitingForHypervisor', Stalled: 'False/WaitingForHypervisor', Synced: 'False/WaitingForHypervisor' });
    });

    it('writes nothing new while the same trouble lasts: for an object that never got further, and after the grace period', () => {
      const waiting = nextStatus(undefined, 1, { phase: 'trouble', reason: 'WaitingForHypervisor', message: 'PhoenixHypervisor nowhere does not exist' }, {}, at(0), [], grace);
      for (const seconds of [30, 60, 600]) {
        assert.deepEqual(nextStatus(waiting, 1, { phase: 'trouble', reason: 'WaitingForHypervisor', message: 'PhoenixHypervisor nowhere does not exist' }, {}, at(seconds), [], grace), waiting, `rewritten at ${seconds} s`);
      }
      const troubled = nextStatus(converged, 4, { phase: 'trouble', reason: 'Unreachable', message: 'down' }, {}, at(10), [], grace);
      const lasting = nextStatus(troubled, 4, { phase: 'trouble', reason: 'Unreachable', message: 'down' }, {}, at(131), [], grace);
      assert.deepEqual(nextStatus(lasting, 4, { phase: 'trouble', reason: 'Unreachable', message: 'down' }, {}, at(161), [], grace), lasting);
      // Other trouble after it is new trouble: it begins when it comes.
      const other = nextStatus(waiting, 1, { phase: 'trouble', reason: 'ReconcileError', message: '500' }, {}, at(90), [], grace);
      assert.equal(findCondition(other.conditions, 'Synced')?.reason, 'ReconcileError');
    });

    it('counts as reconciling when nothing was observed at the object\'s generation', () => {
      assert.equal(findCondition(nextStatus(undefined, 1, { phase: 'trouble', reason: 'ReconcileError', message: 'x' }, {}, at(1), [], grace).conditions, 'Ready')?.reason, 'ReconcileError');
      // A spec change makes the last observation stale: nothing to hold.
      assert.equal(findCondition(nextStatus(converged, 5, { phase: 'trouble', reason: 'ReconcileError', message: 'x' }, {}, at(1), [], grace).conditions, 'Ready')?.status, 'False');
    });

    it('is over at the next success, which sets Synced True again', () => {
      const troubled = nextStatus(converged, 4, { phase: 'trouble', reason: 'Unreachable', message: 'down' }, {}, at(10), [], grace);
      const again = nextStatus(troubled, 4, { phase: 'ready', reason: 'Converged', message: 'running' }, {}, at(20), [], grace);
      assert.deepEqual(statuses(again), statuses(converged));
      assert.equal(findCondition(again.conditions, 'Ready')?.lastTransitionTime, findCondition(converged.conditions, 'Ready')?.lastTransitionTime, 'Ready never transitioned');
    });
  });
});
