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
