/** Declared snapshots and the automatic ones taken before restarts. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

/** Snapshots Phoenix takes by itself before restarts; never counted as declared snapshots. */
const restartSnapshotPrefix = 'phoenix-restart-';

/**
 * Keeps the snapshots in spec.snapshots: takes missing ones, and deletes those dropped from
 * the list, but only if Phoenix took them (status.snapshots). One task per reconcile. In steady
 * state the list is not read: snapshots are in the config file, so an unchanged digest means
 * the list the converged reconcile found complete.
 */
export async function ensureSnapshots<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi, isTemplate: boolean, steady: boolean): Promise<ReconcileResult | undefined> {
  const wanted = ctx.spec.snapshots ?? [];
  const managed = ctx.status.snapshots ?? [];
  if ((!wanted.length && !managed.length) || isTemplate || steady) return undefined;
  const existing = new Set((await api.snapshots()).map((s) => s.name).filter((n) => n !== 'current'));
  const missing = wanted.find((s) => !existing.has(s.name));
  if (missing) {
    const upid = await api.createSnapshot(missing.name, missing.description);
    await ctx.setup.events.normal(ctx.current, 'Snapshotting', 'Snapshot', `taking snapshot ${missing.name}`);
    return ctx.trackTask(api, upid, 'snapshot', `taking snapshot ${missing.name}`, { reason: 'Snapshotting', fields: { snapshots: [...new Set([...managed, missing.name])].sort() } });
  }
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
