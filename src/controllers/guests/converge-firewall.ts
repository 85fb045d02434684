import { desiredRule, observedRule, optionChanges, planRules } from '../../guests/firewall.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

/** Brings the guest firewall's options and rule list to the spec; true when it wrote. */
export async function convergeFirewall<O extends GuestObject>(ctx: GuestContext<O>, api: GuestApi): Promise<boolean> {
  const spec = ctx.spec.firewall;
  if (!spec) return false;
  const options = await api.firewallOptions();
  const changes = optionChanges(spec, options);
  const changed = Object.keys(changes);
  if (changed.length) await api.setFirewallOptions(changes, typeof options['digest'] === 'string' ? options['digest'] : undefined);
  if (spec.rules !== undefined) {
    const plan = planRules(spec.rules.map(desiredRule), (await api.firewallRules()).map(observedRule));
    for (const step of plan) {
      if (step.op === 'update') await api.updateFirewallRule(step.pos, step.set, step.delete);
      else if (step.op === 'create') await api.createFirewallRule(step.pos, step.set);
      else await api.deleteFirewallRule(step.pos);
    }
    if (plan.length) changed.push(`${plan.length} rule edits`);
  }
  if (changed.length && ctx.status.configDigest !== undefined) {
    await ctx.setup.events.normal(ctx.current, 'FirewallConfigured', 'Update', `firewall: ${changed.join(', ')}`);
  }
  return changed.length > 0;
}
