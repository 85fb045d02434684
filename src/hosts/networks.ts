import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { Difference, HostStep, ParamValue } from './plan.ts';
import { bool01, sameSet, splitList, text } from './plan.ts';

export type NetworkSpec = NonNullable<NonNullable<PhoenixHypervisorSpec['nodes']>[number]['networks']>[number];

/** An interface as `GET /nodes/{node}/network` lists it (the staged file when one exists). */
export type ObservedInterface = Readonly<Record<string, unknown>> & { readonly iface: string; readonly type?: string };

export interface ObservedNetwork {
  readonly interfaces: readonly ObservedInterface[];
  /** The envelope's `changes`: `diff -u` of the running and the staged file; unset when nothing is staged. */
  readonly changes?: string;
}

type Kind = 'text' | 'list' | 'bool' | 'int';

/** Spec field → Proxmox option. Only options the spec sets are compared. */
const OPTIONS: readonly { readonly spec: keyof NetworkSpec; readonly pve: string; readonly kind: Kind }[] = [
  { spec: 'cidr', pve: 'cidr', kind: 'text' },
  { spec: 'gateway', pve: 'gateway', kind: 'text' },
  { spec: 'cidr6', pve: 'cidr6', kind: 'text' },
  { spec: 'gateway6', pve: 'gateway6', kind: 'text' },
  { spec: 'bridgePorts', pve: 'bridge_ports', kind: 'list' },
  { spec: 'vlanAware', pve: 'bridge_vlan_aware', kind: 'bool' },
  { spec: 'vlanId', pve: 'vlan-id', kind: 'int' },
  { spec: 'vlanRawDevice', pve: 'vlan-raw-device', kind: 'text' },
  { spec: 'bondSlaves', pve: 'slaves', kind: 'list' },
  { spec: 'bondMode', pve: 'bond_mode', kind: 'text' },
  { spec: 'mtu', pve: 'mtu', kind: 'int' },
  { spec: 'autostart', pve: 'autostart', kind: 'bool' },
  { spec: 'comments', pve: 'comments', kind: 'text' },
];

/** The value as it is sent; lists are space-separated, as in the interfaces file. */
function sendValue(kind: Kind, value: unknown): ParamValue {
  if (kind === 'list') return (value as string[]).join(' ');
  if (kind === 'bool') return bool01(value === true);
  if (kind === 'int') return Number(value);
  return String(value);
}

/** Observed and desired in the same words, or undefined when they agree. */
function compare(kind: Kind, observed: unknown, desired: unknown): { observed: string; desired: string } | undefined {
  switch (kind) {
    case 'list': {
      const have = splitList(observed);
      return sameSet(have, desired as string[]) ? undefined : { observed: have.join(' ') || '(unset)', desired: (desired as string[]).join(' ') };
    }
    case 'bool': {
      // Proxmox leaves a false flag out of the file, so an absent one is 0.
      const have = observed === undefined || observed === null || observed === '' ? '0' : String(Number(observed) === 1 ? 1 : 0);
      const want = bool01(desired === true);
      return have === want ? undefined : { observed: have, desired: want };
    }
    case 'int':
      return observed !== undefined && String(observed) === String(desired) ? undefined : { observed: text(observed), desired: String(desired) };
    default: {
      // Proxmox keeps comment lines with their newline.
      const have = typeof observed === 'string' ? observed.trim() : observed;
      return have !== undefined && String(have) === String(desired) ? undefined : { observed: text(have), desired: String(desired) };
    }
  }
}

/**
 * The interfaces a staged diff touches: every changed line is counted for the stanza it is
 * in (`iface X` opens one; `auto X` names its interfaces). A changed line outside any stanza
 * (a `source` line, the file's head) is reported as such, so it is never taken for Phoenix's.
 */
export function stagedInterfaces(changes: string | undefined): string[] {
  const found = new Set<string>();
  let current: string | undefined;
  for (const line of (changes ?? '').split('\n')) {
    if (line.startsWith('--- ') || line.startsWith('+++ ')) continue;
    if (line.startsWith('@@')) {
      current = undefined;
      continue;
    }
    const mark = line[0];
    if (mark !== ' ' && mark !== '+' && mark !== '-') continue;
    const content = line.slice(1);
    const auto = /^(?:auto|allow-[\w-]+)\s+(.+)$/.exec(content);
    const iface = /^iface\s+(\S+)/.exec(content);
    if (iface) current = iface[1];
    if (mark === ' ') continue;
    if (auto) for (const name of auto[1]!.trim().split(/\s+/)) found.add(name);
    else if (iface) found.add(iface[1]!);
    else if (content.trim() === '') continue;
    else found.add(current ?? '(outside any interface)');
  }
  return [...found].sort();
}

