import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { HostStep } from './plan.ts';
import { createdButNotWanted, text } from './plan.ts';

export type PoolSpec = NonNullable<PhoenixHypervisorSpec['pools']>[number];

export interface ObservedPool {
  poolid: string;
  comment?: string;
  /** Members, when the I/O layer read them (only for pools Phoenix may remove). */
  members?: number;
}

/**
 * Resource pools: missing ones are created, a declared comment is kept. A pool dropped from
 * the spec is removed only if Phoenix created it and it is empty; any other pool is never
 * touched, whatever its name.
 */
export function planPools(desired: readonly PoolSpec[] | undefined, observed: readonly ObservedPool[], created: readonly string[]): HostStep[] {
  const steps: HostStep[] = [];
  const byId = new Map(observed.map((p) => [p.poolid, p]));
  for (const pool of desired ?? []) {
    const have = byId.get(pool.id);
    if (!have) {
      steps.push({
        item: `pool ${pool.id}`,
        why: `create pool ${pool.id}`,
        call: { method: 'POST', path: '/pools', params: { poolid: pool.id, ...(pool.comment !== undefined ? { comment: pool.comment } : {}) } },
        safe: true,
        differences: [{ field: `pools[${pool.id}]`, observed: '(missing)', desired: 'present' }],
        records: { kind: 'pools', id: pool.id },
      });
      continue;
    }
    if (pool.comment !== undefined && (have.comment ?? '') !== pool.comment) {
      steps.push({
        item: `pool ${pool.id}`,
        why: `set the comment of pool ${pool.id}`,
        call: { method: 'PUT', path: '/pools', params: { poolid: pool.id, comment: pool.comment } },
        safe: true,
        differences: [{ field: `pools[${pool.id}].comment`, observed: text(have.comment), desired: pool.comment }],
      });
    }
  }
  for (const id of createdButNotWanted(desired, created)) {
    const have = byId.get(id);
    if (!have) {
      // Removed outside Phoenix: there is nothing left to remove, only a record to drop.
      steps.push({ item: `pool ${id}`, why: `forget pool ${id}, removed outside Phoenix`, safe: true, differences: [], forgets: { kind: 'pools', id } });
      continue;
    }
    const members = have.members ?? 0;
    steps.push({
      item: `pool ${id}`,
      why: `remove pool ${id}, which Phoenix created and the spec no longer lists`,
      call: { method: 'DELETE', path: '/pools', params: { poolid: id } },
      safe: members === 0,
      ...(members > 0 ? { refusal: `pool ${id} was removed from spec.pools but still has ${members} members; Phoenix removes only empty pools. Move its guests and storages out, or list it again` } : {}),
      differences: [],
      forgets: { kind: 'pools', id },
    });
  }
  return steps;
}
