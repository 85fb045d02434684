/**
 * The rest of `/access`: groups, roles, authentication realms, two-factor entries, OpenID,
 * VNC ticket checks and `/access/permissions`. Texts follow pve-access-control's
 * API2/Group.pm, Role.pm, Domains.pm, TFA.pm, OpenId.pm and AccessControl.pm; writes die
 * inside `lock_user_config` / `lock_domain_config`, which prefix the handler's message.
 */
import { bool, int, oneOf, str, type ParamDefs } from '../../../proxmox/schema.ts';
import { splitList } from '../../../proxmox/tags.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { ApiError, fail, paramError, permissionDenied, underConfigLock } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import { ALL_PRIVILEGES, effectivePrivileges, hasPrivilege, ROLES, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { SimGroupState, SimState } from '../state.ts';
import { consoleTicketValid } from './guest-extras.ts';

const o = { optional: true } as const;
const groupid = str({ format: 'pve-groupid' });
const roleid = str({ format: 'pve-roleid' });
const realm = str({ format: 'pve-realm', maxLength: 32 });
const userid = str({ format: 'pve-userid', maxLength: 64 });
const tfaPassword = str({ ...o, minLength: 5, maxLength: 64 });


const need = (sim: Simulator, subject: Subject, path: string, privs: readonly string[]) => {
  if (!privs.some((p) => hasPrivilege(sim.state, subject, path, p))) throw permissionDenied(path, privs.join('|'));
};

function group(state: SimState, id: string): SimGroupState {
  const g = (state.groups ?? []).find((x) => x.groupid === id);
  if (!g) throw fail(`group '${id}' does not exist`);
  return g;
}

function members(state: SimState, id: string): string[] {
  return state.users.filter((u) => u.groups?.includes(id)).map((u) => u.userid).sort();
}

// ---- realms ---------------------------------------------------------------------------

type RealmConfig = Record<string, string | number>;

const BUILTIN_REALMS: Readonly<Record<string, RealmConfig>> = {
  pam: { type: 'pam', comment: 'Linux PAM standard authentication' },
  pve: { type: 'pve', comment: 'Proxmox VE authentication server' },
};

function realms(sim: Simulator): Record<string, RealmConfig> {
  return (sim.state.domains ??= structuredClone(BUILTIN_REALMS) as Record<string, RealmConfig>);
}

const realmOptions: ParamDefs = {
  'acr-values': str({ ...o, pattern: '^[^\\x00-\\x1F\\x7F <>#"]*$' }),
  autocreate: bool(o),
  base_dn: str({ ...o, maxLength: 256 }),
  bind_dn: str({ ...o, maxLength: 256 }),
  capath: str(o),
  'case-sensitive': bool(o),
  cert: str(o),
  certkey: str(o),
  'check-connection': bool(o),
  'client-id': str({ ...o, maxLength: 256 }),
  'client-key': str({ ...o, maxLength: 256 }),
  comment: str({ ...o, maxLength: 4096 }),
  default: bool(o),
  domain: str({ ...o, maxLength: 256, pattern: '\\S+' }),
  filter: str({ ...o, maxLength: 2048 }),
  group_classes: str({ ...o, format: 'ldap-simple-attr-list' }),
  group_dn: str({ ...o, maxLength: 256 }),
  group_filter: str({ ...o, maxLength: 2048 }),
  group_name_attr: str({ ...o, format: 'ldap-simple-attr', maxLength: 256 }),
  'groups-autocreate': bool(o),
  'groups-claim': str({ ...o, maxLength: 256, pattern: '[A-Za-z0-9\\.\\-_]+' }),
  'groups-overwrite': bool(o),
  'issuer-url': str({ ...o, maxLength: 256 }),
  mode: oneOf(['ldap', 'ldaps', 'ldap+starttls'], o),
  password: str(o),
  port: int({ ...o, minimum: 1, maximum: 65535 }),
  prompt: str({ ...o, pattern: '(?:none|login|consent|select_account|\\S+)' }),
  'query-userinfo': bool(o),
  realm,
  scopes: str(o),
  secure: bool(o),
  server1: str({ ...o, format: 'address', maxLength: 256 }),
  server2: str({ ...o, format: 'address', maxLength: 256 }),
  sslversion: oneOf(['tlsv1', 'tlsv1_1', 'tlsv1_2', 'tlsv1_3'], o),
  'sync-defaults-options': str({ ...o, format: 'realm-sync-options' }),
  sync_attributes: str({ ...o, pattern: '\\w+=[^,]+(,\\s*\\w+=[^,]+)*' }),
  tfa: str({ ...o, format: 'pve-tfa-config', maxLength: 128 }),
  user_attr: str({ ...o, maxLength: 256, pattern: '\\S{2,}' }),
  user_classes: str({ ...o, format: 'ldap-simple-attr-list' }),
  verify: bool(o),
};

