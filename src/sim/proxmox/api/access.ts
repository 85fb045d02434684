/**
 * Users, API tokens and ACLs (`/access/users…`, `/access/password`, `/access/acl`), so that
 * least-privilege setups can be built through the API as on a real host. Behaviour follows
 * pve-access-control's API2/User.pm, AccessControl.pm (password) and ACL.pm.
 */
import { bool, int, str } from '../../../proxmox/schema.ts';
import { splitList } from '../../../proxmox/tags.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { ApiError, fail, paramError, permissionDenied } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import { hasPrivilege, ROLES, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { AclEntry, SimTokenState, SimUserState } from '../state.ts';

const o = { optional: true } as const;
const userid = str({ format: 'pve-userid', maxLength: 64 });
const tokenid = str({ pattern: '[A-Za-z][A-Za-z0-9\\.\\-_]+' });

/** Users manage their own tokens; others need User.Modify. */
function mayManage(sim: Simulator, subject: Subject, user: string): void {
  if (subject.userid === user && subject.tokenid === undefined) return;
  if (!hasPrivilege(sim.state, subject, '/access/groups', 'User.Modify')) throw permissionDenied('/access/groups', 'User.Modify');
}

function tokenInfo(t: SimTokenState): Record<string, unknown> {
  return { tokenid: t.fullId.split('!')[1], privsep: t.privsep ? 1 : 0, expire: t.expire, ...(t.comment !== undefined ? { comment: t.comment } : {}) };
}

function findUser(sim: Simulator, id: string) {
  const user = sim.state.users.find((u) => u.userid === id);
  if (!user) throw fail(`no such user ('${id}')`);
  return user;
}

function token(sim: Simulator, p: Params): SimTokenState {
  const fullId = `${String(p['userid'])}!${String(p['tokenid'])}`;
  const t = sim.state.tokens.find((x) => x.fullId === fullId);
  if (!t) throw fail(`no such token '${String(p['tokenid'])}' for user '${String(p['userid'])}'`);
  return t;
}

const userText = {
  comment: str({ ...o, maxLength: 2048 }),
  email: str({ ...o, format: 'email-opt', maxLength: 254 }),
  enable: bool(o),
  expire: int({ ...o, minimum: 0 }),
  firstname: str({ ...o, maxLength: 1024 }),
  groups: str({ ...o, format: 'pve-groupid-list' }),
  keys: str({ ...o, pattern: '[0-9a-zA-Z!=]{0,4096}' }),
  lastname: str({ ...o, maxLength: 1024 }),
};

const realmOf = (userid: string): string => userid.slice(userid.lastIndexOf('@') + 1);

/** `['userid-param', 'Realm.AllocateUser']`: the privilege on the user's realm. */
function mayAllocateUser(sim: Simulator, subject: Subject, userid: string): void {
  const path = `/access/realm/${realmOf(userid)}`;
  if (!hasPrivilege(sim.state, subject, path, 'Realm.AllocateUser')) throw permissionDenied(path, 'Realm.AllocateUser');
}

/**
 * `['userid-group', privs]`: the privilege on /access/groups, or on a group the user is in;
 * with a group list, on every group named.
 */
function mayModifyUserGroups(sim: Simulator, subject: Subject, userid: string | undefined, privs: readonly string[], groups?: readonly string[]): void {
  const any = (path: string) => privs.some((p) => hasPrivilege(sim.state, subject, path, p));
  if (groups?.length) {
    for (const g of groups) if (!any(`/access/groups/${g}`)) throw permissionDenied(`/access/groups/${g}`, privs.join('|'));
    return;
  }
  if (any('/access/groups')) return;
  const member = userid === undefined ? [] : (sim.state.users.find((u) => u.userid === userid)?.groups ?? []);
  if (member.some((g) => any(`/access/groups/${g}`))) return;
  throw permissionDenied('/access/groups', privs.join('|'));
}

