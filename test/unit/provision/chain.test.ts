import { strict as assert } from 'node:assert';
import { insideFinished, snapshotsAt, templateNext, type DeclaredSnapshot } from '../../../src/provision/chain.ts';

describe('the golden chain\'s order (pure)', () => {
  const pre: DeclaredSnapshot = { name: 'pre-provision', when: 'BeforeProvisioning' };
  const final: DeclaredSnapshot = { name: 'final-form' };
  const explicit: DeclaredSnapshot = { name: 'after', when: 'AfterProvisioning' };
  const names = (list: DeclaredSnapshot[]) => list.map((s) => s.name);

  it('takes every snapshot once configured when nothing runs inside, and none at the inside stages', () => {
    assert.deepEqual(names(snapshotsAt('Configured', [pre, final], false, false)), ['pre-provision', 'final-form']);
    assert.deepEqual(snapshotsAt('BeforeProvisioning', [pre, final], false, false), []);
    assert.deepEqual(snapshotsAt('AfterProvisioning', [pre, final], false, false), []);
  });

  it('with steps, takes none before the guest runs, the BeforeProvisioning ones before the first step, the rest (the default) after', () => {
    assert.deepEqual(snapshotsAt('Configured', [pre, final, explicit], true, false), []);
    assert.deepEqual(names(snapshotsAt('BeforeProvisioning', [pre, final, explicit], true, false)), ['pre-provision']);
    assert.deepEqual(names(snapshotsAt('AfterProvisioning', [pre, final, explicit], true, false)), ['final-form', 'after']);
  });

  it('never takes a BeforeProvisioning snapshot once a step has been recorded: it would hold a provisioned guest', () => {
    assert.deepEqual(snapshotsAt('BeforeProvisioning', [pre, final], true, true), []);
  });

  it('is finished only when the steps are done and every declared check was last seen passing', () => {
    assert.equal(insideFinished(true, [], undefined), true);
    assert.equal(insideFinished(false, [], undefined), false);
    assert.equal(insideFinished(true, ['http'], undefined), false);
    assert.equal(insideFinished(true, ['http'], [{ name: 'http', healthy: false }]), false);
    assert.equal(insideFinished(true, ['http', 'disk'], [{ name: 'http', healthy: true }]), false);
    assert.equal(insideFinished(true, ['http', 'disk'], [{ name: 'http', healthy: true }, { name: 'disk', healthy: true }]), true);
  });

  it('runs a template-to-be until finished, then shuts it down, and converts it only once stopped', () => {
    assert.equal(templateNext(false, false), 'run');
    assert.equal(templateNext(false, true), 'run');
    assert.equal(templateNext(true, true), 'shutdown');
    assert.equal(templateNext(true, false), 'convert');
  });
});
