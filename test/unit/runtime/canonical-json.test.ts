import { strict as assert } from 'node:assert';
import { canonicalJson } from '../../../src/runtime/canonical-json.ts';

describe('canonical JSON', () => {
  it('gives one string for equal data whatever the order of keys, nested ones too, and keeps array order', () => {
    const a = canonicalJson({ source: { clone: { vmid: 9100, full: true } }, type: 'lxc', cores: 2, list: [2, 1] });
    const b = canonicalJson({ type: 'lxc', list: [2, 1], cores: 2, source: { clone: { full: true, vmid: 9100 } } });
    assert.equal(a, b);
    assert.equal(a, '{"cores":2,"list":[2,1],"source":{"clone":{"full":true,"vmid":9100}},"type":"lxc"}');
    assert.notEqual(canonicalJson({ list: [1, 2] }), canonicalJson({ list: [2, 1] }));
  });
});
