/** Adopting a guest Phoenix did not create: report every difference first, then mark it. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { type ConfigDiff, diffConfig } from '../../guests/desired.ts';
import { describeWithMarker, stripMarker } from '../../guests/marker.ts';
import { importedConfig } from '../../guests/imported-config.ts';
import { diffSummary, driftRecords, rulesText } from '../../guests/drift-report.ts';
import type { DriftRecord } from '../drift-records.ts';
import { desiredRule, observedRule, optionChanges, planRules } from '../../guests/firewall.ts';
import { formatSize } from '../../proxmox/size.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestApi, GuestConfig } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

/**
 * Adoption in two steps: first record the guest as found and report every difference from
 * the spec, changing nothing; then, on the next reconcile, mark it and converge it.
 */
export async function adopt<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, config: GuestConfig): Promise<ReconcileResult> {
  const diff = diffConfig(ctx.adapter.desired(ctx.current, ctx.identity, ctx.secrets(), config), config);
  if (!ctx.status.adopted) {
    const extra = await adoptionDifferences(ctx, connection, api, config, diff);
    // Without spec.description the notes stay as they are; adding the marker is no difference.
    const report = ctx.spec.description === undefined ? { ...diff, changes: diff.changes.filter((c) => c.key !== 'description') } : diff;
    const drift = driftRecords(report, false, ctx.status.drift, extra);
    const kept = diff.shrinks.length ? ` (${diff.shrinks.map((s) => s.disk).join(', ')} will not be shrunk)` : '';
    await ctx.setup.events.normal(ctx.current, 'AdoptionPlanned', 'Adopt', `found ${ctx.adapter.type} ${api.vmid}; ${diffSummary(report, extra)}`);
    await ctx.progress('Adopting', `found guest ${api.vmid}; ${drift.length} differences from the spec will be converged${kept}`, { adopted: true, importedConfig: importedConfig(config), drift: drift.length ? drift : undefined });
    return { requeueAfter: 100 };
  }
  await api.updateConfig({ description: describeWithMarker(stripMarker(String(config.description ?? '')), ctx.identity.owner) }, [], config.digest);
  connection.markers.note(api.vmid, api.node, api.type, ctx.identity.owner);
  await ctx.setup.events.normal(ctx.current, 'Adopted', 'Adopt', `guest ${api.vmid} now carries Phoenix's marker`);
  // Adopted where it was found: Phoenix migrates it only if spec.node changes later.
  await ctx.progress('Adopted', `guest ${api.vmid} now carries Phoenix's marker`, { vmid: api.vmid, node: api.node, targetNode: ctx.spec.node });
  return { requeueAfter: 100 };
}

/**
 * What converging an adopted guest would do beyond its config, for the adoption report:
 * disks larger than the spec (never shrunk), template, power, snapshots, firewall.
 */
async function adoptionDifferences<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, config: GuestConfig, diff: ConfigDiff): Promise<Omit<DriftRecord, 'time'>[]> {
  const records: Omit<DriftRecord, 'time'>[] = diff.shrinks.map((s) => ({ field: s.disk, observed: formatSize(s.fromBytes), desired: formatSize(s.toBytes), corrected: false }));
  const add = (field: string, observed: string, desired: string) => records.push({ field, observed, desired, corrected: false });
  const isTemplate = String(config.template ?? '0') === '1';
  if (ctx.spec.template && !isTemplate) add('template', 'false', 'true');
  if (!isTemplate) {
    const wantRunning = (ctx.spec.powerState ?? (ctx.spec.template ? 'Stopped' : 'Running')) === 'Running';
    const running = (await api.currentStatus()).status === 'running';
    if (wantRunning !== running) add('powerState', running ? 'Running' : 'Stopped', wantRunning ? 'Running' : 'Stopped');
    const existing = ctx.spec.snapshots?.length ? (await api.snapshots()).map((s) => s.name).filter((n) => n !== 'current') : [];
    const missing = (ctx.spec.snapshots ?? []).map((s) => s.name).filter((n) => !existing.includes(n));
    if (missing.length) add('snapshots', existing.join(', ') || '(none)', [...existing, ...missing].join(', '));
  }
  if (ctx.spec.pool !== undefined) {
    const pool = (await connection.resources.guest(api.vmid, Date.now()))?.pool;
    if (pool !== ctx.spec.pool) add('pool', pool ?? '(none)', ctx.spec.pool);
  }
  const firewall = ctx.spec.firewall;
  if (firewall) {
    const options = await api.firewallOptions();
    for (const [key, value] of Object.entries(optionChanges(firewall, options))) add(`firewall.${key}`, options[key] === undefined ? '(unset)' : String(options[key]), value);
    if (firewall.rules !== undefined) {
      const desired = firewall.rules.map(desiredRule);
      const observed = (await api.firewallRules()).map(observedRule);
      if (planRules(desired, observed).length) add('firewall.rules', rulesText(observed), rulesText(desired));
    }
  }
  return records;
}
