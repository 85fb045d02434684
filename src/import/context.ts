import { apiGroupVersion } from '../api/group.ts';
import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { LegacyEstate, LegacyTree } from './legacy-validation.ts';
import { ImportReport, type Target } from './report.ts';
import { Provisioning } from './provisioning.ts';

/** What the mapping modules share: options, the report, the objects made so far, and names. */

export interface ImportOptions {
  /** Namespace of the guests, stacks, ConfigMaps, and of the Secrets the hypervisor names. */
  readonly namespace: string;
  /** Name of the PhoenixHypervisor. */
  readonly hypervisor: string;
  /** Proxmox node the guests run on; default the legacy `network.hostname`, else `pve`. */
  readonly node?: string;
  /** Take over the existing guests and stacks (`spec.adopt`) instead of creating them. */
  readonly adopt: boolean;
  /** Set `managementPolicy: Observe` on everything: Phoenix reports differences and changes nothing. */
  readonly observe: boolean;
}

export interface OutputObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export interface PlannedObject {
  readonly object: OutputObject;
  /** Path in the output directory. */
  readonly file: string;
  /** Listed in kustomization.yaml. */
  readonly applied: boolean;
  /** Where it came from, for the file's header: `phoenix_lxc_configs.json#/lxc_configs/103`. */
  readonly from: string;
}

export interface GuestRef {
  readonly kind: 'PhoenixLXC' | 'PhoenixVM';
  readonly name: string;
}

export const importedFrom = 'hypervisor.phoenix.io/imported-from';

export class ImportContext {
  readonly report = new ImportReport();
  readonly provisioning = new Provisioning();
  /** Host directories bind-mounted into containers (lxc-manager created them). */
  readonly bindMountDirs = new Set<string>();
  readonly objects: PlannedObject[] = [];
  /** Legacy guest ids (CTIDs and VMIDs as strings) to their objects; containers win, as in phoenix-cli. */
  readonly guests = new Map<string, GuestRef>();
  readonly node: string;
  readonly hypervisorSpec: PhoenixHypervisorSpec;
  /** The storage that held the legacy OS templates and ISOs (a `vztmpl` storage), if any. */
  templateStorage?: { id: string; type: string };
  readonly options: ImportOptions;
  readonly estate: LegacyEstate;
  readonly tree: LegacyTree;

  constructor(options: ImportOptions, estate: LegacyEstate, tree: LegacyTree) {
    this.options = options;
    this.estate = estate;
    this.tree = tree;
    this.node = options.node ?? estate.hypervisor.network?.hostname ?? 'pve';
    this.hypervisorSpec = { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: `${options.hypervisor}-proxmox-token`, namespace: options.namespace } } };
  }

  /** A Phoenix object of the API group. */
  phoenix(kind: string, name: string, from: string, spec: Record<string, unknown>, namespaced = true): OutputObject {
    const metadata: OutputObject['metadata'] = { name, ...(namespaced ? { namespace: this.options.namespace } : {}), annotations: { [importedFrom]: from } };
    return { apiVersion: apiGroupVersion, kind, metadata, spec };
  }

  configMap(name: string, from: string, data: Record<string, string>): OutputObject {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: this.options.namespace, annotations: { [importedFrom]: from } }, data };
  }

  add(object: OutputObject, dir: string, from: string, applied = true): void {
    this.objects.push({ object, file: `${applied ? '' : 'unassigned/'}${dir}/${object.metadata.name}.yaml`, applied, from });
  }

  target(kind: string, name: string, field: string): Target {
    return { kind, name, field };
  }

  hypervisorTarget(field: string): Target {
    return { kind: 'PhoenixHypervisor', name: this.options.hypervisor, field: `spec.${field}` };
  }
}
