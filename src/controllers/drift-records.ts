/**
 * `status.drift`, the same for every kind: a short list of differences found between Proxmox
 * (or Portainer) and the spec, newest first.
 */

export interface DriftRecord {
  field: string;
  observed?: string;
  desired?: string;
  time: string;
  corrected?: boolean;
}

const maxDriftRecords = 20;

/** Stamps records with the time; one already in `previous` keeps its time, so re-observing writes nothing. */
export function stampDrift(records: readonly Omit<DriftRecord, 'time'>[], previous: readonly DriftRecord[] = [], now = new Date().toISOString()): DriftRecord[] {
  const same = (r: Omit<DriftRecord, 'time'>) => previous.find((p) => p.field === r.field && p.observed === r.observed && p.desired === r.desired && p.corrected === r.corrected);
  return records.slice(0, maxDriftRecords).map((r) => ({ ...r, time: same(r)?.time ?? now }));
}

/** Corrections are a history: the new ones first, then the earlier ones not repeated. */
export function withDriftHistory(fresh: readonly DriftRecord[], previous: readonly DriftRecord[] = []): DriftRecord[] {
  return [...fresh, ...previous.filter((p) => !fresh.some((r) => r.field === p.field && r.time === p.time))].slice(0, maxDriftRecords);
}
