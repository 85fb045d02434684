/** managementPolicy: Observe, which reads and reports a guest and never writes to Proxmox, not even on delete. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { diffConfig } from '../../guests/desired.ts';
import { importedConfig } from '../../guests/imported-config.ts';
import { driftRecords } from '../../guests/drift-report.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestContext } from './guest-context.ts';
import { locate } from './identity.ts';
import type { GuestObject } from './adapter.ts';

/** Observe mode: read and report, never write to Proxmox. */
export async function observeOnly<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection): Promise<ReconcileResult | void> {
  const vmid = ctx.status.vmid ?? ctx.spec.vmid ?? ctx.spec.adopt?.vmid ?? (ctx.spec.adopt?.name ? await ctx.findByName(connection, ctx.spec.adopt.name) : undefined);
  if (vmid === undefined) throw new TerminalError('NothingToObserve', 'managementPolicy Observe needs spec.vmid or spec.adopt to find the guest');
  // Found wherever it lives: a guest moved by HA or a person is observed where it is.
  const { api, config } = await locate(ctx, connection, vmid);
  if (!config) {
    await ctx.progress('GuestNotFound', `observing: no ${ctx.adapter.type} guest ${vmid} in the cluster`, { vmid, node: ctx.spec.node });
    return { requeueAfter: ctx.nextCycle() };
  }
  const diff = diffConfig(ctx.adapter.desired(ctx.current, ctx.identity, ctx.secrets(), config), config);
  // The description carries no marker in Observe mode, so it is not a difference worth reporting.
  const changes = diff.changes.filter((c) => c.key !== 'description');
  // Observe mode never acts, so this cycle's snapshot cannot predate an action of Phoenix's own.
  const power = await ctx.powerFromCycle(connection, api);
  const drift = driftRecords({ ...diff, changes }, false, ctx.status.drift);
  ctx.converged = true;
  await ctx.write({
    phase: 'ready',
    reason: 'Observed',
    message: `observing VMID ${vmid} (no changes made): ${changes.length + diff.resizes.length} differences from the spec`,
    fields: { vmid, node: api.node, powerState: power === 'running' ? 'Running' : 'Stopped', drift: drift.length ? drift : undefined, importedConfig: importedConfig(config), configDigest: config.digest },
  });
  return { requeueAfter: ctx.nextCycle() };
}
