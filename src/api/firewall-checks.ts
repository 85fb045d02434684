import type { Infer } from './schema.ts';
import type { firewallRule } from './firewall.ts';
import { addressSpecFamily, addressSpecProblem, portSpecProblem } from '../proxmox/firewall-specs.ts';

type Rule = Infer<typeof firewallRule>;

export interface RuleProblem {
  /** A Kubernetes-style field path, such as `spec.firewall.rules[0].source`. */
  readonly field: string;
  readonly message: string;
}

/**
 * What the controller checks in firewall rules before any Proxmox call: each address and port
 * spec parsed in full, which admission cannot afford for lists (see src/api/firewall.ts), and
 * which also catches an object stored before the CRD had these rules.
 */
export function firewallRuleProblems(rules: readonly Rule[] | undefined, path: string): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const [i, rule] of (rules ?? []).entries()) {
    const at = `${path}[${i}]`;
    for (const key of ['source', 'dest'] as const) {
      const value = rule[key];
      const problem = value === undefined ? undefined : addressSpecProblem(value);
      if (problem) problems.push({ field: `${at}.${key}`, message: problem });
    }
    for (const key of ['sport', 'dport'] as const) {
      const value = rule[key];
      const problem = value === undefined ? undefined : portSpecProblem(value);
      if (problem) problems.push({ field: `${at}.${key}`, message: problem });
    }
    const source = rule.source === undefined ? undefined : addressSpecFamily(rule.source);
    const dest = rule.dest === undefined ? undefined : addressSpecFamily(rule.dest);
    if (source !== undefined && dest !== undefined && source !== dest) problems.push({ field: `${at}.dest`, message: 'detected mixed ipv4/ipv6 addresses in rule' });
  }
  return problems;
}
