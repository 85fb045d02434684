/**
 * Cluster and guest firewall options and rules. Rules are inserted at the top, `enable`
 * defaults to 0, and every rule carries the digest of the whole list, as pve-firewall
 * does; a stale digest fails with pve-firewall's "detected modified configuration".
 */
import { createHash } from 'node:crypto';
import { bool, int, oneOf, str, type ParamDefs } from '../../../proxmox/schema.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail } from '../errors.ts';
import type { Endpoint, PermCheck } from '../endpoint.ts';
import type { Simulator } from '../simulator.ts';
import type { FirewallRule, FirewallState, GuestType } from '../state.ts';
import { nodeVmid, vmPerm } from './common.ts';

const o = { optional: true } as const;
const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'];
const digest = str({ ...o, maxLength: 64 });
/** The schema marks the `{pos}` path parameter optional; a missing position means "no rule". */
const pos = int({ optional: true, minimum: 0 });

const ruleFields: ParamDefs = {
  action: str({ ...o, maxLength: 20, pattern: '[A-Za-z][A-Za-z0-9\\-\\_]+' }),
  comment: str(o),
  dest: str({ ...o, format: 'pve-fw-addr-spec', maxLength: 512 }),
  digest,
  dport: str({ ...o, format: 'pve-fw-dport-spec' }),
  enable: int({ ...o, minimum: 0 }),
  'icmp-type': str({ ...o, format: 'pve-fw-icmp-type-spec' }),
  iface: str({ ...o, format: 'pve-iface', maxLength: 20 }),
  log: oneOf(LOG_LEVELS, o),
  macro: str({ ...o, maxLength: 128 }),
  proto: str({ ...o, format: 'pve-fw-protocol-spec' }),
  source: str({ ...o, format: 'pve-fw-addr-spec', maxLength: 512 }),
  sport: str({ ...o, format: 'pve-fw-sport-spec' }),
  type: oneOf(['in', 'out', 'forward', 'group'], o),
};

const createRule: ParamDefs = { ...ruleFields, action: { ...ruleFields['action']!, optional: false }, type: { ...ruleFields['type']!, optional: false }, pos: int({ ...o, minimum: 0 }) };
const updateRule: ParamDefs = { ...ruleFields, delete: str({ ...o, format: 'pve-configid-list' }), moveto: int({ ...o, minimum: 0 }), pos };

function listDigest(rules: readonly FirewallRule[]): string {
  return createHash('sha1').update(JSON.stringify(rules)).digest('hex');
}

function optionsDigest(opts: FirewallState['options']): string {
  return createHash('sha1').update(JSON.stringify(opts)).digest('hex');
}

function assertDigest(given: unknown, current: string): void {
  if (given !== undefined && given !== current) throw fail('detected modified configuration - file changed by other user? Try again.');
}

const RESERVED = new Set(['node', 'vmid', 'digest', 'pos', 'moveto', 'delete']);

function ruleEndpoints(base: string, fw: (sim: Simulator, p: Params) => FirewallState, read: (p: Params) => PermCheck[], write: (p: Params) => PermCheck[], extra: ParamDefs): Endpoint[] {
  const rule = (sim: Simulator, p: Params): { state: FirewallState; index: number } => {
    const state = fw(sim, p);
    const index = Number(p['pos']);
    if (index >= state.rules.length) throw fail(`no rule at position ${index}`);
    return { state, index };
  };
  const show = (rules: FirewallRule[]) => {
    const d = listDigest(rules);
    return rules.map((r, i) => ({ ...r, pos: i, digest: d }));
  };
  return [
    { method: 'GET', path: `${base}/rules`, params: extra, permissions: read, handler: ({ sim, params }) => show(fw(sim, params).rules) },
    {
      method: 'POST', path: `${base}/rules`, params: { ...extra, ...createRule }, permissions: write,
      handler: ({ sim, params }) => {
        const state = fw(sim, params);
        assertDigest(params['digest'], listDigest(state.rules));
        const r: FirewallRule = { enable: 0 };
        for (const [k, v] of Object.entries(params)) if (!RESERVED.has(k)) r[k] = v as string | number;
        const at = params['pos'] === undefined ? 0 : Math.min(Number(params['pos']), state.rules.length);
        state.rules.splice(at, 0, r);
        return null;
      },
    },
    {
      method: 'GET', path: `${base}/rules/{pos}`, params: { ...extra, pos }, permissions: read,
      handler: ({ sim, params }) => {
        const { state, index } = rule(sim, params);
        return show(state.rules)[index];
      },
    },
    {
      method: 'PUT', path: `${base}/rules/{pos}`, params: { ...extra, ...updateRule }, permissions: write,
      handler: ({ sim, params }) => {
        const { state, index } = rule(sim, params);
        assertDigest(params['digest'], listDigest(state.rules));
        const r = state.rules[index]!;
        if (params['moveto'] !== undefined) {
          state.rules.splice(index, 1);
          state.rules.splice(Math.min(Number(params['moveto']), state.rules.length), 0, r);
          return null;
        }
        for (const [k, v] of Object.entries(params)) if (!RESERVED.has(k)) r[k] = v as string | number;
        for (const d of String(params['delete'] ?? '').split(',').filter(Boolean)) delete r[d];
        return null;
      },
    },
    {
      method: 'DELETE', path: `${base}/rules/{pos}`, params: { ...extra, digest, pos }, permissions: write,
      handler: ({ sim, params }) => {
        const { state, index } = rule(sim, params);
        assertDigest(params['digest'], listDigest(state.rules));
        state.rules.splice(index, 1);
        return null;
      },
    },
  ];
}

