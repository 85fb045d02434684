// convergePool against Proxmox's answers, with the guest's context, connection and API faked.
import assert from 'node:assert/strict';
import { convergePool } from '../../../src/controllers/guests/converge-pool.ts';
import { ProxmoxApiError } from '../../../src/clients/proxmox/errors.ts';
import type { GuestContext } from '../../../src/controllers/guests/guest-context.ts';
import type { Connection } from '../../../src/controllers/hypervisor/connections.ts';
import type { GuestApi } from '../../../src/controllers/guests/guest-api.ts';

function fakes(listedPool: string | undefined, refusal: ProxmoxApiError) {
  const events: string[] = [];
  const ctx = {
    spec: { pool: 'web' },
    observePeriodMs: () => 60_000,
    convergedAtThisGeneration: () => false,
    current: {},
    setup: { events: { normal: async (_o: unknown, _r: string, _a: string, note: string) => void events.push(note) } },
  } as unknown as GuestContext<never>;
  const connection = { resources: { guest: async () => ({ vmid: 100, pool: listedPool }) } } as unknown as Connection;
  let moves = 0;
  const api = {
    vmid: 100,
    moveToPool: async () => {
      moves++;
      throw refusal;
    },
  } as unknown as GuestApi;
  return { ctx, connection, api, events, moves: () => moves };
}

describe('convergePool', () => {
  it('takes "already a pool member" as done: the list was older than the membership', async () => {
    // The exact text of pve-manager PVE/API2/Pool.pm inside lock_user_config's prefix.
    const refusal = new ProxmoxApiError({ kind: 'ServerError', status: 500, message: 'update pools failed: VM 100 is already a pool member', method: 'PUT', path: '/pools' });
    const f = fakes('batch', refusal);
    assert.equal(await convergePool(f.ctx, f.connection, f.api, false), undefined);
    assert.equal(f.moves(), 1);
    assert.deepEqual(f.events, [], 'nothing moved, so nothing to report');
  });

  it('still fails on any other refusal', async () => {
    const refusal = new ProxmoxApiError({ kind: 'ServerError', status: 500, message: "update pools failed: VM 100 belongs already to pool 'x' and 'allow-move' is not set", method: 'PUT', path: '/pools' });
    const f = fakes('batch', refusal);
    await assert.rejects(convergePool(f.ctx, f.connection, f.api, false), /allow-move/);
  });
});
