/**
 * API tokens and ACLs (`/access/users/{userid}/token/…`, `/access/acl`), so that
 * least-privilege setups can be built through the API as on a real host.
 */
import { bool, int, str } from '../../../proxmox/schema.ts';
import { splitList } from '../../../proxmox/tags.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, permissionDenied } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import { hasPrivilege, ROLES, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { AclEntry, SimTokenState } from '../state.ts';

const o = { optional: true } as const;
const userid = str({ format: 'pve-userid', maxLength: 64 });
const tokenid = str({ pattern: '[A-Za-z][A-Za-z0-9\\.\\-_]+' });

/** Users manage their own tokens; others need User.Modify. */
function mayManage(sim: Simulator, subject: Subject, user: string): void {
  if (subject.userid === user && subject.tokenid === undefined) return;
  if (!hasPrivilege(sim.state, subject, '/access/groups', 'User.Modify')) throw permissionDenied('/access/groups', 'User.Modify');
}

function tokenInfo(t: SimTokenState): Record<string, unknown> {
  return { tokenid: t.fullId.split('!')[1], privsep: t.privsep ? 1 : 0, expire: t.expire };
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

function setAcl(sim: Simulator, p: Params, subject: Subject): null {
  const path = String(p['path']);
  if (!hasPrivilege(sim.state, subject, path, 'Permissions.Modify')) throw permissionDenied(path, 'Permissions.Modify');
  const roles = splitList(String(p['roles']));
  for (const r of roles) if (!ROLES[r] && r !== 'NoAccess') throw fail(`role '${r}' does not exist`);
  const entry = (acl: AclEntry[]): AclEntry[] => {
    const rest = acl.filter((e) => !(e.path === path && roles.some((r) => e.roles.includes(r))));
    return p['delete'] === 1 ? rest : [...rest, { path, roles, propagate: p['propagate'] !== 0 }];
  };
  for (const u of splitList(String(p['users'] ?? ''))) {
    const user = findUser(sim, u);
    user.acl = entry(user.acl);
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
      const t: SimTokenState = { fullId, secret: sim.random.uuid(), privsep: params['privsep'] !== 0, acl: [], expire: Number(params['expire'] ?? 0) };
      sim.state.tokens.push(t);
      const info = tokenInfo(t);
      delete info['tokenid'];
      return { 'full-tokenid': fullId, info, value: t.secret };
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
      const add = (type: 'user' | 'token', ugid: string, acl: readonly AclEntry[]) => {
        for (const e of acl) for (const roleid of e.roles) if (hasPrivilege(sim.state, subject, e.path, 'Sys.Audit')) rows.push({ path: e.path, type, ugid, roleid, propagate: e.propagate ? 1 : 0 });
      };
      for (const u of sim.state.users) add('user', u.userid, u.userid === 'root@pam' ? [] : u.acl);
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
