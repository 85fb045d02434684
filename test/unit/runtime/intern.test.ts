import { strict as assert } from 'node:assert';
import { internStrings } from '../../../src/runtime/intern.ts';
import { retainedBytes } from './retained-heap.ts';

/** A fresh copy of the same 1,000 characters each call, as JSON.parse gives each object its own. */
const longValue = (): string => JSON.parse(JSON.stringify(`WaitingForHypervisor: ${'x'.repeat(978)}`)) as string;

describe('internStrings', () => {
  it('changes no value, however deeply nested', () => {
    const document = { a: 'one', b: [1, 'two', { c: 'three', d: null, e: true }], f: { g: ['x', ['y']] }, h: '12', i: '__proto__' };
    const copy = structuredClone(document);
    assert.deepEqual(internStrings(document), copy);
    assert.equal(Object.getPrototypeOf(document), Object.prototype);
  });

  it('keeps one copy of a string that 4,000 objects hold', async () => {
    const count = 4_000;
    const plain = await retainedBytes(() => Array.from({ length: count }, () => ({ message: longValue() })));
    const interned = await retainedBytes(() => Array.from({ length: count }, () => internStrings({ message: longValue() })));
    // 4,000 copies of 1,000 one-byte characters are 4 MB; the objects around them about 0.1 MB.
    assert.ok(plain > 3_900_000, `the copies take ${plain} bytes`);
    assert.ok(interned < 500_000, `interned, they take ${interned} bytes`);
  });
});
