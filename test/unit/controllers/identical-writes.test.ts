import { strict as assert } from 'node:assert';
import { IdenticalWrites, maxIdenticalWrites } from '../../../src/controllers/identical-writes.ts';

describe('identical writes', () => {
  it('calls the same change written more than the limit a perpetual diff, per object', () => {
    const writes = new IdenticalWrites();
    for (let i = 0; i < maxIdenticalWrites; i++) assert.equal(writes.tooMany('a', [['cores', '2']]), false);
    assert.equal(writes.tooMany('b', [['cores', '2']]), false, 'another object has its own count');
    assert.equal(writes.tooMany('a', [['cores', '2']]), true);
  });

  it('starts again for a different change, and after the object converged', () => {
    const writes = new IdenticalWrites();
    for (let i = 0; i < maxIdenticalWrites; i++) writes.tooMany('a', { file: true });
    assert.equal(writes.tooMany('a', { file: false }), false);
    for (let i = 0; i < maxIdenticalWrites; i++) writes.tooMany('a', { file: true });
    writes.settle('a');
    assert.equal(writes.tooMany('a', { file: true }), false);
  });
});