/** What each realm type requires on creation (the Auth plugins' `options`, fixed ones not optional). */
const REALM_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  ad: ['server1', 'domain'], ldap: ['server1', 'base_dn', 'user_attr'], openid: ['issuer-url', 'client-id'],
};

function setRealmOptions(all: Record<string, RealmConfig>, config: RealmConfig, p: Params): void {
  for (const [k, v] of Object.entries(p)) {
    if (k === 'realm' || k === 'password' || k === 'check-connection' || k === 'delete' || k === 'digest' || v === undefined) continue;
    config[k] = typeof v === 'number' ? v : String(v);
  }
  // Only one realm is the login default.
  if (p['default'] === 1) for (const other of Object.values(all)) if (other !== config) delete other['default'];
}

// ---- two-factor -----------------------------------------------------------------------

interface TfaEntry {
  id: string;
  type: string;
  description: string;
  created: number;
  enable: boolean;
}

const tfaEntries = new WeakMap<Simulator, Map<string, TfaEntry[]>>();

function tfaOf(sim: Simulator, user: string): TfaEntry[] {
  const map = tfaEntries.get(sim) ?? new Map<string, TfaEntry[]>();
  tfaEntries.set(sim, map);
  const list = map.get(user) ?? [];
  map.set(user, list);
  return list;
}

/** pve-access-control TFA.pm: a user changes their own entries (after their password), else User.Modify on /access/users? — root only for root. */
function mayManageTfa(sim: Simulator, subject: Subject, user: string): void {
  if (subject.userid === user && subject.tokenid === undefined) return;
  if (user === 'root@pam' && subject.userid !== 'root@pam') throw new ApiError(403, 'Permission check failed (user != root@pam)\n');
  need(sim, subject, '/access/groups', ['User.Modify']);
}

function tfaEntryOut(e: TfaEntry): Record<string, unknown> {
  return { id: e.id, type: e.type, description: e.description, created: e.created, ...(e.enable ? {} : { enable: 0 }) };
}

function findTfa(sim: Simulator, user: string, id: string): TfaEntry {
  const e = tfaOf(sim, user).find((x) => x.id === id);
  if (!e) throw new ApiError(404, 'no such tfa entry\n');
  return e;
}

// ---- permissions ----------------------------------------------------------------------

const TOP_PATHS = ['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'];

