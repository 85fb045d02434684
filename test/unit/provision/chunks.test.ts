import { strict as assert } from 'node:assert';
import { base64Pieces } from '../../../src/provision/chunks.ts';

describe('agent file-write chunks', () => {
  it('sends a small file as one piece', () => {
    assert.deepEqual(base64Pieces('hello'), ['aGVsbG8=']);
    assert.deepEqual(base64Pieces(''), ['']);
  });

  it('cuts at the content limit in whole 4-character groups, each decodable alone', () => {
    const pieces = base64Pieces('abcdefghij', { maxContentChars: 8, maxEncodedChars: 1000 });
    assert.deepEqual(pieces, ['YWJjZGVm', 'Z2hpag==']);
    assert.equal(pieces.map((p) => Buffer.from(p, 'base64').toString()).join(''), 'abcdefghij');
  });

  it('counts +, / and = three times, as a form body encodes them', () => {
    // 0xfb 0xff 0xfe encodes as "+//+": 4 characters costing 12 in the body.
    const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe]);
    assert.deepEqual(base64Pieces(bytes, { maxContentChars: 1000, maxEncodedChars: 12 }), ['+//+', '+//+']);
  });

  it('keeps real pieces within qemu-server\'s 60 KiB and the 64 KiB POST limit', () => {
    const big = Buffer.alloc(300_000, 0xfb);
    const pieces = base64Pieces(big);
    assert.ok(pieces.length > 1);
    for (const p of pieces) {
      assert.ok(p.length <= 61_440, `piece of ${p.length} characters`);
      assert.ok(new URLSearchParams({ content: p }).toString().length <= 61_440 + 8);
    }
    assert.deepEqual(Buffer.concat(pieces.map((p) => Buffer.from(p, 'base64'))), big);
  });
});
