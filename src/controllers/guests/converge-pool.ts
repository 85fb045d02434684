import type { ReconcileResult } from '../../runtime/controller.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { stampDrift } from '../drift-records.ts';
import type { Connection } from '../hypervisor/connections.ts';
import { freshSince } from '../observe-cycle.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

/**
 * Keeps the guest in spec.pool. Membership is not part of the config (nor its digest), so it
 * is read from the cycle's resources list, or from a fresh one while the guest is changing.
 */
export async function convergePool<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, steady: boolean): Promise<ReconcileResult | undefined> {
  const pool = ctx.spec.pool;
  if (pool === undefined) return undefined;
  const seen = await connection.resources.guest(api.vmid, steady ? freshSince(Date.now(), ctx.observePeriodMs()) : Date.now());
  if (!seen || seen.pool === pool) return undefined;
  try {
    await api.moveToPool(pool);
  } catch (err) {
    // pve-manager API2/Pool.pm: "pool '<id>' does not exist" (classified NotFound by its exact form).
    if (isProxmoxError(err, 'NotFound') && /pool '[^']+' does not exist/.test(err.message)) {
      throw new TerminalError('PoolNotFound', `pool ${pool} does not exist in Proxmox; create it (e.g. in the PhoenixHypervisor's spec.pools) or change spec.pool`);
    }
    // pve-manager API2/Pool.pm refuses to add a guest to the pool it is in ("update pools failed:
    // VM 100 is already a pool member"): the list said otherwise because it was older than the
    // membership, so the guest is where it should be and there is nothing to do or report.
    if (isProxmoxError(err) && /\bVM \d+ is already a pool member\b/.test(err.message)) return undefined;
    throw err;
  }
  const from = seen.pool ?? '(none)';
  if (ctx.convergedAtThisGeneration()) {
    const drift = await ctx.reportCorrectedDrift(ctx.deps.driftCorrections, stampDrift([{ field: 'pool', observed: from, desired: pool, corrected: true }], ctx.status.drift), ['pool']);
    await ctx.progress('DriftCorrected', 'set back pool, changed outside Phoenix', { drift });
  } else {
    await ctx.setup.events.normal(ctx.current, 'Configured', 'Update', `moved from pool ${from} to pool ${pool}`);
  }
  return { requeueAfter: 100 };
}