/** `GET /access/permissions`: RPCEnvironment::get_effective_permissions over the same model as every 403. */
function permissions(sim: Simulator, subject: Subject, p: Params): Record<string, Record<string, number>> {
  const authid = subject.tokenid === undefined ? subject.userid : `${subject.userid}!${subject.tokenid}`;
  const wanted = p['userid'] === undefined ? authid : String(p['userid']);
  const bang = wanted.indexOf('!');
  const user = bang < 0 ? wanted : wanted.slice(0, bang);
  if (wanted !== authid && user !== authid) need(sim, subject, '/access', ['Sys.Audit']);
  const target: Subject = bang < 0 ? { userid: wanted, via: 'ticket' } : { userid: user, tokenid: wanted.slice(bang + 1), via: 'token' };
  const at = (path: string) => Object.fromEntries([...effectivePrivileges(sim.state, target, path)].sort(([a], [b]) => a.localeCompare(b)).map(([priv, prop]) => [priv, prop ? 1 : 0]));
  if (p['path'] !== undefined) {
    const path = String(p['path']);
    const perms = at(path);
    return Object.keys(perms).length > 0 ? { [path]: perms } : {};
  }
  const paths = new Set(TOP_PATHS);
  const acls = [...sim.state.users.flatMap((u) => u.acl), ...(sim.state.groups ?? []).flatMap((g) => g.acl), ...sim.state.tokens.flatMap((t) => t.acl)];
  for (const e of acls) paths.add(e.path);
  for (const pool of sim.state.pools) {
    for (const m of pool.members) paths.add(m.startsWith('storage/') ? `/storage/${m.slice(8)}` : `/vms/${m.split('/')[1]}`);
  }
  const out: Record<string, Record<string, number>> = {};
  for (const path of [...paths].sort()) {
    const perms = at(path);
    if (Object.keys(perms).length > 0) out[path] = perms;
  }
  return out;
}

// ---- endpoints ------------------------------------------------------------------------

