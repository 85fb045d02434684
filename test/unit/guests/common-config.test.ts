import { strict as assert } from 'node:assert';
import type { PhoenixLXCSpec } from '../../../src/api/lxc.ts';
import type { PhoenixVMSpec } from '../../../src/api/vm.ts';
import { desiredLxcConfig } from '../../../src/guests/lxc-config.ts';
import { desiredVmConfig } from '../../../src/guests/vm-config.ts';
import { diffConfig } from '../../../src/guests/desired.ts';
import { describeWithMarker } from '../../../src/guests/marker.ts';

const owner = { uid: '11111111-2222-3333-4444-555555555555', ref: 'PhoenixVM default/db' };
const other = { uid: '99999999-8888-7777-6666-555555555555', ref: 'PhoenixVM default/db' };
/** Identity of a guest Phoenix made (name known) and of one it adopted or observes (name unset). */
const made = { name: 'db', owner };
const adopted = { name: undefined, owner };

const lxc: PhoenixLXCSpec = { hypervisorRef: { name: 'pve' }, node: 'pve1', adopt: { vmid: 120 } };
const vm: PhoenixVMSpec = { hypervisorRef: { name: 'pve' }, node: 'pve1', adopt: { vmid: 130 } };

describe('guest description (notes and ownership marker)', () => {
  const notes = 'Primary database\nowned by the DBA team';

  for (const [kind, desired] of [['container', (s: object, id: typeof made | typeof adopted) => desiredLxcConfig({ ...lxc, ...s }, id)], ['VM', (s: object, id: typeof made | typeof adopted) => desiredVmConfig({ ...vm, ...s }, id)]] as const) {
    describe(kind, () => {
      it('an adopted guest keeps its notes when the spec sets no description', () => {
        const { changes } = diffConfig(desired({}, adopted), { description: describeWithMarker(notes, owner) });
        assert.deepEqual(changes, []);
      });

      it('an adopted guest without the marker still needs it', () => {
        const { changes } = diffConfig(desired({}, adopted), { description: notes });
        assert.deepEqual(changes.map((c) => c.key), ['description']);
        const foreign = diffConfig(desired({}, adopted), { description: describeWithMarker(notes, other) });
        assert.deepEqual(foreign.changes.map((c) => c.key), ['description']);
      });

      it('an adopted guest gets the notes the spec sets', () => {
        const { changes } = diffConfig(desired({ description: 'Managed by Phoenix' }, adopted), { description: describeWithMarker(notes, owner) });
        assert.deepEqual(changes.map((c) => [c.key, c.value]), [['description', describeWithMarker('Managed by Phoenix', owner)]]);
      });

      it('a guest Phoenix made has exactly the notes its spec says, none when unset', () => {
        const { changes } = diffConfig(desired({}, made), { name: 'db', hostname: 'db', description: describeWithMarker(notes, owner) });
        assert.deepEqual(changes.map((c) => [c.key, c.value]), [['description', describeWithMarker(undefined, owner)]]);
      });
    });
  }
});
