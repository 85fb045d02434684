import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import { desiredRule, observedRule, optionChanges, planRules } from '../guests/firewall.ts';
import type { HostStep, ParamValue } from './plan.ts';
import { text } from './plan.ts';

export type ClusterFirewallSpec = NonNullable<PhoenixHypervisorSpec['firewall']>;

export interface ObservedClusterFirewall {
  options: Readonly<Record<string, unknown>>;
  /** Undefined when not read (the spec leaves the rule list alone). */
  rules?: readonly Readonly<Record<string, unknown>>[];
}

const optionField: Record<string, string> = { enable: 'enabled', policy_in: 'policyIn', policy_out: 'policyOut' };
const optionDefaults: Record<string, string> = { enable: '0', policy_in: 'DROP', policy_out: 'ACCEPT' };

function ruleText(rule: Readonly<Record<string, string>>): string {
  return Object.entries(rule).map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * The datacenter firewall (`/cluster/firewall`): the options the spec names, and the whole
 * rule list in order when the spec has `rules` (rules added in the UI are removed then, as
 * the field's description says). The same rule comparison as guests' firewalls.
 */
export function planClusterFirewall(desired: ClusterFirewallSpec | undefined, observed: ObservedClusterFirewall): HostStep[] {
  if (!desired) return [];
  const steps: HostStep[] = [];
  const changes = optionChanges({ ...(desired.enabled !== undefined ? { enabled: desired.enabled } : {}), ...(desired.policyIn ? { policyIn: desired.policyIn } : {}), ...(desired.policyOut ? { policyOut: desired.policyOut } : {}) }, observed.options);
  const keys = Object.keys(changes);
  if (keys.length) {
    const digest = observed.options['digest'];
    steps.push({
      item: 'cluster firewall options',
      why: `set cluster firewall ${keys.map((k) => optionField[k] ?? k).join(', ')}`,
      call: { method: 'PUT', path: '/cluster/firewall/options', params: { ...changes, ...(typeof digest === 'string' ? { digest } : {}) } },
      safe: true,
      differences: keys.map((k) => ({
        field: `firewall.${optionField[k] ?? k}`,
        observed: observed.options[k] === undefined ? `${optionDefaults[k] ?? '(unset)'} (default)` : text(observed.options[k]),
        desired: changes[k]!,
      })),
    });
  }
  if (desired.rules !== undefined && observed.rules) {
    const want = desired.rules.map(desiredRule);
    const have = observed.rules.map(observedRule);
    const digest = observed.rules[0]?.['digest'];
    const withDigest = (params: Record<string, ParamValue>) => (typeof digest === 'string' ? { ...params, digest } : params);
    for (const op of planRules(want, have)) {
      if (op.op === 'update') {
        steps.push({
          item: `cluster firewall rule ${op.pos}`,
          why: `rewrite cluster firewall rule ${op.pos}`,
          call: { method: 'PUT', path: `/cluster/firewall/rules/{${op.pos}}`, params: withDigest({ ...op.set, ...(op.delete.length ? { delete: op.delete.join(',') } : {}) }) },
          safe: true,
          differences: [{ field: `firewall.rules[${op.pos}]`, observed: ruleText(have[op.pos]!), desired: ruleText(op.set) }],
        });
      } else if (op.op === 'create') {
        steps.push({
          item: `cluster firewall rule ${op.pos}`,
          why: `add cluster firewall rule ${op.pos}`,
          call: { method: 'POST', path: '/cluster/firewall/rules', params: withDigest({ ...op.set, pos: op.pos }) },
          safe: true,
          differences: [{ field: `firewall.rules[${op.pos}]`, observed: '(missing)', desired: ruleText(op.set) }],
        });
      } else {
        steps.push({
          item: `cluster firewall rule ${op.pos}`,
          why: `remove cluster firewall rule ${op.pos}, which the spec does not list`,
          call: { method: 'DELETE', path: `/cluster/firewall/rules/{${op.pos}}`, params: withDigest({}) },
          safe: true,
          differences: [{ field: `firewall.rules[${op.pos}]`, observed: ruleText(have[op.pos]!), desired: '(removed)' }],
        });
      }
    }
  }
  return steps;
}
