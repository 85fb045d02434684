import { strict as assert } from 'node:assert';
import { maskSecrets, outputTail, tail } from '../../../src/provision/output.ts';

describe('step output', () => {
  it('masks every Secret value, a multi-line one line by line, the longest first', () => {
    assert.equal(maskSecrets('token=abc12345 and abc12345!', ['abc12345']), 'token=•••••• and ••••••!');
    assert.equal(maskSecrets('k: -----BEGIN-----\nMIIBsecretline\n', ['-----BEGIN-----\nMIIBsecretline\n-----END-----']), 'k: ••••••\n••••••\n');
    assert.equal(maskSecrets('pw=hunter2hunter', ['hunter2', 'hunter2hunter']), 'pw=••••••');
    assert.equal(maskSecrets('nothing here', ['', '   ']), 'nothing here', 'empty values mask nothing');
  });

  it('keeps the last lines, cut to a length', () => {
    assert.equal(tail('a\nb\nc\nd\n', 2, 100), 'c\nd');
    assert.equal(tail('0123456789', 5, 5), '…6789');
  });

  it('masks before it cuts, so no part of a secret survives the cut', () => {
    assert.equal(outputTail('xxxxSECRETVALUE', ['SECRETVALUE'], 20, 8), '…x••••••');
  });
});
