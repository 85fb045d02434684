/**
 * Differences between a guest and its spec as people read them: in events (one line naming
 * each option with its old and new value) and in `status.drift` records. Secrets are masked,
 * and the ownership marker is never shown as a difference of the notes.
 */
import type { ConfigChange, ConfigDiff } from './desired.ts';
import { stripMarker } from './marker.ts';
import { formatSize } from '../proxmox/size.ts';
import { maskedEnv } from './lxc-config.ts';
import { stampDrift, type DriftRecord } from '../controllers/drift-records.ts';


export function diffSummary(diff: ConfigDiff, extra: readonly Omit<DriftRecord, 'time'>[]): string {
  const parts = diff.changes.flatMap(reportable).map((c) => `${c.key}: ${maskSecret(c.key, c.observed ?? '(unset)')} → ${maskSecret(c.key, c.value ?? '(removed)')}`);
  for (const r of diff.resizes) parts.push(`${r.disk}: ${formatSize(r.fromBytes)} → ${formatSize(r.toBytes)}`);
  for (const r of extra) parts.push(`${r.field}: ${r.observed} → ${r.desired}${diff.shrinks.some((s) => s.disk === r.field) ? ' (refused: a disk is never shrunk)' : ''}`);
  return parts.length ? `differences: ${parts.join('; ')}` : 'no differences from the spec';
}

/** A description change as people read it: the notes without the marker; none when only the marker differs. */
function reportable(change: ConfigChange): ConfigChange[] {
  if (change.key !== 'description') return [change];
  const observed = stripMarker(change.observed ?? '').trim();
  const value = stripMarker(change.value ?? '').trim();
  return observed === value ? [] : [{ ...change, observed: observed || undefined, value: value || undefined }];
}

/** A firewall rule list on one line, for the adoption report. */
export function rulesText(rules: readonly Record<string, string>[]): string {
  const text = rules.map((r) => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(',')).join('; ') || '(none)';
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

export function maskSecret(key: string, value: string): string {
  if (key === 'env') return value.startsWith('(') ? value : maskedEnv(value);
  return /password|cipassword|sshkeys/i.test(key) ? '(secret)' : value;
}

/** Drift as status records; a difference already recorded keeps its time, so re-observing writes nothing. */
export function driftRecords(diff: ConfigDiff, corrected: boolean, previous: readonly DriftRecord[] = [], extra: readonly Omit<DriftRecord, 'time'>[] = []): DriftRecord[] {
  const records: Omit<DriftRecord, 'time'>[] = [...extra, ...diff.changes
    .flatMap(reportable)
    .map((c) => ({ field: c.fields.length ? `${c.key}.${c.fields.join(',')}` : c.key, observed: maskSecret(c.key, c.observed ?? '(unset)'), desired: maskSecret(c.key, c.value ?? '(removed)'), corrected }))];
  for (const r of diff.resizes) records.push({ field: r.disk, observed: formatSize(r.fromBytes), desired: formatSize(r.toBytes), corrected });
  return stampDrift(records, previous);
}
