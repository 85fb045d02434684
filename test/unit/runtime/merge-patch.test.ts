import { strict as assert } from 'node:assert';
import { mergePatchOf } from '../../../src/runtime/status-writer.ts';

/** RFC 7386 applied, to check a patch does what it claims. */
function apply(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = apply(out[k], v);
  }
  return out;
}

describe('status merge patches', () => {
  it('removes a key inside a nested object, which a merge patch would otherwise keep', () => {
    const current = { created: { pools: ['a'], storages: ['s'] }, vmid: 100 };
    const next = { created: { pools: ['a'] }, vmid: 100 };
    const patch = mergePatchOf(current, next);
    assert.deepEqual(patch, { created: { storages: null } });
    assert.deepEqual(apply(current, patch), next);
  });

  it('replaces lists whole, removes top-level keys, and leaves equal values out', () => {
    const current = { drift: [{ field: 'cores' }], ips: ['10.0.0.1'], task: { upid: 'x' }, node: 'pve' };
    const next = { drift: [], ips: ['10.0.0.2'], node: 'pve', secretVersions: { a: '1' } };
    const patch = mergePatchOf(current, next);
    assert.deepEqual(patch, { drift: [], ips: ['10.0.0.2'], secretVersions: { a: '1' }, task: null });
    assert.deepEqual(apply(current, patch), next);
  });

  it('treats an undefined value as removal', () => {
    const current = { importedConfig: { memory: '512', cores: '1' } };
    const patch = mergePatchOf(current, { importedConfig: { memory: '512', cores: undefined } });
    assert.deepEqual(patch, { importedConfig: { cores: null } });
  });
});
