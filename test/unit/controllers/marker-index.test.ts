import { strict as assert } from 'node:assert';
import { MarkerIndex } from '../../../src/controllers/guests/marker-index.ts';
import type { ClusterGuest, ProxmoxGuests } from '../../../src/controllers/guests/guest-api.ts';

describe('the marker index', () => {
  it('reads each unknown guest once when many objects look at the same time', async () => {
    const reads: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const pve = {
      guest: (_node: string, _type: string, vmid: number) => ({
        config: async () => {
          reads.push(vmid);
          await gate;
          return { description: '', digest: 'x' };
        },
      }),
    } as unknown as ProxmoxGuests;
    const guests = [{ vmid: 9100, node: 'pve', type: 'lxc' }] as ClusterGuest[];
    const index = new MarkerIndex();
    // Six objects applied at once look for their marker in the same cluster list.
    const lookups = Array.from({ length: 6 }, (_, i) => index.find(pve, guests, `PhoenixLXC ns/ct-${i}`, 'lxc'));
    release();
    assert.deepEqual(await Promise.all(lookups), [[], [], [], [], [], []]);
    assert.deepEqual(reads, [9100]);
    await index.find(pve, guests, 'PhoenixLXC ns/ct-6', 'lxc');
    assert.deepEqual(reads, [9100], 'known since');
  });
});
