import { strict as assert } from 'node:assert';
import { IdenticalWrites, maxIdenticalWrites } from '../../../src/controllers/identical-writes.ts';

describe('identical writes', () => {
  it('calls the same change accepted the maximum number of times a perpetual diff, per object', () => {
    const writes = new IdenticalWrites();
    for (let i = 0; i < maxIdenticalWrites; i++) {
      assert.equal(writes.exhausted('a', [['cores', '2']]), false);
      writes.accepted('a', [['cores', '2']]);
    }
    assert.equal(writes.exhausted('b', [['cores', '2']]), false, 'another object has its own count');
    assert.equal(writes.exhausted('a', [['cores', '2']]), true);
  });

  it('never counts a write that was not accepted', () => {
    const writes = new IdenticalWrites();
    // Three attempts that failed (a 500, a timeout): nothing was accepted, nothing is counted.
    for (let i = 0; i < 3; i++) assert.equal(writes.exhausted('a', [['cores', '2']]), false);
    writes.accepted('a', [['cores', '2']]);
    writes.accepted('a', [['cores', '2']]);
    writes.accepted('a', [['cores', '2']]);
    writes.rejected('a'); // the VM's config task that was to apply the third one failed
    assert.equal(writes.exhausted('a', [['cores', '2']]), false);
  });

  it('starts again for a different change, and after the object converged', () => {
    const writes = new IdenticalWrites();
    for (let i = 0; i < maxIdenticalWrites; i++) writes.accepted('a', { file: true });
    assert.equal(writes.exhausted('a', { file: false }), false);
    writes.settle('a');
    assert.equal(writes.exhausted('a', { file: true }), false);
  });
});
