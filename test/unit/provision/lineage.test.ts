import { strict as assert } from 'node:assert';
import { lineage, readProvisioned, sameSteps, stripProvisioned, withProvisioned } from '../../../src/provision/lineage.ts';
import { describeWithMarker, ownerMarkerPattern, readMarker } from '../../../src/guests/marker.ts';

describe('the provisioned marker clones inherit', () => {
  const owner = { uid: '0b7e6a52-3c1f-4d2e-9a8b-1c2d3e4f5a6b', ref: 'PhoenixVM default/base' };
  const hashA = 'a'.repeat(64);
  const hashB = '0123456789abcdef'.repeat(4);
  const steps = [{ name: 'base', hash: hashA }, { name: 'cuda-12', hash: hashB }];

  it('goes on the line before the ownership marker, which stays last and readable', () => {
    const text = withProvisioned(describeWithMarker('GPU base image', owner), steps, ownerMarkerPattern);
    assert.equal(text, `GPU base image\n\n<!-- phoenix:provisioned base=${hashA} cuda-12=${hashB} -->\n<!-- phoenix:owner uid=${owner.uid} ref=PhoenixVM default/base -->`);
    assert.deepEqual(readMarker(text), owner);
    assert.deepEqual(readProvisioned(text), steps);
  });

  it('strips back to exactly what the ownership marker alone would be, with or without notes', () => {
    for (const notes of ['GPU base image', undefined]) {
      const plain = describeWithMarker(notes, owner);
      assert.equal(stripProvisioned(withProvisioned(plain, steps, ownerMarkerPattern)), plain);
      // Adoption writes the owner marker after notes that already hold the provisioned marker.
      assert.equal(stripProvisioned(describeWithMarker(withProvisioned(notes ?? '', steps, ownerMarkerPattern), owner)), plain);
    }
  });

  it('replaces an older marker instead of adding a second one', () => {
    const once = withProvisioned(describeWithMarker(undefined, owner), [steps[0]!], ownerMarkerPattern);
    const twice = withProvisioned(once, steps, ownerMarkerPattern);
    assert.equal(twice.match(/phoenix:provisioned/g)?.length, 1);
    assert.deepEqual(readProvisioned(twice), steps);
  });

  it('stands alone in a snapshot description, which has no ownership marker', () => {
    const text = withProvisioned('Base image after setup', steps, ownerMarkerPattern);
    assert.equal(text, `Base image after setup\n\n<!-- phoenix:provisioned base=${hashA} cuda-12=${hashB} -->`);
    assert.deepEqual(readProvisioned(text), steps);
    assert.deepEqual(readProvisioned(withProvisioned('', [], ownerMarkerPattern)), []);
  });

  it('reads nothing from a description without it', () => {
    assert.equal(readProvisioned('just notes'), undefined);
    assert.equal(readProvisioned(undefined), undefined);
  });

  it('passes on what was inherited, then the guest\'s own steps', () => {
    assert.deepEqual(lineage([{ name: 'base', hash: hashA, source: 'VMID 900' } as never], [{ name: 'cuda-12', hash: hashB, phase: 'Succeeded' } as never]), steps);
    assert.equal(sameSteps(steps, steps.map((s) => ({ ...s }))), true);
    assert.equal(sameSteps(undefined, steps), false);
    assert.equal(sameSteps([steps[1]!, steps[0]!], steps), false);
  });
});