export const accessAdminEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/access', params: {},
    handler: () => ['ticket', 'openid', 'users', 'groups', 'roles', 'acl', 'domains', 'tfa', 'password', 'permissions'].map((subdir) => ({ subdir })),
  },
  {
    method: 'GET', path: '/access/permissions',
    params: { path: str(o), userid: str({ ...o, pattern: '^(?:[^\\s:/]+)\\@(?:[A-Za-z][A-Za-z0-9\\.\\-_]+)(?:!(?:[A-Za-z][A-Za-z0-9\\.\\-_]+))?$' }) },
    handler: ({ sim, params, subject }) => permissions(sim, subject, params),
  },
  // -- groups
  {
    method: 'GET', path: '/access/groups', params: {},
    handler: ({ sim, subject }) =>
      (sim.state.groups ?? [])
        .filter((g) => ['User.Modify', 'Sys.Audit', 'Group.Allocate'].some((p) => hasPrivilege(sim.state, subject, `/access/groups/${g.groupid}`, p)))
        .map((g) => ({ groupid: g.groupid, ...(g.comment !== undefined ? { comment: g.comment } : {}), users: members(sim.state, g.groupid).join(',') })),
  },
  {
    method: 'POST', path: '/access/groups', params: { comment: str(o), groupid }, permissions: () => [{ path: '/access/groups', privs: ['Group.Allocate'] }],
    handler: ({ sim, params }) =>
      underConfigLock('create group failed', () => {
        const id = String(params['groupid']);
        if ((sim.state.groups ?? []).some((g) => g.groupid === id)) throw fail(`group '${id}' already exists`);
        (sim.state.groups ??= []).push({ groupid: id, acl: [], ...(params['comment'] ? { comment: String(params['comment']) } : {}) });
        return null;
      }),
  },
  {
    method: 'GET', path: '/access/groups/{groupid}', params: { groupid }, permissions: () => [{ path: '/access/groups', privs: ['Sys.Audit', 'Group.Allocate'], any: true }],
    handler: ({ sim, params }) => {
      const g = group(sim.state, String(params['groupid']));
      return { members: members(sim.state, g.groupid), ...(g.comment !== undefined ? { comment: g.comment } : {}) };
    },
  },
  {
    method: 'PUT', path: '/access/groups/{groupid}', params: { comment: str(o), groupid }, permissions: () => [{ path: '/access/groups', privs: ['Group.Allocate'] }],
    handler: ({ sim, params }) =>
      underConfigLock('update group failed', () => {
        const g = group(sim.state, String(params['groupid']));
        if (params['comment'] !== undefined) g.comment = String(params['comment']);
        return null;
      }),
  },
  {
    method: 'DELETE', path: '/access/groups/{groupid}', params: { groupid }, permissions: () => [{ path: '/access/groups', privs: ['Group.Allocate'] }],
    handler: ({ sim, params }) =>
      underConfigLock('delete group failed', () => {
        const g = group(sim.state, String(params['groupid']));
        // Membership and the group's ACL entries go with it (AccessControl::delete_group_acl).
        sim.state.groups = (sim.state.groups ?? []).filter((x) => x !== g);
        for (const u of sim.state.users) if (u.groups) u.groups = u.groups.filter((x) => x !== g.groupid);
        return null;
      }),
  },
  // -- roles
  {
    method: 'GET', path: '/access/roles', params: {},
    handler: ({ sim }) => [
      ...Object.entries(ROLES).map(([id, privs]) => ({ roleid: id, privs: [...privs].sort().join(','), special: 1 })),
      ...Object.entries(sim.state.roles ?? {}).map(([id, privs]) => ({ roleid: id, privs: [...privs].sort().join(','), special: 0 })),
    ],
  },
  {
    method: 'POST', path: '/access/roles', params: { privs: str({ ...o, format: 'pve-priv-list' }), roleid }, permissions: () => [{ path: '/access', privs: ['Sys.Modify'] }],
    handler: ({ sim, params }) => {
      const id = String(params['roleid']);
      if (/^PVE/i.test(id)) throw paramError({ roleid: "cannot use role ID starting with the (case-insensitive) 'PVE' namespace" });
      return underConfigLock('create role failed', () => {
        if (ROLES[id] || sim.state.roles?.[id]) throw fail(`role '${id}' already exists`);
        (sim.state.roles ??= {})[id] = checkedPrivs(String(params['privs'] ?? ''));
        return null;
      });
    },
  },
  {
    method: 'GET', path: '/access/roles/{roleid}', params: { roleid },
    handler: ({ sim, params }) => {
      const id = String(params['roleid']);
      const privs = ROLES[id] ?? sim.state.roles?.[id];
      if (!privs) throw fail(`role '${id}' does not exist`);
      return Object.fromEntries([...privs].sort().map((p) => [p, 1]));
    },
  },
  {
    method: 'PUT', path: '/access/roles/{roleid}', params: { append: bool({ ...o, requires: 'privs' }), privs: str({ ...o, format: 'pve-priv-list' }), roleid }, permissions: () => [{ path: '/access', privs: ['Sys.Modify'] }],
    handler: ({ sim, params }) => {
      const id = String(params['roleid']);
      if (ROLES[id]) throw fail(`auto-generated role '${id}' cannot be modified`);
      return underConfigLock('update role failed', () => {
        const current = sim.state.roles?.[id];
        if (!current) throw fail(`role '${id}' does not exist`);
        const privs = checkedPrivs(String(params['privs'] ?? ''));
        sim.state.roles![id] = params['append'] === 1 ? [...new Set([...current, ...privs])].sort() : privs;
        return null;
      });
    },
  },
  {
    method: 'DELETE', path: '/access/roles/{roleid}', params: { roleid }, permissions: () => [{ path: '/access', privs: ['Sys.Modify'] }],
    handler: ({ sim, params }) => {
      const id = String(params['roleid']);
      if (ROLES[id]) throw fail(`auto-generated role '${id}' cannot be deleted`);
      return underConfigLock('delete role failed', () => {
        if (!sim.state.roles?.[id]) throw fail(`role '${id}' does not exist`);
        delete sim.state.roles[id];
        // AccessControl::delete_role_acl: entries naming the role lose it.
        for (const holder of [...sim.state.users, ...(sim.state.groups ?? []), ...sim.state.tokens]) {
          holder.acl = holder.acl.map((e) => ({ ...e, roles: e.roles.filter((r) => r !== id) })).filter((e) => e.roles.length > 0);
        }
        return null;
      });
    },
  },
  // -- realms
  {
    method: 'GET', path: '/access/domains', params: {}, public: true,
    handler: ({ sim }) =>
      Object.entries(realms(sim))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([id, c]) => ({ realm: id, type: c['type'], ...(c['comment'] !== undefined ? { comment: c['comment'] } : {}), ...(c['tfa'] !== undefined ? { tfa: String(c['tfa']).split(',')[0]!.replace(/^type=/, '') } : {}), ...(c['default'] ? { default: 1 } : {}) })),
  },
  {
    method: 'POST', path: '/access/domains', params: { ...realmOptions, type: oneOf(['ad', 'ldap', 'openid', 'pam', 'pve']), 'username-claim': str(o) },
    permissions: () => [{ path: '/access/realm', privs: ['Realm.Allocate'] }],
    handler: ({ sim, params }) =>
      underConfigLock('add auth server failed', () => {
        const all = realms(sim);
        const id = String(params['realm']);
        const type = String(params['type']);
        if (all[id]) throw fail(`domain '${id}' already exists`);
        if (id === 'pam' || id === 'pve') throw fail(`unable to use reserved name '${id}'`);
        if (type === 'pam' || type === 'pve') throw fail(`unable to create builtin type '${type}'`);
        // Only the OpenID plugin has `username-claim` (pve-access-control PVE/Auth/OpenId.pm), set at creation only.
        if (params['username-claim'] !== undefined && type !== 'openid') throw fail("unexpected property 'username-claim'");
        if (params['check-connection'] !== undefined && type !== 'ldap' && type !== 'ad') throw fail("'check-connection' parameter can only be set for realms of type 'ldap' or 'ad'");
        const missing = (REALM_REQUIRED[type] ?? []).filter((k) => params[k] === undefined);
        if (missing.length > 0) throw paramError(Object.fromEntries(missing.map((k) => [k, 'property is missing and it is not optional'])));
        // The simulated host reaches no directory server, so checking the connection fails as a dead server does.
        if (params['check-connection'] === 1) throw fail(`${String(params['server1'])}: connection refused`);
        const config: RealmConfig = {};
        setRealmOptions(all, config, params);
        all[id] = config;
        return null;
      }),
  },
  {
    method: 'GET', path: '/access/domains/{realm}', params: { realm }, permissions: () => [{ path: '/access/realm', privs: ['Realm.Allocate', 'Sys.Audit'], any: true }],
    handler: ({ sim, params }) => {
      const c = realms(sim)[String(params['realm'])];
      if (!c) throw fail(`domain '${String(params['realm'])}' does not exist`);
      return { ...c, digest: '0'.repeat(40) };
    },
  },
  {
    method: 'PUT', path: '/access/domains/{realm}', params: { ...realmOptions, delete: str({ ...o, format: 'pve-configid-list', maxLength: 4096 }), digest: str({ ...o, maxLength: 64 }) },
    permissions: () => [{ path: '/access/realm', privs: ['Realm.Allocate'] }],
    handler: ({ sim, params }) =>
      underConfigLock('update auth server failed', () => {
        const all = realms(sim);
        const id = String(params['realm']);
        const config = all[id];
        if (!config) throw fail(`domain '${id}' does not exist`);
        const deletes = splitList(String(params['delete'] ?? ''));
        if (deletes.length === 0 && !Object.keys(params).some((k) => !['realm', 'delete', 'digest'].includes(k))) throw fail('no options specified');
        for (const k of deletes) delete config[k];
        setRealmOptions(all, config, params);
        return null;
      }),
  },
  {
    method: 'DELETE', path: '/access/domains/{realm}', params: { realm }, permissions: () => [{ path: '/access/realm', privs: ['Realm.Allocate'] }],
    handler: ({ sim, params }) =>
      underConfigLock('delete auth server failed', () => {
        const all = realms(sim);
        const id = String(params['realm']);
        if (!all[id]) throw fail(`authentication domain '${id}' does not exist`);
        if (id === 'pam' || id === 'pve') throw fail(`unable to delete builtin realm '${id}'`);
        delete all[id];
        return null;
      }),
  },
  {
    method: 'POST', path: '/access/domains/{realm}/sync',
    params: {
      'dry-run': bool(o), 'enable-new': bool(o), full: bool(o), purge: bool(o), realm,
      'remove-vanished': str({ ...o, pattern: '(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none' }), scope: oneOf(['users', 'groups', 'both'], o),
    },
    permissions: () => [{ path: '/access/realm', privs: ['Realm.AllocateUser'] }],
    handler: ({ sim, params }) => {
      const c = realms(sim)[String(params['realm'])];
      if (!c) throw paramError({ realm: 'Realm does not exist.' });
      const type = String(c['type']);
      if (type !== 'ldap' && type !== 'ad') throw fail(`Cannot sync realm type '${type}'! Only LDAP/AD realms can be synced.`);
      throw fail(`syncing users failed: ${String(c['server1'] ?? '')}: connection refused`);
    },
  },
  // -- OpenID
  { method: 'GET', path: '/access/openid', params: {}, public: true, handler: () => [{ subdir: 'auth-url' }, { subdir: 'login' }] },
  {
    method: 'POST', path: '/access/openid/auth-url', params: { realm, 'redirect-url': str({ maxLength: 255 }) }, public: true,
    handler: ({ sim, params }) => {
      const id = String(params['realm']);
      const c = realms(sim)[id];
      if (!c) throw fail(`authentication domain '${id}' does not exist`);
      if (c['type'] !== 'openid') throw fail(`wrong realm type (${String(c['type'])} != openid)`);
      const state = sim.random.uuid();
      return `${String(c['issuer-url'])}/authorize?response_type=code&client_id=${encodeURIComponent(String(c['client-id']))}&scope=openid&state=${state}&redirect_uri=${encodeURIComponent(String(params['redirect-url']))}`;
    },
  },
  {
    method: 'POST', path: '/access/openid/login', params: { code: str({ maxLength: 4096 }), 'redirect-url': str({ maxLength: 255 }), state: str({ maxLength: 1024 }) }, public: true,
    // No identity provider answers the simulated host; OpenId.pm turns any failure into this 401.
    handler: () => {
      throw new ApiError(401, 'authentication failure\n');
    },
  },
  // -- two-factor
  {
    method: 'GET', path: '/access/tfa', params: {},
    handler: ({ sim, subject }) => {
      const users = hasPrivilege(sim.state, subject, '/access/groups', 'User.Modify') || hasPrivilege(sim.state, subject, '/access/groups', 'Sys.Audit')
        ? sim.state.users.map((u) => u.userid)
        : [subject.userid];
      return users.sort().map((u) => ({ userid: u, entries: tfaOf(sim, u).map(tfaEntryOut) }));
    },
  },
  {
    method: 'GET', path: '/access/tfa/{userid}', params: { userid },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      if (user !== subject.userid) need(sim, subject, '/access/groups', ['User.Modify', 'Sys.Audit']);
      return tfaOf(sim, user).map(tfaEntryOut);
    },
  },
  {
    method: 'POST', path: '/access/tfa/{userid}', allowToken: false,
    params: {
      challenge: str(o), description: str({ ...o, maxLength: 255 }), password: tfaPassword, totp: str(o),
      type: oneOf(['totp', 'u2f', 'webauthn', 'recovery', 'yubico']), userid, value: str(o),
    },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      mayManageTfa(sim, subject, user);
      const type = String(params['type']);
      if (type === 'u2f') throw fail('u2f not configured');
      if (type === 'webauthn') throw fail('webauthn not configured');
      if (type === 'yubico') throw fail('no yubico configuration found');
      if (type === 'totp' && (params['totp'] === undefined || params['value'] === undefined)) throw paramError({ [params['totp'] === undefined ? 'totp' : 'value']: 'parameter is required for totp' });
      const list = tfaOf(sim, user);
      if (type === 'recovery' && list.some((e) => e.type === 'recovery')) throw fail('user already has recovery keys');
      const id = type === 'recovery' ? 'recovery' : `${type}${sim.random.uuid().slice(0, 8)}`;
      list.push({ id, type, description: String(params['description'] ?? ''), created: sim.clock.nowSeconds(), enable: true });
      const out: Record<string, unknown> = { id };
      if (type === 'recovery') out['recovery'] = Array.from({ length: 10 }, () => sim.random.uuid().slice(0, 19));
      return out;
    },
  },
  {
    method: 'GET', path: '/access/tfa/{userid}/{id}', params: { id: str(), userid },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      if (user !== subject.userid) need(sim, subject, '/access/groups', ['User.Modify', 'Sys.Audit']);
      return tfaEntryOut(findTfa(sim, user, String(params['id'])));
    },
  },
  {
    method: 'PUT', path: '/access/tfa/{userid}/{id}', allowToken: false,
    params: { description: str({ ...o, maxLength: 255 }), enable: bool(o), id: str(), password: tfaPassword, userid },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      mayManageTfa(sim, subject, user);
      const e = findTfa(sim, user, String(params['id']));
      if (params['description'] !== undefined) e.description = String(params['description']);
      if (params['enable'] !== undefined) e.enable = params['enable'] === 1;
      return null;
    },
  },
  {
    method: 'DELETE', path: '/access/tfa/{userid}/{id}', allowToken: false, params: { id: str(), password: tfaPassword, userid },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      mayManageTfa(sim, subject, user);
      const e = findTfa(sim, user, String(params['id']));
      const list = tfaOf(sim, user);
      list.splice(list.indexOf(e), 1);
      return null;
    },
  },
  {
    method: 'GET', path: '/access/users/{userid}/tfa', params: { multiple: bool(o), userid },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      if (user !== subject.userid) need(sim, subject, '/access/groups', ['User.Modify', 'Sys.Audit']);
      if (!sim.state.users.some((u) => u.userid === user)) throw fail(`user '${user}' does not exist`);
      const types = [...new Set(tfaOf(sim, user).filter((e) => e.enable).map((e) => e.type))];
      const realmTfa = realms(sim)[user.slice(user.lastIndexOf('@') + 1)]?.['tfa'];
      const out: Record<string, unknown> = params['multiple'] === 1 ? { types } : types.length > 0 ? { user: types[0] } : {};
      if (realmTfa !== undefined) out['realm'] = String(realmTfa).replace(/^type=/, '').split(',')[0];
      return out;
    },
  },
  {
    method: 'PUT', path: '/access/users/{userid}/unlock-tfa', params: { userid }, permissions: (p) => [{ path: `/access/realm/${String(p['userid']).replace(/^.*@/, '')}`, privs: ['Realm.AllocateUser'] }],
    // Nothing is ever locked out here: no failed second factor happens. Answers whether it was locked.
    handler: ({ sim, params }) => {
      const user = String(params['userid']);
      if (!sim.state.users.some((u) => u.userid === user)) throw fail(`no such user ('${user}')`);
      return 0;
    },
  },
  {
    method: 'POST', path: '/access/vncticket', since: '9.1',
    params: { authid: str({ maxLength: 64 }), path: str({ maxLength: 64 }), port: int(o), privs: str({ format: 'pve-priv-list', maxLength: 64 }), vncticket: str() },
    permissions: () => [{ path: '/', privs: ['Sys.Audit'] }],
    handler: ({ sim, params }) => {
      const authid = String(params['authid']);
      const bang = authid.indexOf('!');
      const subject: Subject = bang < 0 ? { userid: authid, via: 'ticket' } : { userid: authid.slice(0, bang), tokenid: authid.slice(bang + 1), via: 'token' };
      const path = String(params['path']);
      if (!consoleTicketValid(sim, subject, String(params['vncticket']), path)) throw new ApiError(401, 'permission denied - invalid vnc ticket\n');
      for (const priv of splitList(String(params['privs']))) if (!hasPrivilege(sim.state, subject, path, priv)) throw fail(`no permission (${path}, ${priv})`);
      return null;
    },
  },
];

/** Role privileges must name real privileges (`pve-priv-list` only checks the characters). */
function checkedPrivs(list: string): string[] {
  const privs = splitList(list);
  for (const p of privs) if (!ALL_PRIVILEGES.includes(p)) throw fail(`invalid privilege '${p}'`);
  return [...new Set(privs)].sort();
}
