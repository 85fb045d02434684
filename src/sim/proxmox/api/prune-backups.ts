/**
 * Which backups a retention keeps: pve-storage src/PVE/Storage/Plugin.pm prune_backups and
 * src/PVE/Storage.pm prune_mark_backup_group. Backups named as vzdump names them are grouped per
 * guest; each `keep-*` option keeps the newest backup of that many hours, days, ISO weeks, … not
 * yet covered, newest first. Times are bucketed in UTC, the simulated node's time zone.
 */
export interface PruneEntry {
  volid: string;
  ctime: number;
  type: string;
  vmid?: number;
  mark?: 'keep' | 'remove' | 'protected' | 'renamed';
}

/** pve-storage Storage.pm archive_info: `vzdump-<type>-<vmid>-<YYYY_MM_DD-hh_mm_ss>.<ext>`. */
export function archiveInfo(volid: string): { type: string; vmid: number; ctime: number } | undefined {
  const m = /vzdump-(qemu|lxc|openvz)-(\d+)-(\d{4})_(\d{2})_(\d{2})-(\d{2})_(\d{2})_(\d{2})\./.exec(volid);
  if (!m) return undefined;
  const [, type, vmid, y, mo, d, h, mi, s] = m;
  return { type: type!, vmid: Number(vmid), ctime: Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000 };
}

/** ISO 8601 week and week-year (`strftime('%V')`, `'%G'`). */
function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  return `${Math.ceil(((d.getTime() - yearStart) / 86400000 + 1) / 7)}/${d.getUTCFullYear()}`;
}

const BUCKETS: ReadonlyArray<readonly [string, (d: Date) => string]> = [
  ['keep-last', (d) => String(d.getTime())],
  ['keep-hourly', (d) => `${d.getUTCHours()}/${d.getUTCDate()}/${d.getUTCMonth()}/${d.getUTCFullYear()}`],
  ['keep-daily', (d) => `${d.getUTCDate()}/${d.getUTCMonth()}/${d.getUTCFullYear()}`],
  ['keep-weekly', isoWeek],
  ['keep-monthly', (d) => `${d.getUTCMonth()}/${d.getUTCFullYear()}`],
  ['keep-yearly', (d) => String(d.getUTCFullYear())],
];

function markGroup(group: PruneEntry[], keep: Readonly<Record<string, number>>): void {
  const positive = Object.keys(keep).filter((k) => k !== 'keep-all' && keep[k]! > 0);
  if (keep['keep-all'] || positive.length === 0) {
    for (const e of group) if (e.mark === undefined || e.mark === 'remove') e.mark = 'keep';
    return;
  }
  const list = [...group].sort((a, b) => b.ctime - a.ctime);
  for (const [option, id] of BUCKETS) {
    const count = keep[option];
    if (!count) continue;
    const already = new Set(list.filter((e) => e.mark === 'keep').map((e) => id(new Date(e.ctime * 1000))));
    const fresh = new Set<string>();
    for (const e of list) {
      const bucket = id(new Date(e.ctime * 1000));
      if (e.mark !== undefined || already.has(bucket)) continue;
      if (!fresh.has(bucket)) {
        if (fresh.size >= count) break;
        fresh.add(bucket);
        e.mark = 'keep';
      } else e.mark = 'remove';
    }
  }
  for (const e of list) e.mark ??= 'remove';
}

/** Marks every backup `keep`, `remove`, `protected` or `renamed` (not vzdump's naming: never pruned). */
export function markBackups(backups: ReadonlyArray<{ volid: string; ctime: number; vmid?: number; protected?: boolean }>, keep: Readonly<Record<string, number>>, type?: string): PruneEntry[] {
  const groups = new Map<string, PruneEntry[]>();
  const out: PruneEntry[] = [];
  for (const b of backups) {
    const info = archiveInfo(b.volid);
    const entry: PruneEntry = { volid: b.volid, ctime: info?.ctime ?? b.ctime, type: info?.type ?? 'unknown' };
    if (type !== undefined && type !== entry.type) continue;
    const vmid = info?.vmid ?? b.vmid;
    if (vmid !== undefined) entry.vmid = vmid;
    if (info) groups.set(`${info.type}/${info.vmid}`, [...(groups.get(`${info.type}/${info.vmid}`) ?? []), entry]);
    else entry.mark = 'renamed';
    if (b.protected) entry.mark = 'protected';
    out.push(entry);
  }
  for (const group of groups.values()) markGroup(group, keep);
  return out;
}
