/** Small pieces every endpoint module uses. */
import { nodeParam, vmidParam, type ParamDefs } from '../../../proxmox/schema.ts';
import type { Params } from '../../../proxmox/validate.ts';
import type { PermCheck } from '../endpoint.ts';

export const nodeOnly: ParamDefs = { node: nodeParam };
export const nodeVmid: ParamDefs = { node: nodeParam, vmid: vmidParam };

export const str = (p: Params, k: string): string => String(p[k]);
export const optStr = (p: Params, k: string): string | undefined => (p[k] === undefined ? undefined : String(p[k]));
export const num = (p: Params, k: string): number => Number(p[k]);

/** `['perm', '/vms/{vmid}', privs]` */
export const vmPerm =
  (privs: readonly string[], any = false) =>
  (p: Params): PermCheck[] => [{ path: `/vms/${String(p['vmid'])}`, privs, any }];

export const nodePerm =
  (privs: readonly string[]) =>
  (p: Params): PermCheck[] => [{ path: `/nodes/${String(p['node'])}`, privs }];

/**
 * Storages a create or config call allocates on (`local-lvm:8`, `storage=`): Proxmox
 * requires Datastore.AllocateSpace on each.
 */
export function allocationChecks(p: Params): PermCheck[] {
  const storages = new Set<string>();
  if (p['storage'] !== undefined) storages.add(String(p['storage']));
  for (const [k, v] of Object.entries(p)) {
    if (!/^(rootfs|mp\d+|scsi\d+|virtio\d+|sata\d+|ide\d+|efidisk0|tpmstate0)$/.test(k)) continue;
    const m = /^(?:volume=|file=)?([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)(?:,|$)/i.exec(String(v));
    if (m) storages.add(m[1]!);
  }
  return [...storages].map((s) => ({ path: `/storage/${s}`, privs: ['Datastore.AllocateSpace'] }));
}

/** VM.Allocate on the new vmid, or on the pool it joins. */
export function allocatePerm(vmidKey: string) {
  return (p: Params): PermCheck[] => [
    { path: `/vms/${String(p[vmidKey])}`, privs: ['VM.Allocate'], ...(p['pool'] !== undefined ? { orPath: `/pool/${String(p['pool'])}` } : {}) },
  ];
}
