/**
 * Datacenter configuration: `/cluster/options` (datacenter.cfg), HA resources, groups, rules
 * and status (pve-ha-manager API2/HA/*.pm) and backup jobs (pve-manager API2/Backup.pm).
 * HA is simulated as its effect: a resource's requested state starts or stops the guest at
 * once, and `/cluster/resources` reports `hastate`. Backup jobs are stored and listed; no
 * scheduled backup ever runs (the simulated host has no vzdump).
 */
import { createHash } from 'node:crypto';
import { bool, int, oneOf, str, type ParamDefs } from '../../../proxmox/schema.ts';
import { splitList } from '../../../proxmox/tags.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, paramError, underConfigLock } from '../errors.ts';
import type { Endpoint, PermCheck } from '../endpoint.ts';
import type { Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { SimGuestState } from '../state.ts';

const o = { optional: true } as const;
const rootPerm = (privs: string[]) => (): PermCheck[] => [{ path: '/', privs }];
const digestOf = (v: unknown) => createHash('sha1').update(JSON.stringify(v)).digest('hex');


type Section = Record<string, string | number>;
type Sections = Record<string, Section>;

function store(sim: Simulator, key: 'haResources' | 'haGroups' | 'haRules' | 'backupJobs'): Sections {
  const all = (sim.state.datacenter ??= {});
  return (all[key] ??= {});
}

function assign(target: Section, p: Params, skip: readonly string[]): void {
  for (const [k, v] of Object.entries(p)) if (!skip.includes(k) && v !== undefined) target[k] = typeof v === 'number' ? v : String(v);
}

function deleteKeys(target: Section, list: unknown, required: readonly string[] = []): void {
  for (const k of splitList(String(list ?? ''))) {
    if (required.includes(k)) throw fail(`unable to delete required option '${k}'`);
    delete target[k];
  }
}

// ---- datacenter options ---------------------------------------------------------------

/** pve-common PVE/JSONSchema.pm `$PVE_TAG_RE`, case-insensitive. */
const TAG = '(?i:[a-z0-9_][a-z0-9_\\-\\+\\.]*)';

const optionParams: ParamDefs = {
  bwlimit: str({ ...o, format: {
    clone: { type: 'number', minimum: 0, optional: true }, default: { type: 'number', minimum: 0, optional: true }, migration: { type: 'number', minimum: 0, optional: true },
    move: { type: 'number', minimum: 0, optional: true }, restore: { type: 'number', minimum: 0, optional: true },
  } }),
  'consent-text': str({ ...o, maxLength: 65536 }),
  console: oneOf(['applet', 'vv', 'html5', 'xtermjs'], o),
  delete: str({ ...o, format: 'pve-configid-list' }),
  description: str({ ...o, maxLength: 65536 }),
  email_from: str({ ...o, format: 'email-opt' }),
  fencing: oneOf(['watchdog', 'hardware', 'both'], o),
  ha: str({ ...o, format: { shutdown_policy: { type: 'string', enum: ['freeze', 'failover', 'conditional', 'migrate'] } } }),
  http_proxy: str({ ...o, pattern: 'http://.*' }),
  keyboard: oneOf(['de', 'de-ch', 'da', 'en-gb', 'en-us', 'es', 'fi', 'fr', 'fr-be', 'fr-ca', 'fr-ch', 'hu', 'is', 'it', 'ja', 'lt', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'sv', 'sl', 'tr'], o),
  language: oneOf(['ar', 'ca', 'da', 'de', 'en', 'es', 'eu', 'fa', 'fr', 'hr', 'he', 'it', 'ja', 'ka', 'kr', 'nb', 'nl', 'nn', 'pl', 'pt_BR', 'ru', 'sl', 'sv', 'tr', 'ukr', 'zh_CN', 'zh_TW'], o),
  mac_prefix: str({ ...o, format: 'mac-prefix' }),
  max_workers: int({ ...o, minimum: 1 }),
  migration: str({ ...o, format: { network: { type: 'string', format: 'CIDR', optional: true }, type: { type: 'string', enum: ['secure', 'insecure'], default_key: true } } }),
  migration_unsecure: bool(o),
  'next-id': str({ ...o, format: { lower: { type: 'integer', optional: true }, upper: { type: 'integer', optional: true } } }),
  // pve-common PVE/JSONSchema.pm `$PVE_TAG_RE` is case-insensitive (`qr/[a-z0-9_][a-z0-9_\-\+\.]*/i`).
  crs: str({ ...o, format: {
    ha: { type: 'string', default: 'basic', enum: ['basic', 'static', 'dynamic'], optional: true, olderForm: { until: '9.1', def: { type: 'string', default: 'basic', enum: ['basic', 'static'], optional: true } } },
    'ha-auto-rebalance': { type: 'boolean', default: 0, optional: true, since: '9.1' },
    'ha-auto-rebalance-hold-duration': { type: 'number', default: 3, minimum: 0, optional: true, requires: 'ha-auto-rebalance', since: '9.1' },
    'ha-auto-rebalance-margin': { type: 'number', default: 0.1, minimum: 0, optional: true, requires: 'ha-auto-rebalance', since: '9.1' },
    'ha-auto-rebalance-method': { type: 'string', default: 'bruteforce', enum: ['bruteforce', 'topsis'], optional: true, requires: 'ha-auto-rebalance', since: '9.1' },
    'ha-auto-rebalance-threshold': { type: 'number', default: 0.3, minimum: 0, optional: true, requires: 'ha-auto-rebalance', since: '9.1' },
    'ha-rebalance-on-start': { type: 'boolean', default: 0, optional: true },
  } }),
  notify: str({ ...o, format: {
    fencing: { type: 'string', enum: ['always', 'never'], optional: true },
    'package-updates': { type: 'string', default: 'auto', enum: ['auto', 'always', 'never'], optional: true },
    replication: { type: 'string', enum: ['always', 'never'], optional: true },
    'target-fencing': { type: 'string', optional: true },
    'target-package-updates': { type: 'string', optional: true },
    'target-replication': { type: 'string', optional: true },
  } }),
  'tag-style': str({ ...o, format: {
    'case-sensitive': { type: 'boolean', default: 0, optional: true },
    'color-map': { type: 'string', optional: true, pattern: `(?:${TAG}:[0-9a-fA-F]{6}(?::[0-9a-fA-F]{6})?)(?:;(?:${TAG}:[0-9a-fA-F]{6}(?::[0-9a-fA-F]{6})?))*` },
    ordering: { type: 'string', default: 'alphabetical', enum: ['config', 'alphabetical'], optional: true },
    shape: { type: 'string', default: 'circle', enum: ['full', 'circle', 'dense', 'none'], optional: true },
  } }),
  u2f: str({ ...o, format: { appid: { type: 'string', optional: true }, origin: { type: 'string', optional: true } } }),
  'user-tag-access': str({ ...o, format: {
    'user-allow': { type: 'string', default: 'free', enum: ['none', 'list', 'existing', 'free'], optional: true },
    'user-allow-list': { type: 'string', optional: true, pattern: `${TAG}(?:;${TAG})*` },
  } }),
  webauthn: str({ ...o, format: {
    'allow-subdomains': { type: 'boolean', default: 1, optional: true }, id: { type: 'string', optional: true }, origin: { type: 'string', optional: true }, rp: { type: 'string', optional: true },
  } }),
  'registered-tags': str({ ...o, pattern: '(?:(?i:[a-z0-9_][a-z0-9_\\-\\+\\.]*);)*(?i:[a-z0-9_][a-z0-9_\\-\\+\\.]*)' }),
  replication: str({ ...o, since: '9.1', format: { network: { type: 'string', format: 'CIDR', optional: true }, type: { type: 'string', enum: ['secure', 'insecure'], default_key: true } } }),
};

/** The next free VMID within `next-id` (pve-manager API2/Cluster.pm nextid honours datacenter.cfg). */
export function nextIdRange(sim: Simulator): { lower: number; upper: number } {
  const raw = String(sim.state.datacenter?.options?.['next-id'] ?? '');
  const lower = Number(/(?:^|,)lower=(\d+)/.exec(raw)?.[1] ?? 100);
  const upper = Number(/(?:^|,)upper=(\d+)/.exec(raw)?.[1] ?? 1000000);
  return { lower, upper };
}

// ---- HA -------------------------------------------------------------------------------

/** `vm:100`, `ct:101`, or a bare VMID (pve-ha-manager `pve-ha-resource-or-vm-id`). */
function resolveSid(sim: Simulator, raw: string, type?: unknown): { sid: string; guest?: SimGuestState } {
  const m = /^(?:(vm|ct):)?(\d+)$/.exec(raw);
  if (!m) return { sid: raw };
  const vmid = Number(m[2]);
  const guest = sim.findGuest(vmid);
  const kind = m[1] ?? (type !== undefined ? String(type) : guest?.type === 'lxc' ? 'ct' : 'vm');
  if (type !== undefined && m[1] !== undefined && m[1] !== type) throw fail('types does not match');
  return { sid: `${kind}:${vmid}`, ...(guest ? { guest } : {}) };
}

/** The HA manager's effect on a guest, applied at once: requested state `started` runs it, `stopped`/`disabled` stops it. */
function applyHaState(sim: Simulator, g: SimGuestState | undefined, state: string): void {
  if (!g) return;
  g.hastate = state === 'enabled' ? 'started' : state;
  if ((state === 'started' || state === 'enabled') && g.status !== 'running' && g.config['template'] !== '1') {
    g.status = 'running';
    g.startedAt = sim.clock.now();
  } else if ((state === 'stopped' || state === 'disabled') && g.status === 'running') {
    g.status = 'stopped';
    g.startedAt = undefined;
    g.paused = false;
  }
}

const sidParam = str({ format: 'pve-ha-resource-or-vm-id' });
const haResourceOptions: ParamDefs = {
  comment: str({ ...o, maxLength: 4096 }), failback: bool({ ...o, since: '9.1' }), group: str({ ...o, format: 'pve-configid' }),
  max_relocate: int({ ...o, minimum: 0 }), max_restart: int({ ...o, minimum: 0 }), state: oneOf(['started', 'stopped', 'enabled', 'disabled', 'ignored'], o),
};

const groupsMigrated = (sim: Simulator) => sim.pveVersion !== '8.4';

function haEndpoints(): Endpoint[] {
  const audit = rootPerm(['Sys.Audit']);
  const write = rootPerm(['Sys.Console']);
  const resource = (sim: Simulator, p: Params) => {
    const { sid, guest } = resolveSid(sim, String(p['sid']));
    const r = store(sim, 'haResources')[sid];
    if (!r) throw fail(`no such resource '${sid}'`);
    return { sid, r, guest };
  };
  const haGroup = (sim: Simulator, id: string) => {
    const g = store(sim, 'haGroups')[id];
    if (!g) throw fail(`no such ha group '${id}'`);
    return g;
  };
  const migratedAway = (sim: Simulator, what: string) => {
    if (groupsMigrated(sim)) throw fail(`cannot ${what}: ha groups have been migrated to rules`);
  };
  const ruleOf = (sim: Simulator, id: string) => {
    const r = store(sim, 'haRules')[id];
    if (!r) throw fail(`no such ha rule '${id}'`);
    return r;
  };
  const checkRule = (sim: Simulator, p: Params) => {
    const resources = splitList(String(p['resources'] ?? ''));
    if (p['resources'] !== undefined && resources.length === 0) throw fail('no resources were specified');
    const unmanaged = resources.map((x) => resolveSid(sim, x).sid).filter((sid) => !store(sim, 'haResources')[sid]);
    if (unmanaged.length > 0) throw fail(`cannot use unmanaged resource(s) ${unmanaged.join(', ')}.`);
    if (p['nodes'] !== undefined) {
      const nodes = splitList(String(p['nodes'])).map((n) => n.split(':')[0]!);
      const missing = nodes.filter((n) => !sim.state.nodes.some((x) => x.name === n));
      if (missing.length > 0) throw fail(`cannot use non-existent node(s) ${missing.join(', ')}.`);
    }
  };
  const ruleParams: ParamDefs = {
    affinity: oneOf(['positive', 'negative'], o), comment: str({ ...o, maxLength: 4096 }), disable: bool(o), nodes: str({ ...o, format: 'pve-ha-node-list' }), strict: bool(o),
    type: oneOf(['node-affinity', 'resource-affinity']),
  };
  return [
    { method: 'GET', path: '/cluster/ha', params: {}, permissions: audit, handler: () => ['status', 'resources', 'groups', 'rules'].map((id) => ({ id })) },
    {
      method: 'GET', path: '/cluster/ha/resources', params: { type: oneOf(['ct', 'vm'], o) }, permissions: audit,
      handler: ({ sim, params }) => {
        const all = store(sim, 'haResources');
        const d = digestOf(all);
        return Object.entries(all).filter(([sid]) => params['type'] === undefined || sid.startsWith(`${String(params['type'])}:`)).map(([sid, r]) => ({ sid, type: sid.split(':')[0], digest: d, ...r }));
      },
    },
    {
      method: 'POST', path: '/cluster/ha/resources', params: { ...haResourceOptions, sid: sidParam, type: oneOf(['ct', 'vm'], o) }, permissions: write,
      handler: ({ sim, params }) => {
        const { sid, guest } = resolveSid(sim, String(params['sid']), params['type']);
        if (params['group'] !== undefined && groupsMigrated(sim)) throw fail("invalid parameter 'group': ha groups have been migrated to rules");
        return underConfigLock('create resource failed', () => {
          const all = store(sim, 'haResources');
          if (all[sid]) throw fail(`resource ID '${sid}' already defined`);
          if (!guest) throw fail(`unable to find configuration file for ${sid.startsWith('ct') ? 'CT' : 'VM'} ${sid.split(':')[1]} - no such machine`);
          const r: Section = {};
          assign(r, params, ['sid', 'type']);
          r['state'] ??= 'started';
          all[sid] = r;
          applyHaState(sim, guest, String(r['state']));
          return null;
        });
      },
    },
    {
      method: 'GET', path: '/cluster/ha/resources/{sid}', params: { sid: sidParam }, permissions: audit,
      handler: ({ sim, params }) => {
        const { sid, r } = resource(sim, params);
        return { sid, type: sid.split(':')[0], digest: digestOf(store(sim, 'haResources')), ...r };
      },
    },
    {
      method: 'PUT', path: '/cluster/ha/resources/{sid}',
      params: { ...haResourceOptions, delete: str({ ...o, format: 'pve-configid-list', maxLength: 4096 }), digest: str({ ...o, maxLength: 64 }), sid: sidParam }, permissions: write,
      handler: ({ sim, params }) => {
        if (params['group'] !== undefined && groupsMigrated(sim)) throw fail("invalid parameter 'group': ha groups have been migrated to rules");
        if (params['group'] !== undefined && !store(sim, 'haGroups')[String(params['group'])]) throw fail(`HA group '${String(params['group'])}' does not exist`);
        return underConfigLock('update resource failed', () => {
          const { r, guest } = resource(sim, params);
          if (params['digest'] !== undefined && params['digest'] !== digestOf(store(sim, 'haResources'))) throw fail('detected modified configuration - file changed by other user? Try again.');
          deleteKeys(r, params['delete']);
          assign(r, params, ['sid', 'delete', 'digest']);
          if (params['state'] !== undefined) applyHaState(sim, guest, String(params['state']));
          return null;
        });
      },
    },
    {
      method: 'DELETE', path: '/cluster/ha/resources/{sid}', params: { purge: bool({ ...o, since: '9.1' }), sid: sidParam }, permissions: write,
      handler: ({ sim, params }) => {
        const { sid, guest } = resolveSid(sim, String(params['sid']));
        const all = store(sim, 'haResources');
        if (!all[sid]) throw fail(`cannot delete service '${sid}', not HA managed!`);
        delete all[sid];
        if (guest) delete guest.hastate;
        return null;
      },
    },
    ...(['migrate', 'relocate'] as const).map((action): Endpoint => ({
      method: 'POST', path: `/cluster/ha/resources/{sid}/${action}`, params: { node: str({ format: 'pve-node' }), sid: sidParam }, permissions: write,
      handler: ({ sim, params }) => {
        const { sid, guest } = resource(sim, params);
        const target = sim.node(String(params['node']));
        // The CRM moves it: a relocation stops and starts, a migration keeps it running.
        if (guest) {
          for (const v of sim.state.volumes) if (v.vmid === guest.vmid && v.node === guest.node) v.node = target.name;
          guest.node = target.name;
          if (action === 'relocate' && guest.status === 'running') guest.startedAt = sim.clock.now();
        }
        return sim.pveVersion === '8.4' ? null : { sid, 'requested-node': target.name, 'blocking-resources': [], 'comigrated-resources': [] };
      },
    })),
    {
      method: 'GET', path: '/cluster/ha/groups', params: {}, permissions: audit,
      handler: ({ sim }) => {
        migratedAway(sim, 'index groups');
        const all = store(sim, 'haGroups');
        const d = digestOf(all);
        return Object.entries(all).map(([group, g]) => ({ group, type: 'group', digest: d, ...g }));
      },
    },
    {
      method: 'POST', path: '/cluster/ha/groups',
      params: { comment: str({ ...o, maxLength: 4096 }), group: str({ format: 'pve-configid' }), nodes: { ...str({ format: 'pve-ha-node-list' }), olderForm: { until: '9.1', def: str({ format: 'pve-ha-group-node-list' }) } }, nofailback: bool(o), restricted: bool(o), type: oneOf(['group'], o) },
      permissions: write,
      handler: ({ sim, params }) => {
        migratedAway(sim, 'create group');
        return underConfigLock('create ha group failed', () => {
          const all = store(sim, 'haGroups');
          const id = String(params['group']);
          if (all[id]) throw fail(`ha group ID '${id}' already defined`);
          const g: Section = {};
          assign(g, params, ['group', 'type']);
          all[id] = g;
          return null;
        });
      },
    },
    {
      method: 'GET', path: '/cluster/ha/groups/{group}', params: { group: str({ format: 'pve-configid' }) }, permissions: audit,
      handler: ({ sim, params }) => {
        migratedAway(sim, 'read group');
        const id = String(params['group']);
        return { group: id, type: 'group', digest: digestOf(store(sim, 'haGroups')), ...haGroup(sim, id) };
      },
    },
    {
      method: 'PUT', path: '/cluster/ha/groups/{group}',
      params: {
        comment: str({ ...o, maxLength: 4096 }), delete: str({ ...o, format: 'pve-configid-list', maxLength: 4096 }), digest: str({ ...o, maxLength: 64 }), group: str({ format: 'pve-configid' }),
        nodes: { ...str({ ...o, format: 'pve-ha-node-list' }), olderForm: { until: '9.1', def: str({ ...o, format: 'pve-ha-group-node-list' }) } }, nofailback: bool(o), restricted: bool(o),
      },
      permissions: write,
      handler: ({ sim, params }) => {
        migratedAway(sim, 'update group');
        return underConfigLock('update ha group failed', () => {
          const g = haGroup(sim, String(params['group']));
          deleteKeys(g, params['delete'], ['nodes']);
          assign(g, params, ['group', 'delete', 'digest']);
          return null;
        });
      },
    },
    {
      method: 'DELETE', path: '/cluster/ha/groups/{group}', params: { group: str({ format: 'pve-configid' }) }, permissions: write,
      handler: ({ sim, params }) => {
        migratedAway(sim, 'delete group');
        return underConfigLock('delete ha group failed', () => {
          const id = String(params['group']);
          haGroup(sim, id);
          const user = Object.entries(store(sim, 'haResources')).find(([, r]) => r['group'] === id);
          if (user) throw fail(`ha group is used by service '${user[0]}'`);
          delete store(sim, 'haGroups')[id];
          return null;
        });
      },
    },
    {
      method: 'GET', path: '/cluster/ha/rules', since: '9.1', params: { resource: str(o), type: oneOf(['node-affinity', 'resource-affinity'], o) }, permissions: audit,
      handler: ({ sim, params }) => {
        const all = store(sim, 'haRules');
        const d = digestOf(all);
        const wanted = params['resource'] === undefined ? undefined : resolveSid(sim, String(params['resource'])).sid;
        return Object.entries(all)
          .filter(([, r]) => (params['type'] === undefined || r['type'] === params['type']) && (wanted === undefined || splitList(String(r['resources'])).map((x) => resolveSid(sim, x).sid).includes(wanted)))
          .map(([rule, r]) => ({ rule, digest: d, ...r }));
      },
    },
    {
      method: 'POST', path: '/cluster/ha/rules', since: '9.1', params: { ...ruleParams, resources: str({ format: 'pve-ha-resource-id-list' }), rule: str({ format: 'pve-configid' }) }, permissions: write,
      handler: ({ sim, params }) => {
        checkRule(sim, params);
        return underConfigLock('create ha rule failed', () => {
          const all = store(sim, 'haRules');
          const id = String(params['rule']);
          if (all[id]) throw fail(`HA rule '${id}' already defined`);
          const r: Section = {};
          assign(r, params, ['rule']);
          all[id] = r;
          return null;
        });
      },
    },
    {
      method: 'GET', path: '/cluster/ha/rules/{rule}', since: '9.1', params: { rule: str({ format: 'pve-configid' }) }, permissions: audit,
      handler: ({ sim, params }) => ({ rule: String(params['rule']), digest: digestOf(store(sim, 'haRules')), ...ruleOf(sim, String(params['rule'])) }),
    },
    {
      method: 'PUT', path: '/cluster/ha/rules/{rule}', since: '9.1',
      params: { ...ruleParams, delete: str({ ...o, format: 'pve-configid-list', maxLength: 4096 }), digest: str({ ...o, maxLength: 64 }), resources: str({ ...o, format: 'pve-ha-resource-id-list' }), rule: str({ format: 'pve-configid' }) },
      permissions: write,
      handler: ({ sim, params }) => {
        checkRule(sim, params);
        return underConfigLock('update HA rules failed', () => {
          const r = store(sim, 'haRules')[String(params['rule'])];
          if (!r) throw fail(`HA rule '${String(params['rule'])}' does not exist`);
          if (r['type'] !== params['type']) throw fail('types does not match');
          deleteKeys(r, params['delete'], ['resources']);
          assign(r, params, ['rule', 'delete', 'digest']);
          return null;
        });
      },
    },
    {
      method: 'DELETE', path: '/cluster/ha/rules/{rule}', since: '9.1', params: { rule: str({ format: 'pve-configid' }) }, permissions: write,
      handler: ({ sim, params }) =>
        underConfigLock('delete ha rule failed', () => {
          ruleOf(sim, String(params['rule']));
          delete store(sim, 'haRules')[String(params['rule'])];
          return null;
        }),
    },
    { method: 'GET', path: '/cluster/ha/status', params: {}, permissions: audit, handler: () => ['current', 'manager_status'].map((name) => ({ name })) },
    {
      method: 'GET', path: '/cluster/ha/status/current', params: {}, permissions: audit,
      handler: ({ sim }) => {
        const resources = Object.entries(store(sim, 'haResources'));
        const out: Array<Record<string, unknown>> = [{ id: 'quorum', type: 'quorum', node: sim.state.nodes[0]?.name, status: 'OK', quorate: 1 }];
        if (resources.length > 0) out.push({ id: 'master', type: 'master', node: sim.state.nodes[0]?.name, status: `${sim.state.nodes[0]?.name} (active, ${new Date(sim.clock.now()).toUTCString()})`, timestamp: sim.clock.nowSeconds() });
        for (const n of sim.state.nodes) out.push({ id: `lrm:${n.name}`, type: 'lrm', node: n.name, status: `${n.name} (${resources.length > 0 ? 'active' : 'idle'}, ${new Date(sim.clock.now()).toUTCString()})`, timestamp: sim.clock.nowSeconds() });
        for (const [sid, r] of resources) {
          const g = resolveSid(sim, sid).guest;
          out.push({ id: `service:${sid}`, type: 'service', sid, node: g?.node, state: r['state'] === 'stopped' || r['state'] === 'disabled' ? 'stopped' : 'started', 'request_state': r['state'], status: `${sid} (${g?.node ?? '?'}, ${r['state'] === 'stopped' || r['state'] === 'disabled' ? 'stopped' : 'started'})`, crm_state: r['state'] === 'stopped' ? 'stopped' : 'started' });
        }
        return out;
      },
    },
    {
      method: 'GET', path: '/cluster/ha/status/manager_status', params: {}, permissions: audit,
      handler: ({ sim }) => ({
        manager_status: { master_node: sim.state.nodes[0]?.name, node_status: Object.fromEntries(sim.state.nodes.map((n) => [n.name, n.online ? 'online' : 'unknown'])), service_status: Object.fromEntries(Object.entries(store(sim, 'haResources')).map(([sid, r]) => [sid, { state: r['state'] === 'stopped' ? 'stopped' : 'started', node: resolveSid(sim, sid).guest?.node }])), timestamp: sim.clock.nowSeconds() },
        quorum: { node: sim.state.nodes[0]?.name, quorate: '1' },
        lrm_status: Object.fromEntries(sim.state.nodes.map((n) => [n.name, { mode: 'active', state: 'wait_for_agent_lock', timestamp: sim.clock.nowSeconds() }])),
      }),
    },
    {
      method: 'POST', path: '/cluster/ha/status/disarm-ha', since: '9.1', params: { 'resource-mode': oneOf(['freeze', 'ignore']) }, permissions: write,
      handler: ({ sim, params }) => {
        (sim.state.datacenter ??= {}).haDisarmed = String(params['resource-mode']);
        return null;
      },
    },
    {
      method: 'POST', path: '/cluster/ha/status/arm-ha', since: '9.1', params: {}, permissions: write,
      handler: ({ sim }) => {
        if (sim.state.datacenter) delete sim.state.datacenter.haDisarmed;
        return null;
      },
    },
  ];
}

// ---- backup jobs ----------------------------------------------------------------------

const jobId = str({ maxLength: 50, pattern: '\\S+' });
const jobOptions: ParamDefs = {
  all: bool(o), bwlimit: int({ ...o, minimum: 0 }), comment: str({ ...o, maxLength: 512 }), compress: oneOf(['0', '1', 'gzip', 'lzo', 'zstd'], o),
  dow: str({ ...o, format: 'pve-day-of-week-list', requires: 'starttime' }), dumpdir: str(o), enabled: bool(o), exclude: str({ ...o, format: 'pve-vmid-list' }), 'exclude-path': { type: 'array', optional: true },
  fleecing: str({ ...o, format: 'backup-fleecing' }), ionice: int({ ...o, minimum: 0, maximum: 8 }), lockwait: int({ ...o, minimum: 0 }),
  mailnotification: oneOf(['always', 'failure'], o), mailto: str({ ...o, format: 'email-or-username-list' }), maxfiles: int({ ...o, minimum: 1 }),
  mode: oneOf(['snapshot', 'suspend', 'stop'], o), node: str({ ...o, format: 'pve-node' }), 'notes-template': str({ ...o, maxLength: 1024, requires: 'storage' }),
  'notification-mode': oneOf(['auto', 'legacy-sendmail', 'notification-system'], o),
  // PVE 8's vzdump notification settings, replaced by the notification system's matchers in PVE 9.
  'notification-policy': oneOf(['always', 'failure', 'never'], { ...o, until: '9.1' }), 'notification-target': str({ ...o, format: 'pve-configid', until: '9.1' }), 'pbs-change-detection-mode': oneOf(['legacy', 'data', 'metadata'], o),
  performance: str({ ...o, format: 'backup-performance' }), pigz: int(o), pool: str(o), protected: bool({ ...o, requires: 'storage' }), 'prune-backups': str({ ...o, format: 'prune-backups' }),
  quiet: bool(o), remove: bool(o), 'repeat-missed': bool(o), schedule: str({ ...o, format: 'pve-calendar-event', maxLength: 128 }), script: str(o),
  starttime: str({ ...o, pattern: '\\d{1,2}:\\d{1,2}' }), stdexcludes: bool(o), stop: bool(o), stopwait: int({ ...o, minimum: 0 }), storage: str({ ...o, format: 'pve-storage-id' }),
  tmpdir: str(o), vmid: str({ ...o, format: 'pve-vmid-list' }), zstd: int(o),
};

/** pve-manager API2/Backup.pm `assert_param_permission_common` / schedule checks. */
function checkJob(p: Params, subject: Subject, creating: boolean): void {
  for (const key of ['tmpdir', 'dumpdir', 'script']) {
    if (p[key] !== undefined && subject.userid !== 'root@pam') throw paramError({ [key]: 'Only root may set this option.' });
  }
  if (p['starttime'] !== undefined && p['schedule'] !== undefined) throw paramError({ starttime: "'starttime' and 'schedule' cannot both be set" });
  if (creating && p['starttime'] === undefined && p['schedule'] === undefined) throw paramError({ schedule: "neither 'starttime' nor 'schedule' were set" });
}

function backupEndpoints(): Endpoint[] {
  const audit = rootPerm(['Sys.Audit']);
  const write = rootPerm(['Sys.Modify']);
  const job = (sim: Simulator, id: string) => {
    const j = store(sim, 'backupJobs')[id];
    if (!j) throw paramError({ id: `No such job '${id}'` });
    return j;
  };
  const show = (id: string, j: Section) => ({ id, type: 'vzdump', enabled: 1, ...j });
  return [
    {
      method: 'GET', path: '/cluster/backup', params: {}, permissions: audit,
      handler: ({ sim }) => Object.entries(store(sim, 'backupJobs')).map(([id, j]) => ({ ...show(id, j), 'next-run': sim.clock.nowSeconds() + 3600 })),
    },
    {
      method: 'POST', path: '/cluster/backup', params: { ...jobOptions, id: str({ ...o, format: 'pve-configid' }) }, permissions: write,
      handler: ({ sim, params, subject }) => {
        checkJob(params, subject, true);
        const all = store(sim, 'backupJobs');
        const id = params['id'] === undefined ? `backup-${sim.random.uuid().replace(/-/g, '').slice(0, 13)}` : String(params['id']);
        if (all[id]) throw fail(`Job '${id}' already exists`);
        if (params['storage'] !== undefined && !sim.storage(String(params['storage']))) throw fail(`storage '${String(params['storage'])}' does not exist`);
        const j: Section = {};
        assign(j, params, ['id']);
        if (j['starttime'] !== undefined) {
          // Backup.pm converts the old starttime/dow form into a calendar event.
          j['schedule'] = `${j['dow'] !== undefined ? `${String(j['dow'])} ` : ''}${String(j['starttime'])}`;
          delete j['starttime'];
          delete j['dow'];
        }
        all[id] = j;
        return null;
      },
    },
    { method: 'GET', path: '/cluster/backup/{id}', params: { id: jobId }, permissions: audit, handler: ({ sim, params }) => show(String(params['id']), job(sim, String(params['id']))) },
    {
      method: 'PUT', path: '/cluster/backup/{id}', params: { ...jobOptions, delete: str({ ...o, format: 'pve-configid-list' }), id: jobId }, permissions: write,
      handler: ({ sim, params, subject }) => {
        checkJob(params, subject, false);
        const id = String(params['id']);
        const j = store(sim, 'backupJobs')[id];
        if (!j) throw fail('no such vzdump job');
        if (!Object.keys(params).some((k) => k !== 'id')) throw fail('no options specified');
        for (const k of splitList(String(params['delete'] ?? ''))) {
          if (!Object.hasOwn(jobOptions, k)) throw paramError({ delete: `unknown option '${k}'` });
          delete j[k];
        }
        assign(j, params, ['id', 'delete']);
        return null;
      },
    },
    {
      method: 'DELETE', path: '/cluster/backup/{id}', params: { id: jobId }, permissions: write,
      handler: ({ sim, params }) => {
        const id = String(params['id']);
        job(sim, id);
        delete store(sim, 'backupJobs')[id];
        return null;
      },
    },
    {
      method: 'GET', path: '/cluster/backup/{id}/included_volumes', params: { id: jobId }, permissions: audit,
      handler: ({ sim, params }) => {
        const j = job(sim, String(params['id']));
        const excluded = new Set(splitList(String(j['exclude'] ?? '')).map(Number));
        const wanted = j['all'] === 1 ? undefined : new Set(splitList(String(j['vmid'] ?? '')).map(Number));
        const pool = j['pool'] === undefined ? undefined : sim.state.pools.find((p) => p.poolid === j['pool']);
        const guests = sim.state.guests
          .filter((g) => !excluded.has(g.vmid) && (j['node'] === undefined || g.node === j['node']))
          .filter((g) => (pool ? pool.members.includes(`${g.type}/${g.vmid}`) : wanted === undefined || wanted.has(g.vmid)));
        return {
          children: guests.map((g) => ({
            id: g.vmid, type: g.type, name: g.config[g.type === 'qemu' ? 'name' : 'hostname'] ?? `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}`, leaf: 0,
            children: Object.keys(g.config).filter((k) => /^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$|^rootfs$|^mp\d+$/.test(k) && !/media=cdrom/.test(g.config[k]!)).map((k) => ({ id: k, name: g.config[k], included: 1, reason: 'Included by default', leaf: 1 })),
          })),
        };
      },
    },
  ];
}

export const clusterAdminEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/cluster/options', params: {}, permissions: rootPerm(['Sys.Audit']),
    handler: ({ sim }) => ({ ...(sim.state.datacenter?.options ?? {}) }),
  },
  {
    method: 'PUT', path: '/cluster/options', params: optionParams, permissions: rootPerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      const options = ((sim.state.datacenter ??= {}).options ??= {});
      const deletes = splitList(String(params['delete'] ?? ''));
      for (const k of deletes) delete options[k];
      assign(options, params, ['delete']);
      const range = nextIdRange(sim);
      if (range.lower > range.upper) throw paramError({ 'next-id': `lower, ${range.lower}, must be smaller than upper, ${range.upper}` });
      return null;
    },
  },
  ...haEndpoints(),
  ...backupEndpoints(),
];