function userEntry(u: SimUserState, full: boolean): Record<string, unknown> {
  const e: Record<string, unknown> = { enable: u.enable === false ? 0 : 1, expire: u.expire ?? 0 };
  for (const k of ['firstname', 'lastname', 'email', 'comment'] as const) if (u[k]) e[k] = u[k];
  if (full) e['groups'] = [...(u.groups ?? [])].sort();
  return e;
}

function assignGroups(sim: Simulator, user: SimUserState, list: string, failure: string): void {
  const wanted = splitList(list);
  for (const g of wanted) if (!(sim.state.groups ?? []).some((x) => x.groupid === g)) throw fail(`${failure}: no such group '${g}'`);
  user.groups = [...new Set([...(user.groups ?? []), ...wanted])];
}

function setUserText(user: SimUserState, p: Params, onlyTruthy: boolean): void {
  for (const k of ['firstname', 'lastname', 'email', 'comment'] as const) {
    const v = p[k];
    if (v === undefined || (onlyTruthy && !v)) continue;
    if (v === '') delete user[k];
    else user[k] = String(v);
  }
}

function setAcl(sim: Simulator, p: Params, subject: Subject): null {
  const path = String(p['path']);
  if (!hasPrivilege(sim.state, subject, path, 'Permissions.Modify')) throw permissionDenied(path, 'Permissions.Modify');
  const roles = splitList(String(p['roles']));
  for (const r of roles) if (!ROLES[r] && !sim.state.roles?.[r]) throw fail(`role '${r}' does not exist`);
  const entry = (acl: AclEntry[]): AclEntry[] => {
    const rest = acl.filter((e) => !(e.path === path && roles.some((r) => e.roles.includes(r))));
    return p['delete'] === 1 ? rest : [...rest, { path, roles, propagate: p['propagate'] !== 0 }];
  };
  for (const u of splitList(String(p['users'] ?? ''))) {
    const user = findUser(sim, u);
    user.acl = entry(user.acl);
  }
  for (const g of splitList(String(p['groups'] ?? ''))) {
    const group = (sim.state.groups ?? []).find((x) => x.groupid === g);
    if (!group) throw fail(`group '${g}' does not exist`);
    group.acl = entry(group.acl);
  }
  for (const t of splitList(String(p['tokens'] ?? ''))) {
    const tok = sim.state.tokens.find((x) => x.fullId === t);
    if (!tok) throw fail(`no such token '${t}'`);
    tok.acl = entry(tok.acl);
  }
  return null;
}

