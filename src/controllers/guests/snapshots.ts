/** Declared snapshots and the automatic ones taken before restarts. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';
import { snapshotsAt, type SnapshotStage } from '../../provision/chain.ts';
import { withProvisioned, type StepRef } from '../../provision/lineage.ts';
import { ownerMarkerPattern } from '../../guests/marker.ts';

/** Snapshots Phoenix takes by itself before restarts; never counted as declared snapshots. */
const restartSnapshotPrefix = 'phoenix-restart-';

/**
 * Keeps the snapshots in spec.snapshots: takes the missing ones due at this stage of the guest's
 * pipeline (provision/chain.ts), and deletes those dropped from the list, but only if Phoenix
 * took them (status.snapshots). One task per reconcile. In steady state the list is not read:
 * snapshots are in the config file, so an unchanged digest means the list the converged
 * reconcile found complete. Each snapshot's description carries the provisioned marker of the
 * steps it holds (provision/lineage.ts), which clones made from it inherit.
 */
export async function ensureSnapshots<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi, isTemplate: boolean, steady: boolean, stage: SnapshotStage, holds: readonly StepRef[]): Promise<ReconcileResult | undefined> {
  const wanted = ctx.spec.snapshots ?? [];
  const managed = ctx.status.snapshots ?? [];
  if ((!wanted.length && !managed.length) || isTemplate || steady) return undefined;
  const inside = (ctx.spec.provision?.length ?? 0) > 0 || (ctx.spec.healthChecks?.length ?? 0) > 0;
  const due = snapshotsAt(stage, wanted, inside, (ctx.status.provision?.length ?? 0) > 0);
  // Dropped snapshots are deleted at the first stage only: the others read nothing when nothing is due.
  if (stage !== 'Configured' && !due.length) return undefined;
  const existing = new Set((await api.snapshots()).map((s) => s.name).filter((n) => n !== 'current'));
  const missing = due.find((s) => !existing.has(s.name));
  if (missing) {
    const description = holds.length ? withProvisioned(missing.description ?? '', holds, ownerMarkerPattern) : missing.description;
    const upid = await api.createSnapshot(missing.name, description);
    const when = inside ? (stage === 'BeforeProvisioning' ? ' before provisioning' : ' after provisioning') : '';
    await ctx.setup.events.normal(ctx.current, 'Snapshotting', 'Snapshot', `taking snapshot ${missing.name}${when}`);
    return ctx.trackTask(api, upid, 'snapshot', `taking snapshot ${missing.name}${when}`, { reason: 'Snapshotting', fields: { snapshots: [...new Set([...managed, missing.name])].sort() } });
  }
  if (stage !== 'Configured') return undefined;
  const dropped = managed.find((name) => !wanted.some((w) => w.name === name));
  if (dropped === undefined) return undefined;
  const remaining = managed.filter((name) => name !== dropped);
  if (!existing.has(dropped)) {
    await ctx.progress('SnapshotGone', `snapshot ${dropped} no longer exists`, { snapshots: remaining.length ? remaining : undefined });
    return { requeueAfter: 100 };
  }
  const upid = await api.deleteSnapshot(dropped);
  await ctx.setup.events.normal(ctx.current, 'SnapshotDeleting', 'Snapshot', `deleting snapshot ${dropped}, dropped from spec.snapshots`);
  return ctx.trackTask(api, upid, 'snapshot-delete', `deleting snapshot ${dropped}`, { reason: 'SnapshotDeleting', fields: { snapshots: remaining.length ? remaining : undefined } });
}

/**
 * With spec.snapshotBeforeRestart, a restart that applies pending changes is preceded by a
 * snapshot (phoenix-restart-<time>), so the change can be rolled back.
 */
export async function snapshotBeforeRestart<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi): Promise<ReconcileResult | undefined> {
  if (!ctx.spec.snapshotBeforeRestart) return undefined;
  const last = ctx.status.lastTask;
  if (last?.operation === 'restart-snapshot' && last.exitStatus === 'OK') return undefined;
  const name = `${restartSnapshotPrefix}${new Date().toISOString().replace(/[-:T.Z]/g, '')}`;
  const upid = await api.createSnapshot(name, 'taken by Phoenix before a restart that applies pending changes');
  await ctx.setup.events.normal(ctx.current, 'Snapshotting', 'Snapshot', `taking snapshot ${name} before restarting`);
  return ctx.trackTask(api, upid, 'restart-snapshot', `taking snapshot ${name} before restarting`);
}

/**
 * Keeps the newest `snapshotBeforeRestart.keep` automatic snapshots, deleting older ones, once
 * a restart is done. In steady state the list is not read again (see ensureSnapshots).
 */
export async function pruneRestartSnapshots<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi, steady: boolean): Promise<ReconcileResult | undefined> {
  const keep = ctx.spec.snapshotBeforeRestart?.keep ?? 3;
  if (!ctx.spec.snapshotBeforeRestart || ctx.status.lastTask?.operation !== 'reboot' || steady) return undefined;
  const automatic = (await api.snapshots()).map((s) => s.name).filter((n) => n.startsWith(restartSnapshotPrefix)).sort();
  const oldest = automatic.length > keep ? automatic[0] : undefined;
  if (!oldest) return undefined;
  const upid = await api.deleteSnapshot(oldest);
  return ctx.trackTask(api, upid, 'snapshot-delete', `deleting automatic snapshot ${oldest} (keeping ${keep})`);
}
