import { strict as assert } from 'node:assert';
import { diffSummary, driftRecords } from '../../../src/guests/drift-report.ts';
import { describeWithMarker } from '../../../src/guests/marker.ts';
import type { ConfigDiff } from '../../../src/guests/desired.ts';

const owner = { uid: '0f9c2d1e-5b7a-4c3d-9e8f-112233445566', ref: 'PhoenixVM ns/db' };
const GiB = 2 ** 30;

describe('drift as people read it', () => {
  const diff: ConfigDiff = {
    changes: [
      { key: 'cores', value: '2', observed: '6', fields: [] },
      { key: 'cipassword', value: 'hunter2', observed: '**********', fields: [] },
      { key: 'net0', value: 'virtio,bridge=vmbr0,tag=20', observed: 'virtio,bridge=vmbr0,tag=30', fields: ['tag'] },
      // Only the marker differs: not a difference anyone needs to see.
      { key: 'description', value: describeWithMarker('notes', owner), observed: 'notes', fields: [] },
    ],
    resizes: [{ disk: 'scsi0', fromBytes: 8 * GiB, toBytes: 16 * GiB }],
    shrinks: [],
  };

  it('names each option with old and new values, masks secrets, and leaves the marker out', () => {
    const text = diffSummary(diff, []);
    assert.equal(text, 'differences: cores: 6 → 2; cipassword: (secret) → (secret); net0: virtio,bridge=vmbr0,tag=30 → virtio,bridge=vmbr0,tag=20; scsi0: 8G → 16G');
    assert.ok(!text.includes('hunter2'));
  });

  it('keeps the time of a difference already recorded, so observing it again writes nothing', () => {
    const first = driftRecords(diff, false);
    assert.deepEqual(first.map((r) => r.field), ['cores', 'cipassword', 'net0.tag', 'scsi0']);
    const again = driftRecords(diff, false, [{ ...first[0]!, time: '2026-01-01T00:00:00.000Z' }]);
    assert.equal(again[0]!.time, '2026-01-01T00:00:00.000Z');
  });
});
