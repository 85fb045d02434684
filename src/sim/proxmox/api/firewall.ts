/**
 * Cluster and guest firewall options and rules. Rules are inserted at the top, `enable`
 * defaults to 0, and every rule carries the digest of the whole list, as pve-firewall
 * does; a stale digest fails with pve-firewall's "detected modified configuration".
 */
import { createHash } from 'node:crypto';
import { bool, int, oneOf, str, type ParamDefs } from '../../../proxmox/schema.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, paramError } from '../errors.ts';
import { Reply, type Endpoint, type PermCheck } from '../endpoint.ts';
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

const RESERVED = new Set(['node', 'vmid', 'digest', 'pos', 'moveto', 'delete', 'group']);

function ruleEndpoints(base: string, fw: (sim: Simulator, p: Params) => Pick<FirewallState, 'rules'>, read: (p: Params) => PermCheck[], write: (p: Params) => PermCheck[], extra: ParamDefs, list = `${base}/rules`): Endpoint[] {
  const rule = (sim: Simulator, p: Params): { state: Pick<FirewallState, 'rules'>; index: number } => {
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
    { method: 'GET', path: list, params: extra, permissions: read, handler: ({ sim, params }) => show(fw(sim, params).rules) },
    {
      method: 'POST', path: list, params: { ...extra, ...createRule }, permissions: write,
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
      method: 'GET', path: `${list}/{pos}`, params: { ...extra, pos }, permissions: read,
      handler: ({ sim, params }) => {
        const { state, index } = rule(sim, params);
        return show(state.rules)[index];
      },
    },
    {
      method: 'PUT', path: `${list}/{pos}`, params: { ...extra, ...updateRule }, permissions: write,
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
      method: 'DELETE', path: `${list}/{pos}`, params: { ...extra, digest, pos }, permissions: write,
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
  ebtables: bool(o), enable: int({ ...o, minimum: 0 }),
  log_ratelimit: str({ ...o, format: {
    burst: { type: 'integer', default: 5, minimum: 0, optional: true },
    enable: { type: 'boolean', default: '1', default_key: true },
    rate: { type: 'string', default: '1/second', pattern: '[1-9][0-9]*\\/(second|minute|hour|day)', optional: true },
  } }),
  policy_forward: oneOf(['ACCEPT', 'DROP'], o), policy_in: oneOf(['ACCEPT', 'REJECT', 'DROP'], o), policy_out: oneOf(['ACCEPT', 'REJECT', 'DROP'], o),
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

const fwName = (max: number) => str({ maxLength: max, minLength: 2, pattern: '[A-Za-z][A-Za-z0-9\\-\\_]+' });
const aliasName = fwName(64);
const groupName = fwName(18);

/** `[ALIASES]` of a firewall config (pve-firewall API2/Firewall/Aliases.pm). */
function aliasEndpoints(base: string, fw: (sim: Simulator, p: Params) => FirewallState, read: (p: Params) => PermCheck[], write: (p: Params) => PermCheck[], extra: ParamDefs): Endpoint[] {
  const aliases = (sim: Simulator, p: Params) => (fw(sim, p).aliases ??= {});
  const show = (all: Record<string, { cidr: string; comment?: string }>) => {
    const d = listDigest(Object.entries(all) as never);
    return Object.entries(all).sort(([a], [b]) => a.localeCompare(b)).map(([name, a]) => ({ name, cidr: a.cidr, ...(a.comment !== undefined ? { comment: a.comment } : {}), digest: d }));
  };
  const one = (sim: Simulator, p: Params) => {
    const all = aliases(sim, p);
    const a = all[String(p['name']).toLowerCase()];
    if (!a) throw paramError({ name: 'no such alias' });
    return { all, a };
  };
  return [
    { method: 'GET', path: `${base}/aliases`, params: extra, permissions: read, handler: ({ sim, params }) => show(aliases(sim, params)) },
    {
      method: 'POST', path: `${base}/aliases`, params: { ...extra, cidr: str({ format: 'IPorCIDR' }), comment: str(o), name: aliasName }, permissions: write,
      handler: ({ sim, params }) => {
        const all = aliases(sim, params);
        const name = String(params['name']).toLowerCase();
        if (all[name]) throw paramError({ name: `alias '${String(params['name'])}' already exists` });
        all[name] = { cidr: String(params['cidr']), ...(params['comment'] !== undefined ? { comment: String(params['comment']) } : {}) };
        return null;
      },
    },
    {
      method: 'GET', path: `${base}/aliases/{name}`, params: { ...extra, name: aliasName }, permissions: read,
      handler: ({ sim, params }) => show({ [String(params['name']).toLowerCase()]: one(sim, params).a })[0],
    },
    {
      method: 'PUT', path: `${base}/aliases/{name}`, params: { ...extra, cidr: str({ format: 'IPorCIDR' }), comment: str(o), digest, name: aliasName, rename: str({ ...aliasName, optional: true }) }, permissions: write,
      handler: ({ sim, params }) => {
        const { all, a } = one(sim, params);
        assertDigest(params['digest'], listDigest(Object.entries(all) as never));
        a.cidr = String(params['cidr']);
        if (params['comment'] !== undefined) a.comment = String(params['comment']);
        if (params['rename'] !== undefined) {
          const to = String(params['rename']).toLowerCase();
          if (all[to]) throw paramError({ name: `alias '${String(params['rename'])}' already exists` });
          delete all[String(params['name']).toLowerCase()];
          all[to] = a;
        }
        return null;
      },
    },
    {
      method: 'DELETE', path: `${base}/aliases/{name}`, params: { ...extra, digest, name: aliasName }, permissions: write,
      handler: ({ sim, params }) => {
        const all = aliases(sim, params);
        assertDigest(params['digest'], listDigest(Object.entries(all) as never));
        // Aliases.pm deletes without looking: a missing alias is no error.
        delete all[String(params['name']).toLowerCase()];
        return null;
      },
    },
  ];
}

/** `[IPSET name]` sections (pve-firewall API2/Firewall/IPSet.pm). */
function ipsetEndpoints(base: string, fw: (sim: Simulator, p: Params) => FirewallState, read: (p: Params) => PermCheck[], write: (p: Params) => PermCheck[], extra: ParamDefs): Endpoint[] {
  const sets = (sim: Simulator, p: Params) => (fw(sim, p).ipsets ??= {});
  const set = (sim: Simulator, p: Params) => {
    const s = sets(sim, p)[String(p['name']).toLowerCase()];
    if (!s) throw fail(`no such IPSet '${String(p['name'])}'`);
    return s;
  };
  const cidr = str({ format: 'IPorCIDRorAlias' });
  const entry = (sim: Simulator, p: Params) => {
    const s = set(sim, p);
    const e = s.entries.find((x) => x.cidr === String(p['cidr']));
    if (!e) throw paramError({ cidr: 'no such IP/Network' });
    return { s, e };
  };
  const show = (entries: Array<{ cidr: string; comment?: string; nomatch?: boolean }>) => {
    const d = listDigest(entries as never);
    return entries.map((e) => ({ cidr: e.cidr, ...(e.comment !== undefined ? { comment: e.comment } : {}), ...(e.nomatch ? { nomatch: 1 } : {}), digest: d }));
  };
  return [
    {
      method: 'GET', path: `${base}/ipset`, params: extra, permissions: read,
      handler: ({ sim, params }) => {
        const all = sets(sim, params);
        const d = listDigest(Object.keys(all) as never);
        return Object.entries(all).sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) => ({ name, ...(s.comment !== undefined ? { comment: s.comment } : {}), digest: d }));
      },
    },
    {
      method: 'POST', path: `${base}/ipset`, params: { ...extra, comment: str(o), digest, name: aliasName, rename: str({ ...aliasName, optional: true }) }, permissions: write,
      handler: ({ sim, params }) => {
        const all = sets(sim, params);
        const name = String(params['name']).toLowerCase();
        if (params['rename'] !== undefined) {
          const from = String(params['rename']).toLowerCase();
          if (!all[from]) throw paramError({ name: `IPSet '${String(params['rename'])}' does not exist` });
          if (all[name] && name !== from) throw paramError({ name: `IPSet '${String(params['name'])}' does already exist` });
          const s = all[from]!;
          delete all[from];
          all[name] = s;
          if (params['comment'] !== undefined) s.comment = String(params['comment']);
          return null;
        }
        if (all[name]) throw paramError({ name: `IPSet '${String(params['name'])}' does already exist` });
        all[name] = { entries: [], ...(params['comment'] !== undefined ? { comment: String(params['comment']) } : {}) };
        return null;
      },
    },
    { method: 'GET', path: `${base}/ipset/{name}`, params: { ...extra, name: aliasName }, permissions: read, handler: ({ sim, params }) => show(set(sim, params).entries) },
    {
      method: 'POST', path: `${base}/ipset/{name}`, params: { ...extra, cidr, comment: str(o), name: aliasName, nomatch: bool(o) }, permissions: write,
      handler: ({ sim, params }) => {
        const s = set(sim, params);
        const value = String(params['cidr']);
        if (s.entries.some((e) => e.cidr === value)) throw paramError({ cidr: `address '${value}' already exists` });
        if (/\/0$/.test(value)) throw paramError({ cidr: 'a zero prefix is not allowed in ipset entries' });
        s.entries.push({ cidr: value, ...(params['comment'] !== undefined ? { comment: String(params['comment']) } : {}), ...(params['nomatch'] === 1 ? { nomatch: true } : {}) });
        return null;
      },
    },
    {
      method: 'DELETE', path: `${base}/ipset/{name}`, params: { ...extra, force: bool(o), name: aliasName }, permissions: write,
      handler: ({ sim, params }) => {
        const s = set(sim, params);
        if (s.entries.length > 0 && params['force'] !== 1) throw fail(`IPSet '${String(params['name'])}' is not empty`);
        delete sets(sim, params)[String(params['name']).toLowerCase()];
        return null;
      },
    },
    { method: 'GET', path: `${base}/ipset/{name}/{cidr}`, params: { ...extra, cidr, name: aliasName }, permissions: read, handler: ({ sim, params }) => show([entry(sim, params).e])[0] },
    {
      method: 'PUT', path: `${base}/ipset/{name}/{cidr}`, params: { ...extra, cidr, comment: str(o), digest, name: aliasName, nomatch: bool(o) }, permissions: write,
      handler: ({ sim, params }) => {
        const { s, e } = entry(sim, params);
        assertDigest(params['digest'], listDigest(s.entries as never));
        if (params['comment'] !== undefined) e.comment = String(params['comment']);
        if (params['nomatch'] !== undefined) e.nomatch = params['nomatch'] === 1;
        return null;
      },
    },
    {
      method: 'DELETE', path: `${base}/ipset/{name}/{cidr}`, params: { ...extra, cidr, digest, name: aliasName }, permissions: write,
      handler: ({ sim, params }) => {
        const { s, e } = entry(sim, params);
        assertDigest(params['digest'], listDigest(s.entries as never));
        s.entries.splice(s.entries.indexOf(e), 1);
        return null;
      },
    },
  ];
}

/** `GET …/refs`: the aliases and ipsets a rule may name, as PVE::Firewall::Helpers::collect_refs lists them. */
function refs(state: FirewallState, scope: 'dc' | 'guest', type: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  if (type === undefined || type === 'ipset') for (const [name, s] of Object.entries(state.ipsets ?? {})) out.push({ type: 'ipset', name, ref: `+${scope}/${name}`, scope, ...(s.comment !== undefined ? { comment: s.comment } : {}) });
  if (type === undefined || type === 'alias') for (const [name, a] of Object.entries(state.aliases ?? {})) out.push({ type: 'alias', name, ref: `${scope}/${name}`, scope, ...(a.comment !== undefined ? { comment: a.comment } : {}) });
  return out;
}

/** pve-firewall's macros (a selection of `$pve_fw_macros`, with their descriptions). */
const MACROS: ReadonlyArray<[string, string]> = [
  ['DNS', 'Domain Name System traffic (upd and tcp)'], ['HTTP', 'Hypertext Transfer Protocol (WWW)'], ['HTTPS', 'Hypertext Transfer Protocol (WWW) over SSL'],
  ['ICMP', 'ICMP'], ['NTP', 'Network Time Protocol (ntpd)'], ['Ping', 'ICMP echo request'], ['SMTP', 'Simple Mail Transfer Protocol'], ['SSH', 'Secure shell traffic'],
];

const securityGroup = (sim: Simulator, p: Params) => {
  const g = (sim.state.clusterFirewall.groups ??= {})[String(p['group'])];
  if (!g) throw fail(`no such security group '${String(p['group'])}'`);
  return g;
};

function groupEndpoints(): Endpoint[] {
  const read = rootPerm(['Sys.Audit']);
  const write = rootPerm(['Sys.Modify']);
  const groups = (sim: Simulator) => (sim.state.clusterFirewall.groups ??= {});
  return [
    {
      method: 'GET', path: '/cluster/firewall/groups', params: {}, permissions: read,
      handler: ({ sim }) => {
        const all = groups(sim);
        const d = listDigest(Object.keys(all) as never);
        return Object.entries(all).sort(([a], [b]) => a.localeCompare(b)).map(([group, g]) => ({ group, ...(g.comment !== undefined ? { comment: g.comment } : {}), digest: d }));
      },
    },
    {
      method: 'POST', path: '/cluster/firewall/groups', params: { comment: str(o), digest, group: groupName, rename: str({ ...groupName, optional: true }) }, permissions: write,
      handler: ({ sim, params }) => {
        const all = groups(sim);
        const name = String(params['group']);
        if (params['rename'] !== undefined) {
          const from = String(params['rename']);
          if (!all[from]) throw paramError({ group: `Security group '${from}' does not exist` });
          if (all[name] && name !== from) throw paramError({ group: `Security group '${name}' does already exist` });
          const g = all[from]!;
          delete all[from];
          all[name] = g;
          if (params['comment'] !== undefined) g.comment = String(params['comment']);
          // Rules that jump to the group follow the rename.
          for (const holder of [sim.state.clusterFirewall, ...sim.state.guests.map((x) => x.firewall)]) {
            for (const r of holder.rules) if (r['type'] === 'group' && r['action'] === from) r['action'] = name;
          }
          return null;
        }
        if (all[name]) throw paramError({ group: `Security group '${name}' already exists` });
        all[name] = { rules: [], ...(params['comment'] !== undefined ? { comment: String(params['comment']) } : {}) };
        return null;
      },
    },
    {
      method: 'DELETE', path: '/cluster/firewall/groups/{group}', params: { group: groupName }, permissions: write,
      handler: ({ sim, params }) => {
        const g = securityGroup(sim, params);
        if (g.rules.length > 0) throw fail(`Security group '${String(params['group'])}' is not empty`);
        delete groups(sim)[String(params['group'])];
        return null;
      },
    },
    ...ruleEndpoints('/cluster/firewall/groups/{group}', securityGroup, read, write, { group: groupName }, '/cluster/firewall/groups/{group}'),
  ];
}

function guestExtras(type: GuestType): Endpoint[] {
  const fw = (sim: Simulator, p: Params): FirewallState => sim.guest(String(p['node']), type, Number(p['vmid'])).firewall;
  const base = `/nodes/{node}/${type}/{vmid}/firewall`;
  const read = vmPerm(['VM.Audit']);
  const write = vmPerm(['VM.Config.Network']);
  return [
    { method: 'GET', path: base, params: nodeVmid, permissions: read, handler: ({ sim, params }) => (fw(sim, params), ['rules', 'aliases', 'ipset', 'refs', 'options', 'log'].map((name) => ({ name }))) },
    ...aliasEndpoints(base, fw, read, write, nodeVmid),
    ...ipsetEndpoints(base, fw, read, write, nodeVmid),
    {
      method: 'GET', path: `${base}/log`,
      params: { ...nodeVmid, limit: int({ ...o, minimum: 0 }), since: int({ ...o, minimum: 0 }), start: int({ ...o, minimum: 0 }), until: int({ ...o, minimum: 0 }) },
      permissions: vmPerm(['VM.Audit', 'VM.Console'], true),
      // No packet ever crosses the simulated firewall: the log is empty, as on a fresh host.
      handler: ({ sim, params }) => (fw(sim, params), new Reply([], { total: 0 })),
    },
    {
      method: 'GET', path: `${base}/refs`, params: { ...nodeVmid, type: oneOf(['alias', 'ipset'], o) }, permissions: read,
      handler: ({ sim, params }) => [...refs(sim.state.clusterFirewall, 'dc', params['type']), ...refs(fw(sim, params), 'guest', params['type'])],
    },
  ];
}

export const firewallEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/cluster/firewall', params: {},
    handler: () => ['rules', 'groups', 'ipset', 'aliases', 'options', 'macros', 'refs'].map((name) => ({ name })),
  },
  ...aliasEndpoints('/cluster/firewall', clusterFw, rootPerm(['Sys.Audit']), rootPerm(['Sys.Modify']), {}),
  ...ipsetEndpoints('/cluster/firewall', clusterFw, rootPerm(['Sys.Audit']), rootPerm(['Sys.Modify']), {}),
  ...groupEndpoints(),
  { method: 'GET', path: '/cluster/firewall/macros', params: {}, handler: () => MACROS.map(([macro, descr]) => ({ macro, descr })) },
  { method: 'GET', path: '/cluster/firewall/refs', params: { type: oneOf(['alias', 'ipset'], o) }, permissions: rootPerm(['Sys.Audit']), handler: ({ sim, params }) => refs(sim.state.clusterFirewall, 'dc', params['type']) },
  ...guestExtras('qemu'),
  ...guestExtras('lxc'),
  ...optionEndpoints('/cluster/firewall', clusterFw, rootPerm(['Sys.Audit']), rootPerm(['Sys.Modify']), {}, clusterOptionFields),
  ...ruleEndpoints('/cluster/firewall', clusterFw, rootPerm(['Sys.Audit']), rootPerm(['Sys.Modify']), {}),
  ...guestFirewall('qemu'),
  ...guestFirewall('lxc'),
];
