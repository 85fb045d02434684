import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { Difference, HostStep, ParamValue, SpecProblem } from './plan.ts';
import { createdButNotWanted, flag, sameSet, splitList } from './plan.ts';

export type StorageSpec = NonNullable<PhoenixHypervisorSpec['storages']>[number];

/** A storage definition as `GET /storage` lists it, plus guest volumes when they were counted. */
export interface ObservedStorage {
  storage: string;
  type: string;
  content?: string;
  nodes?: string;
  shared?: number | string;
  disable?: number | string;
  [option: string]: unknown;
  /** Guest volumes (images, rootdir) on it, when the I/O layer counted them. */
  volumes?: number;
}

/** Options Proxmox fixes when a storage is created (`fixed` in the storage plugins' schema). */
const fixedOptions: readonly { spec: keyof StorageSpec; option: string }[] = [
  { spec: 'path', option: 'path' },
  { spec: 'server', option: 'server' },
  { spec: 'export', option: 'export' },
  { spec: 'share', option: 'share' },
  { spec: 'pool', option: 'pool' },
  { spec: 'vgName', option: 'vgname' },
  { spec: 'thinPool', option: 'thinpool' },
];


/** The create parameters of a storage, as `pvesm add` takes them. */
function createParams(s: StorageSpec): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = { storage: s.id, type: s.type, content: [...s.content].sort().join(',') };
  for (const { spec, option } of fixedOptions) {
    const value = s[spec];
    if (typeof value === 'string') params[option] = value;
  }
  if (s.nodes?.length) params['nodes'] = [...s.nodes].sort().join(',');
  if (s.shared !== undefined) params['shared'] = s.shared ? 1 : 0;
  if (s.enabled === false) params['disable'] = 1;
  return params;
}

/**
 * Storage definitions: missing ones are created, the options Proxmox lets change (content,
 * nodes, shared, enabled) are kept as declared. Options fixed at creation (type, path,
 * server, pool…) are never "fixed" by re-creating: a difference there stalls with the
 * field named. A storage dropped from the spec is removed only if Phoenix created it and no
 * guest volume lives on it; removing a definition never touches the data on it.
 */
export function planStorages(desired: readonly StorageSpec[] | undefined, observed: readonly ObservedStorage[], created: readonly string[]): HostStep[] {
  const steps: HostStep[] = [];
  const byId = new Map(observed.map((s) => [s.storage, s]));
  for (const s of desired ?? []) {
    const have = byId.get(s.id);
    const item = `storage ${s.id}`;
    if (!have) {
      steps.push({
        item,
        why: `create ${s.type} storage ${s.id}`,
        call: { method: 'POST', path: '/storage', params: createParams(s) },
        safe: true,
        differences: [{ field: `storages[${s.id}]`, observed: '(missing)', desired: 'present' }],
        records: { kind: 'storages', id: s.id },
      });
      continue;
    }
    const fixed: Difference[] = [];
    if (have.type !== s.type) fixed.push({ field: `storages[${s.id}].type`, observed: have.type, desired: s.type });
    for (const { spec, option } of fixedOptions) {
      const want = s[spec];
      if (typeof want === 'string' && have[option] !== undefined && String(have[option]) !== want) fixed.push({ field: `storages[${s.id}].${spec}`, observed: String(have[option]), desired: want });
    }
    if (fixed.length) {
      steps.push({
        item,
        why: `storage ${s.id} differs in options fixed at creation`,
        safe: false,
        refusal: `storage ${s.id}: ${fixed.map((d) => `${d.field} is ${d.observed}, the spec says ${d.desired}`).join('; ')}. Proxmox cannot change these on an existing storage and Phoenix never removes one to re-create it: correct the spec, or remove the storage in Proxmox yourself`,
        differences: fixed,
      });
      continue;
    }
    const set: Record<string, ParamValue> = {};
    const deletes: string[] = [];
    const differences: Difference[] = [];
    const haveContent = splitList(have.content);
    if (!sameSet(haveContent, s.content)) {
      set['content'] = [...s.content].sort().join(',');
      differences.push({ field: `storages[${s.id}].content`, observed: [...haveContent].sort().join(',') || '(none)', desired: String(set['content']) });
    }
    if (s.nodes !== undefined) {
      const haveNodes = splitList(have.nodes);
      if (!sameSet(haveNodes, s.nodes)) {
        if (s.nodes.length) set['nodes'] = [...s.nodes].sort().join(',');
        else deletes.push('nodes');
        differences.push({ field: `storages[${s.id}].nodes`, observed: [...haveNodes].sort().join(',') || '(all)', desired: s.nodes.length ? String(set['nodes']) : '(all)' });
      }
    }
    if (s.shared !== undefined && flag(have.shared) !== s.shared) {
      set['shared'] = s.shared ? 1 : 0;
      differences.push({ field: `storages[${s.id}].shared`, observed: String(flag(have.shared)), desired: String(s.shared) });
    }
    const enabled = s.enabled ?? true;
    if (enabled === flag(have.disable)) {
      if (enabled) deletes.push('disable');
      else set['disable'] = 1;
      differences.push({ field: `storages[${s.id}].enabled`, observed: String(!flag(have.disable)), desired: String(enabled) });
    }
    if (differences.length) {
      steps.push({
        item,
        why: `update ${differences.map((d) => d.field.replace(/^storages\[[^\]]*\]\./, '')).join(', ')} of storage ${s.id}`,
        call: { method: 'PUT', path: `/storage/{${s.id}}`, params: { ...set, ...(deletes.length ? { delete: deletes.join(',') } : {}) } },
        safe: true,
        differences,
      });
    }
  }
  for (const id of createdButNotWanted(desired, created)) {
    const have = byId.get(id);
    if (!have) {
      steps.push({ item: `storage ${id}`, why: `forget storage ${id}, removed outside Phoenix`, safe: true, differences: [], forgets: { kind: 'storages', id } });
      continue;
    }
    const volumes = have.volumes ?? 0;
    steps.push({
      item: `storage ${id}`,
      why: `remove the definition of storage ${id}, which Phoenix created and the spec no longer lists (its data stays where it is)`,
      call: { method: 'DELETE', path: `/storage/{${id}}` },
      safe: volumes === 0,
      ...(volumes > 0 ? { refusal: `storage ${id} was removed from spec.storages but ${volumes} guest volumes live on it; Phoenix does not remove a storage in use. Move the volumes, or list the storage again` } : {}),
      differences: [],
      forgets: { kind: 'storages', id },
    });
  }
  return steps;
}

/** Spec problems the CRD's rules cannot express: options that do not belong to the type. */
export function storageProblems(desired: readonly StorageSpec[] | undefined): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const allowed: Record<string, readonly string[]> = {
    dir: ['path'], btrfs: ['path'], nfs: ['server', 'export', 'path'], cifs: ['server', 'share', 'path'], zfspool: ['pool'], lvm: ['vgName'], lvmthin: ['vgName', 'thinPool'],
    rbd: ['pool'], cephfs: ['path'], pbs: ['server'], iscsi: [],
  };
  for (const [i, s] of (desired ?? []).entries()) {
    for (const { spec } of fixedOptions) {
      if (s[spec] !== undefined && !(allowed[s.type] ?? []).includes(spec)) problems.push({ field: `spec.storages[${i}].${spec}`, message: `a ${s.type} storage takes no ${spec}` });
    }
  }
  return problems;
}
