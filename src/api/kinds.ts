import type { CelRule, JsonSchema, Schema } from './schema.ts';
import { isSize } from './common.ts';
import { apiGroup, apiVersion } from './group.ts';
import { phoenixHypervisorSpec, phoenixHypervisorStatus } from './hypervisor.ts';
import { phoenixLxcSpec, phoenixLxcStatus } from './lxc.ts';
import { phoenixVmSpec, phoenixVmStatus } from './vm.ts';
import { phoenixStackSpec, phoenixStackStatus } from './stack.ts';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  readonly jsonPath: string;
  readonly description: string;
  readonly priority?: number;
}

export interface KindDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly listKind: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
  readonly description: string;
  readonly spec: Schema<unknown>;
  readonly status: Schema<unknown>;
  readonly columns: readonly PrinterColumn[];
}

// Columns the way Crossplane and Cluster API users read them: READY and a one-word REASON in
// the default view, the full Ready message only under -o wide (priority 1), so a long error never
// pushes the table off the screen.
const ready: PrinterColumn = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the object has converged.' };
const reason: PrinterColumn = { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why it is or is not Ready, in one word (Ready, Creating, SecretNotFound…).' };
const message: PrinterColumn = { name: 'Message', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message', description: 'What Phoenix is doing, or what is wrong, in full.', priority: 1 };
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' };

const guestColumns: PrinterColumn[] = [
  ready,
  reason,
  { name: 'Node', type: 'string', jsonPath: '.status.node', description: 'Proxmox node.' },
  { name: 'VMID', type: 'integer', jsonPath: '.status.vmid', description: 'Proxmox VMID.' },
  { name: 'Power', type: 'string', jsonPath: '.status.powerState', description: 'Observed power state.' },
  { name: 'IP', type: 'string', jsonPath: '.status.ipAddresses[0]', description: 'First IP address.' },
  { name: 'Provisioned', type: 'string', jsonPath: '.status.provisioned', description: 'Provisioning steps succeeded of steps declared.' },
  age,
  message,
];

export const kinds: readonly KindDefinition[] = [
  {
    kind: 'PhoenixHypervisor',
    plural: 'phoenixhypervisors',
    singular: 'phoenixhypervisor',
    listKind: 'PhoenixHypervisorList',
    shortNames: ['phv'],
    scope: 'Cluster',
    description: 'A Proxmox VE endpoint (and optionally a Portainer endpoint) with the host configuration Phoenix manages on it.',
    spec: phoenixHypervisorSpec,
    status: phoenixHypervisorStatus,
    columns: [
      ready,
      reason,
      { name: 'URL', type: 'string', jsonPath: '.spec.proxmox.url', description: 'Proxmox API address.' },
      { name: 'Version', type: 'string', jsonPath: '.status.proxmoxVersion', description: 'Proxmox VE version.' },
      age,
      message,
    ],
  },
  {
    kind: 'PhoenixLXC',
    plural: 'phoenixlxcs',
    singular: 'phoenixlxc',
    listKind: 'PhoenixLXCList',
    shortNames: ['plxc', 'lxc'],
    scope: 'Namespaced',
    description: 'A Proxmox LXC container.',
    spec: phoenixLxcSpec,
    status: phoenixLxcStatus,
    columns: guestColumns,
  },
  {
    kind: 'PhoenixVM',
    plural: 'phoenixvms',
    singular: 'phoenixvm',
    listKind: 'PhoenixVMList',
    shortNames: ['pvm'],
    scope: 'Namespaced',
    description: 'A Proxmox QEMU/KVM virtual machine.',
    spec: phoenixVmSpec,
    status: phoenixVmStatus,
    columns: guestColumns,
  },
  {
    kind: 'PhoenixStack',
    plural: 'phoenixstacks',
    singular: 'phoenixstack',
    listKind: 'PhoenixStackList',
    shortNames: ['pstack'],
    scope: 'Namespaced',
    description: 'A Docker Compose stack deployed through Portainer onto a PhoenixVM.',
    spec: phoenixStackSpec,
    status: phoenixStackStatus,
    columns: [
      ready,
      reason,
      { name: 'VM', type: 'string', jsonPath: '.spec.vmRef.name', description: 'The VM that runs the stack.' },
      { name: 'Stack ID', type: 'integer', jsonPath: '.status.stackId', description: 'Portainer stack id.' },
      { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Observed stack state.' },
      age,
      message,
    ],
  },
];

export function kindByName(kind: string): KindDefinition {
  const found = kinds.find((k) => k.kind === kind);
  if (!found) throw new Error(`unknown Phoenix kind ${kind}`);
  return found;
}

/**
 * Removes documentation-only annotations, which the API server would reject, and turns a
 * pattern that has a message into a CEL rule carrying it.
 */
function forCrd(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const patternMessage = schema['x-phoenix-pattern-message'];
  for (const [key, value] of Object.entries(schema) as [keyof JsonSchema, unknown][]) {
    if (key === 'x-phoenix-example' || key === 'x-phoenix-pattern-message' || key === 'x-phoenix-min-size') continue;
    if (key === 'pattern' && patternMessage !== undefined) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, forCrd(v)]));
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') {
      (out as Record<string, unknown>)[key] = forCrd(value as JsonSchema);
    } else {
      (out as Record<string, unknown>)[key] = value;
    }
  }
  const rules: CelRule[] = [];
  if (patternMessage !== undefined && schema.pattern !== undefined) {
    // A raw CEL string ends at the first quote, so a pattern used this way must not contain one.
    if (schema.pattern.includes("'")) throw new Error(`pattern ${schema.pattern} cannot be a raw CEL string`);
    rules.push({ rule: `self.matches(r'${schema.pattern}')`, message: patternMessage });
  }
  const minSize = schema['x-phoenix-min-size'];
  if (minSize) {
    // Proxmox's binary K/M/G/T plus "i" are Kubernetes binary suffixes; the guard keeps a malformed size to its own message.
    rules.push({ rule: `!${isSize('self')} || quantity(self + 'i').compareTo(quantity('${minSize.min}i')) >= 0`, message: `must be at least ${minSize.min}: ${minSize.why}` });
  }
  if (rules.length) out['x-kubernetes-validations'] = [...rules, ...(schema['x-kubernetes-validations'] ?? [])];
  return out;
}

/** The whole object schema (apiVersion, kind, metadata, spec, status) for one kind. */
export function objectSchema(def: KindDefinition): JsonSchema {
  return {
    type: 'object',
    description: def.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this object.' },
      kind: { type: 'string', description: 'Kind of this object.' },
      metadata: { type: 'object' },
      spec: def.spec.json,
      status: def.status.json,
    },
  };
}

export function customResourceDefinition(def: KindDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${apiGroup}`,
      labels: { 'app.kubernetes.io/name': 'phoenix', 'app.kubernetes.io/part-of': 'phoenix' },
    },
    spec: {
      group: apiGroup,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: def.listKind,
        plural: def.plural,
        singular: def.singular,
        shortNames: [...def.shortNames],
        categories: ['phoenix'],
      },
      versions: [
        {
          name: apiVersion,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: forCrd(objectSchema(def)) },
        },
      ],
    },
  };
}
