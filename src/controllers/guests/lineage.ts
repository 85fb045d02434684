/** The provisioned marker a template-to-be writes into its description before its conversion (provision/lineage.ts). */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { ownerMarkerPattern } from '../../guests/marker.ts';
import { readProvisioned, sameSteps, withProvisioned, type StepRef } from '../../provision/lineage.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestApi, GuestConfig } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';

/**
 * Writes the steps the guest holds into its description, unless it says so already. Part of the
 * conversion's preparation: a template's description is what its clones read.
 */
export async function markLineage<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi, holds: readonly StepRef[]): Promise<ReconcileResult | undefined> {
  if (!holds.length) return undefined;
  const config = await api.config();
  const description = String(config?.description ?? '');
  if (!config || sameSteps(readProvisioned(description), holds)) return undefined;
  let upid: string | undefined;
  try {
    upid = await api.updateConfig({ description: withProvisioned(description, holds, ownerMarkerPattern) }, [], config.digest);
  } catch (err) {
    if (isProxmoxError(err, 'TaskFailed')) return ctx.configTaskFailed(err);
    throw err;
  }
  const message = `recording the ${holds.length} provisioned step${holds.length === 1 ? '' : 's'} in the description, for the clones of the template`;
  if (upid) return ctx.trackTask(api, upid, 'configure', message, { reason: 'RecordingSteps' });
  await ctx.progress('RecordingSteps', message);
  return { requeueAfter: 100 };
}

/** What a clone copies, read from its source before the clone is sent. */
export interface CloneSource {
  /** The steps the clone inherits. */
  readonly inherited: { name: string; hash: string; source: string }[];
  /** The source's own config (undefined for a clone from a snapshot): what the clone's is made from. */
  readonly config?: GuestConfig;
}

/**
 * The steps a clone inherits: the marker in its source's description, that of the snapshot it
 * is cloned from, or the template's own; with the source's config, from the same read. Read
 * before the clone is sent, so what the clone copies and what it records are the same.
 */
export async function readCloneSource(api: GuestApi, sourceVmid: number, snapshot: string | undefined): Promise<CloneSource> {
  const { description, config } = await api.cloneSource(sourceVmid, snapshot);
  const source = `VMID ${sourceVmid}${snapshot ? `@${snapshot}` : ''}`;
  return { inherited: (readProvisioned(description) ?? []).map((s) => ({ ...s, source })), ...(config ? { config } : {}) };
}