function optionEndpoints(base: string, fw: (sim: Simulator, p: Params) => FirewallState, read: (p: Params) => PermCheck[], write: (p: Params) => PermCheck[], extra: ParamDefs, fields: ParamDefs): Endpoint[] {
  return [
    { method: 'GET', path: `${base}/options`, params: extra, permissions: read, handler: ({ sim, params }) => ({ ...fw(sim, params).options, digest: optionsDigest(fw(sim, params).options) }) },
    {
      method: 'PUT', path: `${base}/options`, params: { ...extra, ...fields, delete: str({ ...o, format: 'pve-configid-list' }), digest }, permissions: write,
      handler: ({ sim, params }) => {
        const state = fw(sim, params);
        assertDigest(params['digest'], optionsDigest(state.options));
        for (const [k, v] of Object.entries(params)) if (!RESERVED.has(k)) state.options[k] = v as string | number;
        for (const d of String(params['delete'] ?? '').split(',').filter(Boolean)) delete state.options[d];
        return null;
      },
    },
  ];
}

const guestOptionFields: ParamDefs = {
  dhcp: bool(o), enable: bool(o), ipfilter: bool(o), log_level_in: oneOf(LOG_LEVELS, o), log_level_out: oneOf(LOG_LEVELS, o), macfilter: bool(o), ndp: bool(o),
  policy_in: oneOf(['ACCEPT', 'REJECT', 'DROP'], o), policy_out: oneOf(['ACCEPT', 'REJECT', 'DROP'], o), radv: bool(o),
};

const clusterOptionFields: ParamDefs = {
  ebtables: bool(o), enable: int({ ...o, minimum: 0 }), policy_forward: oneOf(['ACCEPT', 'DROP'], o), policy_in: oneOf(['ACCEPT', 'REJECT', 'DROP'], o), policy_out: oneOf(['ACCEPT', 'REJECT', 'DROP'], o),
};

const clusterFw = (sim: Simulator): FirewallState => sim.state.clusterFirewall;
const rootPerm = (privs: string[]) => (): PermCheck[] => [{ path: '/', privs }];

function guestFirewall(type: GuestType): Endpoint[] {
  const fw = (sim: Simulator, p: Params): FirewallState => sim.guest(String(p['node']), type, Number(p['vmid'])).firewall;
  const base = `/nodes/{node}/${type}/{vmid}/firewall`;
  return [
    ...optionEndpoints(base, fw, vmPerm(['VM.Audit']), vmPerm(['VM.Config.Network']), nodeVmid, guestOptionFields),
    ...ruleEndpoints(base, fw, vmPerm(['VM.Audit']), vmPerm(['VM.Config.Network']), nodeVmid),
  ];
}

export const firewallEndpoints: Endpoint[] = [
  ...optionEndpoints('/cluster/firewall', clusterFw, rootPerm(['Sys.Audit']), rootPerm(['Sys.Modify']), {}, clusterOptionFields),
  ...ruleEndpoints('/cluster/firewall', clusterFw, rootPerm(['Sys.Audit']), rootPerm(['Sys.Modify']), {}),
  ...guestFirewall('qemu'),
  ...guestFirewall('lxc'),
];