export const accessEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/access/users', params: { enabled: bool(o), full: bool(o) },
    handler: ({ sim, params, subject }) => {
      const audit = ['User.Modify', 'Sys.Audit'];
      const canAll = audit.some((p) => hasPrivilege(sim.state, subject, '/access/groups', p));
      const visible = (u: SimUserState) =>
        canAll || u.userid === subject.userid || (u.groups ?? []).some((g) => audit.some((p) => hasPrivilege(sim.state, subject, `/access/groups/${g}`, p)));
      return [...sim.state.users]
        .filter(visible)
        .filter((u) => params['enabled'] === undefined || (u.enable !== false) === (params['enabled'] === 1))
        .sort((a, b) => (a.userid < b.userid ? -1 : 1))
        .map((u) => {
          const e = userEntry(u, params['full'] === 1);
          if (Array.isArray(e['groups'])) e['groups'] = (e['groups'] as string[]).join(',');
          if (params['full'] === 1) {
            const tokens = sim.state.tokens.filter((t) => t.fullId.startsWith(`${u.userid}!`)).map(tokenInfo);
            if (tokens.length) e['tokens'] = tokens;
          }
          const realm = realmOf(u.userid);
          if (realm === 'pam' || realm === 'pve') e['realm-type'] = realm;
          return { ...e, userid: u.userid };
        });
    },
  },
  {
    method: 'POST', path: '/access/users', params: { ...userText, password: str({ ...o, minLength: 8, maxLength: 64 }), userid },
    handler: ({ sim, params, subject }) => {
      const id = String(params['userid']);
      mayAllocateUser(sim, subject, id);
      mayModifyUserGroups(sim, subject, undefined, ['User.Modify'], params['groups'] === undefined ? undefined : splitList(String(params['groups'])));
      if (sim.state.users.some((u) => u.userid === id)) throw fail(`create user failed: user '${id}' already exists`);
      const user: SimUserState = { userid: id, acl: [] };
      if (params['password'] !== undefined) user.password = String(params['password']);
      if (params['enable'] === 0) user.enable = false;
      if (params['expire']) user.expire = Number(params['expire']);
      if (params['groups']) assignGroups(sim, user, String(params['groups']), 'create user failed');
      setUserText(user, params, true);
      sim.state.users.push(user);
      return null;
    },
  },
  {
    method: 'GET', path: '/access/users/{userid}', params: { userid },
    handler: ({ sim, params, subject }) => {
      const id = String(params['userid']);
      mayModifyUserGroups(sim, subject, id, ['User.Modify', 'Sys.Audit']);
      const e = userEntry(findUser(sim, id), true);
      const tokens = sim.state.tokens.filter((t) => t.fullId.startsWith(`${id}!`));
      if (tokens.length) e['tokens'] = Object.fromEntries(tokens.map((t) => { const { tokenid, ...info } = tokenInfo(t); return [String(tokenid), info]; }));
      return e;
    },
  },
  {
    method: 'PUT', path: '/access/users/{userid}', params: { ...userText, append: bool({ ...o, requires: 'groups' }), userid },
    handler: ({ sim, params, subject }) => {
      const id = String(params['userid']);
      mayModifyUserGroups(sim, subject, id, ['User.Modify'], params['groups'] === undefined ? undefined : splitList(String(params['groups'])));
      const user = findUser(sim, id);
      if (params['enable'] !== undefined) user.enable = params['enable'] === 1;
      if (params['expire'] !== undefined) user.expire = Number(params['expire']);
      // Without append the list replaces the membership; an empty list leaves no group.
      if (params['groups'] !== undefined && params['append'] !== 1) user.groups = [];
      if (params['groups']) assignGroups(sim, user, String(params['groups']), 'update user failed');
      setUserText(user, params, false);
      return null;
    },
  },
  {
    method: 'DELETE', path: '/access/users/{userid}', params: { userid },
    handler: ({ sim, params, subject }) => {
      const id = String(params['userid']);
      mayAllocateUser(sim, subject, id);
      mayModifyUserGroups(sim, subject, id, ['User.Modify']);
      // pve-access-control PVE/API2/User.pm never checks that the user exists: it disables the
      // (autovivified) entry, then deletes it, so a missing user is deleted "successfully".
      // Its groups and ACL entries go with it, and so do its API tokens.
      sim.state.users = sim.state.users.filter((u) => u.userid !== id);
      sim.state.tokens = sim.state.tokens.filter((t) => !t.fullId.startsWith(`${id}!`));
      return null;
    },
  },
  {
    method: 'PUT', path: '/access/password', allowToken: false,
    params: { 'confirmation-password': str({ ...o, minLength: 5, maxLength: 64 }), password: str({ minLength: 8, maxLength: 64 }), userid },
    handler: ({ sim, params, subject }) => {
      const id = String(params['userid']);
      if (subject.userid !== id) {
        mayAllocateUser(sim, subject, id);
        mayModifyUserGroups(sim, subject, id, ['User.Modify']);
      }
      if (id === 'root@pam' && subject.userid !== 'root@pam') throw new ApiError(403, `Permission check failed (user != root@pam)\n`);
      findUser(sim, id).password = String(params['password']);
      return null;
    },
  },
  {
    method: 'GET', path: '/access/users/{userid}/token', params: { userid },
    handler: ({ sim, params, subject }) => {
      mayManage(sim, subject, String(params['userid']));
      findUser(sim, String(params['userid']));
      return sim.state.tokens.filter((t) => t.fullId.startsWith(`${String(params['userid'])}!`)).map(tokenInfo);
    },
  },
  {
    method: 'GET', path: '/access/users/{userid}/token/{tokenid}', params: { tokenid, userid },
    handler: ({ sim, params, subject }) => {
      mayManage(sim, subject, String(params['userid']));
      const t = tokenInfo(token(sim, params));
      delete t['tokenid'];
      return t;
    },
  },
  {
    method: 'POST', path: '/access/users/{userid}/token/{tokenid}', params: { comment: str(o), expire: int({ ...o, minimum: 0 }), privsep: bool(o), tokenid, userid },
    handler: ({ sim, params, subject }) => {
      const user = String(params['userid']);
      mayManage(sim, subject, user);
      findUser(sim, user);
      const fullId = `${user}!${String(params['tokenid'])}`;
      if (sim.state.tokens.some((t) => t.fullId === fullId)) throw fail(`Token already exists.`);
      const t: SimTokenState = { fullId, secret: sim.random.uuid(), privsep: params['privsep'] !== 0, acl: [], expire: Number(params['expire'] ?? 0), ...(params['comment'] ? { comment: String(params['comment']) } : {}) };
      sim.state.tokens.push(t);
      const info = tokenInfo(t);
      delete info['tokenid'];
      return { 'full-tokenid': fullId, info, value: t.secret };
    },
  },
  {
    method: 'PUT', path: '/access/users/{userid}/token/{tokenid}',
    params: { comment: str(o), delete: str({ ...o, format: 'pve-configid-list', since: '9.1' }), expire: int({ ...o, minimum: 0 }), privsep: bool(o), tokenid, userid },
    handler: ({ sim, params, subject }) => {
      mayManage(sim, subject, String(params['userid']));
      const t = token(sim, params);
      // pve-access-control User.pm update_token_info: `delete` may only name comment (and is checked before any change).
      for (const k of splitList(String(params['delete'] ?? ''))) {
        if (k !== 'comment') throw paramError({ delete: `unknown option '${k}'` });
        delete t.comment;
      }
      if (params['comment'] !== undefined) t.comment = String(params['comment']);
      if (params['expire'] !== undefined) t.expire = Number(params['expire']);
      if (params['privsep'] !== undefined) t.privsep = params['privsep'] === 1;
      const info = tokenInfo(t);
      delete info['tokenid'];
      return info;
    },
  },
  {
    method: 'DELETE', path: '/access/users/{userid}/token/{tokenid}', params: { tokenid, userid },
    handler: ({ sim, params, subject }) => {
      mayManage(sim, subject, String(params['userid']));
      const t = token(sim, params);
      sim.state.tokens = sim.state.tokens.filter((x) => x !== t);
      return null;
    },
  },
  {
    method: 'GET', path: '/access/acl', params: {},
    handler: ({ sim, subject }) => {
      const rows: Array<Record<string, unknown>> = [];
      const add = (type: 'user' | 'group' | 'token', ugid: string, acl: readonly AclEntry[]) => {
        for (const e of acl) for (const roleid of e.roles) if (hasPrivilege(sim.state, subject, e.path, 'Sys.Audit')) rows.push({ path: e.path, type, ugid, roleid, propagate: e.propagate ? 1 : 0 });
      };
      for (const u of sim.state.users) add('user', u.userid, u.userid === 'root@pam' ? [] : u.acl);
      for (const g of sim.state.groups ?? []) add('group', g.groupid, g.acl);
      for (const t of sim.state.tokens) add('token', t.fullId, t.acl);
      return rows;
    },
  },
  {
    method: 'PUT', path: '/access/acl',
    params: {
      delete: bool(o), groups: str({ ...o, format: 'pve-groupid-list' }), path: str(), propagate: bool(o), roles: str({ format: 'pve-roleid-list' }),
      tokens: str({ ...o, format: 'pve-tokenid-list' }), users: str({ ...o, format: 'pve-userid-list' }),
    },
    handler: ({ sim, params, subject }) => setAcl(sim, params, subject),
  },
];
