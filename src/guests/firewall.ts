/**
 * A guest's Proxmox firewall, as Phoenix manages it: options it sets, and the whole rule
 * list in order when the spec has one. Pure: the reconciler carries out the plan.
 */

import type { firewallRule, guestFirewall } from '../api/firewall.ts';
import type { Infer } from '../api/schema.ts';
export type FirewallSpec = Infer<typeof guestFirewall>;

export type RuleSpec = Infer<typeof firewallRule>;

type Rule = Record<string, string>;

const ruleKeys = ['type', 'action', 'macro', 'proto', 'source', 'dest', 'sport', 'dport', 'iface', 'log', 'comment', 'enable'] as const;

export function desiredRule(rule: RuleSpec): Rule {
  const out: Rule = { type: rule.type, action: rule.action, enable: rule.enabled === false ? '0' : '1' };
  for (const key of ['macro', 'proto', 'source', 'dest', 'sport', 'dport', 'iface', 'log', 'comment'] as const) {
    if (rule[key] !== undefined) out[key] = String(rule[key]);
  }
  return out;
}

/** A rule as Proxmox lists it, reduced to the fields Phoenix writes. A rule without enable is off. */
export function observedRule(rule: Readonly<Record<string, unknown>>): Rule {
  const out: Rule = {};
  for (const key of ruleKeys) if (rule[key] !== undefined && rule[key] !== '') out[key] = String(rule[key]);
  out['enable'] = out['enable'] === '1' ? '1' : '0';
  return out;
}

const sameRule = (a: Rule, b: Rule) => ruleKeys.every((k) => (a[k] ?? '') === (b[k] ?? ''));

export type RuleOperation =
  | { readonly op: 'update'; readonly pos: number; readonly set: Rule; readonly delete: string[] }
  | { readonly op: 'create'; readonly pos: number; readonly set: Rule }
  | { readonly op: 'delete'; readonly pos: number };

/**
 * The edits that turn the observed list into the desired one, position by position, in an
 * order that keeps positions valid: updates, then deletions from the end, then appends.
 */
export function planRules(desired: readonly Rule[], observed: readonly Rule[]): RuleOperation[] {
  const ops: RuleOperation[] = [];
  const shared = Math.min(desired.length, observed.length);
  for (let pos = 0; pos < shared; pos++) {
    const want = desired[pos]!;
    const have = observed[pos]!;
    if (sameRule(want, have)) continue;
    ops.push({ op: 'update', pos, set: want, delete: ruleKeys.filter((k) => want[k] === undefined && have[k] !== undefined) });
  }
  for (let pos = observed.length - 1; pos >= desired.length; pos--) ops.push({ op: 'delete', pos });
  for (let pos = observed.length; pos < desired.length; pos++) ops.push({ op: 'create', pos, set: desired[pos]! });
  return ops;
}

const bool = (v: boolean) => (v ? '1' : '0');

/** Options to set, as `{key: value}`, for the options the spec names that differ. */
export function optionChanges(spec: FirewallSpec, observed: Readonly<Record<string, unknown>>): Record<string, string> {
  const wanted: Record<string, string> = {};
  if (spec.enabled !== undefined) wanted['enable'] = bool(spec.enabled);
  if (spec.policyIn !== undefined) wanted['policy_in'] = spec.policyIn;
  if (spec.policyOut !== undefined) wanted['policy_out'] = spec.policyOut;
  if (spec.dhcp !== undefined) wanted['dhcp'] = bool(spec.dhcp);
  if (spec.macFilter !== undefined) wanted['macfilter'] = bool(spec.macFilter);
  if (spec.ipFilter !== undefined) wanted['ipfilter'] = bool(spec.ipFilter);
  const defaults: Record<string, string> = { enable: '0', dhcp: '0', macfilter: '1', ipfilter: '0', policy_in: 'DROP', policy_out: 'ACCEPT' };
  const changes: Record<string, string> = {};
  for (const [key, value] of Object.entries(wanted)) {
    const current = observed[key] === undefined ? defaults[key] : String(observed[key]);
    if (current !== value) changes[key] = value;
  }
  return changes;
}