/**
 * A node's network interfaces. Proxmox stages every change in `/etc/network/interfaces.new`
 * and applies them all with one reload, so Phoenix:
 * * creates (POST) or updates (PUT, only the options that differ) the interfaces the spec
 *   lists, and never reads another for changes nor touches it;
 * * then reloads once (`PUT /nodes/{node}/network`, a task) for everything it staged;
 * * refuses to stage or reload while changes it did not make are staged (`changes` names
 *   interfaces `staged` does not), since the reload would apply them too;
 * * after a crash between staging and reloading, reloads (its own record says it staged);
 *   and forgets that record when nothing is staged any more (someone applied or reverted it).
 * A type cannot be changed in place: that is refused, naming the field.
 */
export function planNetworks(node: string, nodeIndex: number, desired: readonly NetworkSpec[] | undefined, observed: ObservedNetwork, staged: readonly string[]): HostStep[] {
  const steps: HostStep[] = [];
  for (const [j, want] of (desired ?? []).entries()) {
    const item = `network interface ${want.name} on node ${node}`;
    const have = observed.interfaces.find((i) => i.iface === want.name);
    if (!have) {
      const params: Record<string, ParamValue> = { iface: want.name, type: want.type };
      for (const o of OPTIONS) if (want[o.spec] !== undefined) params[o.pve] = sendValue(o.kind, want[o.spec]);
      steps.push({
        item,
        why: `create ${want.type} ${want.name} on node ${node} (staged until the network is reloaded)`,
        call: { method: 'POST', path: `/nodes/{${node}}/network`, params },
        safe: true,
        stages: { node, iface: want.name },
        differences: [{ field: `nodes[${node}].networks[${want.name}]`, observed: '(missing)', desired: 'present' }],
      });
      continue;
    }
    if (have.type !== want.type) {
      steps.push({
        item,
        why: `change the type of ${want.name} on node ${node}`,
        safe: false,
        refusal: `spec.nodes[${nodeIndex}].networks[${j}].type: ${want.name} on node ${node} is ${text(have.type)}, the spec says ${want.type}; Phoenix does not re-create an interface`,
        differences: [{ field: `nodes[${node}].networks[${want.name}].type`, observed: text(have.type), desired: want.type }],
      });
      continue;
    }
    const differences: Difference[] = [];
    const params: Record<string, ParamValue> = { type: want.type };
    for (const o of OPTIONS) {
      if (want[o.spec] === undefined) continue;
      const diff = compare(o.kind, have[o.pve], want[o.spec]);
      if (!diff) continue;
      differences.push({ field: `nodes[${node}].networks[${want.name}].${o.spec}`, ...diff });
      params[o.pve] = sendValue(o.kind, want[o.spec]);
    }
    if (!differences.length) continue;
    steps.push({
      item,
      why: `set ${differences.map((d) => d.field.replace(/^.*\./, '')).join(' and ')} of ${want.name} on node ${node} (staged until the network is reloaded)`,
      call: { method: 'PUT', path: `/nodes/{${node}}/network/{${want.name}}`, params },
      safe: true,
      stages: { node, iface: want.name },
      differences,
    });
  }

  const changed = stagedInterfaces(observed.changes);
  const foreign = changed.filter((i) => !staged.includes(i));
  const item = `network of node ${node}`;
  if (foreign.length) {
    const refusal = `${item}: changes Phoenix did not make are staged (${foreign.join(', ')}), and a reload would apply them with Phoenix's. Apply them (Apply Configuration, PUT /nodes/${node}/network) or revert them (Revert, DELETE /nodes/${node}/network); Phoenix continues once they are gone`;
    const refused = steps.filter((s) => s.call).map((s) => ({ ...s, safe: false, refusal }));
    if (staged.length) refused.push({ item, why: `reload the network of node ${node}`, safe: false, refusal, differences: [] });
    return [...steps.filter((s) => !s.call), ...refused];
  }
  const staging = steps.filter((s) => s.safe && s.stages);
  if (staging.length || (staged.length && changed.length)) {
    const names = [...new Set([...staged, ...staging.map((s) => s.stages!.iface)])].sort();
    steps.push({
      item,
      why: `reload the network of node ${node} to apply ${names.join(', ')}`,
      call: { method: 'PUT', path: `/nodes/{${node}}/network` },
      safe: true,
      task: true,
      unstages: node,
      differences: [],
    });
  } else if (staged.length) {
    steps.push({ item, why: `forget the network changes Phoenix staged on node ${node}: nothing is staged any more (applied or reverted outside Phoenix)`, safe: true, unstages: node, differences: [] });
  }
  return steps;
}
