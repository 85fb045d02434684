import type { KubeObject, ResourceType } from '../runtime/resource.ts';
import { apiGroup, apiVersion } from './group.ts';
import { kinds } from './kinds.ts';
import type { PhoenixHypervisorSpec, PhoenixHypervisorStatus } from './hypervisor.ts';
import type { PhoenixLXCSpec, PhoenixLXCStatus } from './lxc.ts';
import type { PhoenixVMSpec, PhoenixVMStatus } from './vm.ts';
import type { PhoenixStackSpec, PhoenixStackStatus } from './stack.ts';

export interface PhoenixObject<Spec, Status> extends KubeObject {
  spec: Spec;
  status?: Status;
}

export type PhoenixHypervisor = PhoenixObject<PhoenixHypervisorSpec, PhoenixHypervisorStatus>;
export type PhoenixLXC = PhoenixObject<PhoenixLXCSpec, PhoenixLXCStatus>;
export type PhoenixVM = PhoenixObject<PhoenixVMSpec, PhoenixVMStatus>;
export type PhoenixStack = PhoenixObject<PhoenixStackSpec, PhoenixStackStatus>;

/** The API resource of a Phoenix kind. */
export function resourceOf(kind: string): ResourceType {
  const def = kinds.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return { group: apiGroup, version: apiVersion, plural: def.plural, kind: def.kind, namespaced: def.scope === 'Namespaced' };
}

export const phoenixHypervisors = resourceOf('PhoenixHypervisor');
export const phoenixLxcs = resourceOf('PhoenixLXC');
export const phoenixVms = resourceOf('PhoenixVM');
export const phoenixStacks = resourceOf('PhoenixStack');

/** The finalizer Phoenix puts on every object whose deletion must reach Proxmox or Portainer. */
export const phoenixFinalizer = 'hypervisor.phoenix.io/finalizer';
