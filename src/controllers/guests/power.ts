/** A guest's template conversion and power state, in start order, and the restart that applies pending changes. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { parseDuration } from '../../runtime/config.ts';
import { stampDrift } from '../drift-records.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import { snapshotBeforeRestart } from './snapshots.ts';
import { startsAfter } from './start-order.ts';
import { templateNext } from '../../provision/chain.ts';

/**
 * Converts the guest to a template when the spec says so, else brings it to its power state:
 * started only after the guests it starts after, shut down gracefully.
 *
 * A template-to-be with steps or checks first runs like any guest until they are all done
 * (`finished`, read from status: provision/chain.ts), then is shut down cleanly and converted.
 * Conversion is only ever sent for a guest Proxmox reports stopped just before, so a controller
 * killed between the shutdown and the conversion converts on its next reconcile, and a guest
 * started meanwhile by someone else is shut down again first, never converted while it runs.
 * `beforeConversion` writes what clones inherit into the guest's description.
 *
 * A guest kept `powerState: Stopped` with steps or checks goes the same way without the
 * conversion: started while they are not all done, shut down cleanly once they are. `finished`
 * comes from status alone, so a controller killed after the steps shuts it down, never runs
 * them again.
 */
export async function convergeTemplateAndPower<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi, isTemplate: boolean, running: boolean, finished: boolean, beforeConversion: () => Promise<ReconcileResult | undefined>): Promise<ReconcileResult | undefined> {
  const next = ctx.spec.template && !isTemplate ? templateNext(finished, running) : undefined;
  if (next === 'shutdown') return ctx.powerTask(api, 'shutdown', () => api.shutdown(shutdownSeconds(ctx)), `shutting down cleanly before the conversion to a template (hard stop after ${shutdownSeconds(ctx)} s)`);
  if (next === 'convert') {
    if ((await api.currentStatus()).status !== 'stopped') return { requeueAfter: 500 };
    const prepared = await beforeConversion();
    if (prepared) return prepared;
    const upid = await api.convertToTemplate();
    await ctx.setup.events.normal(ctx.current, 'Templated', 'Template', `converted VMID ${api.vmid} to a template`);
    if (upid) return ctx.trackTask(api, upid, 'template', 'converting to a template');
    return { requeueAfter: 500 };
  }
  const keptStopped = !isTemplate && !ctx.spec.template && ctx.spec.powerState === 'Stopped';
  // A guest kept Stopped with work inside runs until it is done (`finished` is only ever false
  // for one: see provision/chain.ts), then goes back to Stopped.
  const provisioning = keptStopped && !finished;
  const wantRunning = next === 'run' || provisioning || (!isTemplate && (ctx.spec.powerState ?? (ctx.spec.template ? 'Stopped' : 'Running')) === 'Running');
  if (wantRunning && !running) {
    const earlier = startOrderBlockers(ctx);
    if (earlier.length) {
      await ctx.progress('WaitingForStartOrder', `starts after ${earlier.join(', ')} (startup order ${ctx.spec.startup?.order})`);
      return { requeueAfter: 30_000 };
    }
    if (provisioning) {
      // The checks must pass again in this run, not by what they said before the last shutdown:
      // forgotten before the start, so a restart after it cannot take the old passes for new ones.
      if (ctx.status.healthChecks) await ctx.progress('StartingToProvision', 'starting to provision; kept Stopped afterwards', { healthChecks: undefined });
      return ctx.powerTask(api, 'start', () => api.start(), 'starting to provision (powerState Stopped: shut down again once provisioned)');
    }
    return ctx.powerTask(api, 'start', () => api.start(), 'starting', await powerDrift(ctx, 'Stopped', 'Running'));
  }
  if (!wantRunning && running) {
    const timeout = shutdownSeconds(ctx);
    return ctx.powerTask(api, 'shutdown', () => api.shutdown(timeout), `shutting down (hard stop after ${timeout} s)`, await powerDrift(ctx, 'Running', 'Stopped'));
  }
  return undefined;
}

function shutdownSeconds<O extends GuestObject>(ctx: GuestContext<O>): number {
  return Math.max(1, Math.round(parseDuration(ctx.spec.shutdownTimeout ?? '3m') / 1000));
}

/** With restartPolicy IfRequired, restarts a running guest that has pending changes (after a snapshot, when asked). */
export async function restartForPending<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi, pending: readonly string[], running: boolean): Promise<ReconcileResult | undefined> {
  if (!pending.length || !running || ctx.spec.restartPolicy !== 'IfRequired') return undefined;
  const snapshot = await snapshotBeforeRestart(ctx, api);
  if (snapshot) return snapshot;
  return ctx.powerTask(api, 'reboot', () => api.reboot(), `restarting to apply ${pending.join(', ')}`);
}

/** Guests on the same hypervisor with a lower start order that are not running yet. */
function startOrderBlockers<O extends GuestObject>(ctx: GuestContext<O>): string[] {
  return ctx.shared.peers
    .startOrdered(ctx.spec.hypervisorRef.name)
    .filter((p) => p.metadata.uid !== ctx.current.metadata.uid && startsAfter(ctx.current, p) && (p.status as { powerState?: string } | undefined)?.powerState !== 'Running')
    .map((p) => `${p.kind ?? 'guest'} ${p.metadata.name}`);
}

/**
 * A guest that was converged in one power state and is found in the other was started or
 * stopped outside Phoenix: that is drift like any option's, reported the same way.
 */
async function powerDrift<O extends GuestObject>(ctx: GuestContext<O>, observed: 'Running' | 'Stopped', desired: 'Running' | 'Stopped'): Promise<Record<string, unknown>> {
  if (!ctx.convergedAtThisGeneration() || ctx.status.powerState !== desired) return {};
  const record = { field: 'powerState', observed, desired, corrected: true };
  return { drift: await ctx.reportCorrectedDrift(ctx.deps.driftCorrections, stampDrift([record], ctx.status.drift), ['powerState']) };
}
