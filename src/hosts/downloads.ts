import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { HostStep, ParamValue, SpecProblem } from './plan.ts';

export type DownloadSpec = NonNullable<PhoenixHypervisorSpec['downloads']>[number];

/**
 * What the I/O layer found on each download target, keyed by `node/storage`: the volume ids
 * there, or `unavailable` with Proxmox's reason when the storage could not be listed on that
 * node (not created yet, not enabled there).
 */
export type ObservedDownloads = Readonly<Record<string, { readonly volids: readonly string[] } | { readonly unavailable: string }>>;

export const targetKey = (d: { node: string; storage: string }): string => `${d.node}/${d.storage}`;

/** The volume a download produces: what Proxmox names the file on the storage. */
export function downloadVolume(d: DownloadSpec): string {
  return d.appliance !== undefined ? `${d.storage}:vztmpl/${d.appliance}` : `${d.storage}:${d.content ?? 'iso'}/${d.filename ?? ''}`;
}

/** The storages, per node, whose content must be listed: one read each, whatever the number of downloads. */
export function downloadTargets(desired: readonly DownloadSpec[] | undefined): { node: string; storage: string }[] {
  const seen = new Map<string, { node: string; storage: string }>();
  for (const d of desired ?? []) seen.set(targetKey(d), { node: d.node, storage: d.storage });
  return [...seen.values()];
}

/** Two entries that would write the same file, and nodes the cluster does not have. */
export function downloadProblems(desired: readonly DownloadSpec[] | undefined, clusterNodes: readonly string[]): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const first = new Map<string, number>();
  for (const [i, d] of (desired ?? []).entries()) {
    if (!clusterNodes.includes(d.node)) problems.push({ field: `spec.downloads[${i}].node`, message: `node ${d.node} is not part of the cluster` });
    const key = `${d.node}/${downloadVolume(d)}`;
    const earlier = first.get(key);
    if (earlier !== undefined) problems.push({ field: `spec.downloads[${i}]`, message: `downloads ${downloadVolume(d)} on node ${d.node} again (as spec.downloads[${earlier}] does)` });
    else first.set(key, i);
  }
  return problems;
}

/**
 * Templates and images to have on a storage: a missing one is downloaded (a task), an
 * existing one is never fetched again nor compared, and nothing is ever deleted: removing an
 * entry from the spec leaves the file where it is.
 */
export function planDownloads(desired: readonly DownloadSpec[] | undefined, observed: ObservedDownloads): HostStep[] {
  const steps: HostStep[] = [];
  for (const d of desired ?? []) {
    const volume = downloadVolume(d);
    const item = `download ${volume} on node ${d.node}`;
    const found = observed[targetKey(d)];
    if (!found) continue;
    if ('unavailable' in found) {
      steps.push({
        item,
        why: `download ${volume} on node ${d.node}`,
        safe: false,
        refusal: `${item}: storage ${d.storage} is not available on node ${d.node} (${found.unavailable}); list it in spec.storages or enable it on that node`,
        differences: [],
      });
      continue;
    }
    if (found.volids.includes(volume)) continue;
    let call: HostStep['call'];
    if (d.appliance !== undefined) {
      call = { method: 'POST', path: `/nodes/{${d.node}}/aplinfo`, params: { storage: d.storage, template: d.appliance } };
    } else {
      const params: Record<string, ParamValue> = { url: d.url ?? '', filename: d.filename ?? '', content: d.content ?? 'iso' };
      if (d.checksum !== undefined) params['checksum'] = d.checksum.toLowerCase();
      if (d.checksumAlgorithm !== undefined) params['checksum-algorithm'] = d.checksumAlgorithm;
      call = { method: 'POST', path: `/nodes/{${d.node}}/storage/{${d.storage}}/download-url`, params };
    }
    steps.push({
      item,
      why: `download ${volume} on node ${d.node}${d.url !== undefined ? ` from ${d.url}` : ''}`,
      call,
      safe: true,
      task: true,
      download: true,
      differences: [{ field: `downloads[${d.node}/${volume}]`, observed: '(missing)', desired: 'present' }],
    });
  }
  return steps;
}
