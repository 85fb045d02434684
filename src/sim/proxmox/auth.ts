/**
 * Authentication and privileges as pve-access-control does them: signed tickets with
 * a 2 h lifetime and a CSRF token for ticket-authenticated writes, API tokens
 * (`PVEAPIToken=user@realm!id=uuid`, effective privileges = user ∩ token when
 * privilege-separated), and ACLs on paths with propagation.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AclEntry, SimState, SimTokenState } from './state.ts';

export const TICKET_LIFETIME_S = 7200;

/**
 * Privilege groups of pve-access-control (`$privgroups` in AccessControl.pm): per category, the
 * privileges only Administrator has (`root`), and those of its admin, user and audit roles.
 */
const PRIV_GROUPS: Readonly<Record<string, Readonly<Record<'root' | 'admin' | 'user' | 'audit', readonly string[]>>>> = {
  VM: {
    root: [],
    admin: ['VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType', 'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.GuestAgent.Unrestricted', 'VM.Migrate', 'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback'],
    user: ['VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.PowerMgmt'],
    audit: ['VM.Audit', 'VM.GuestAgent.Audit'],
  },
  Sys: { root: ['Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'], admin: ['Sys.Console', 'Sys.Syslog'], user: [], audit: ['Sys.Audit'] },
  Datastore: { root: [], admin: ['Datastore.Allocate', 'Datastore.AllocateTemplate'], user: ['Datastore.AllocateSpace'], audit: ['Datastore.Audit'] },
  SDN: { root: [], admin: ['SDN.Allocate', 'SDN.Audit'], user: ['SDN.Use'], audit: ['SDN.Audit'] },
  User: { root: ['Realm.Allocate'], admin: ['User.Modify', 'Group.Allocate', 'Realm.AllocateUser'], user: [], audit: [] },
  Pool: { root: [], admin: ['Pool.Allocate'], user: ['Pool.Audit'], audit: ['Pool.Audit'] },
  Mapping: { root: [], admin: ['Mapping.Modify'], user: ['Mapping.Use'], audit: ['Mapping.Audit'] },
};

/** Every privilege Proxmox knows (`$valid_privs`: the groups' and `Permissions.Modify`, which is in none). */
export const ALL_PRIVILEGES: readonly string[] = [...new Set(['Permissions.Modify', ...Object.values(PRIV_GROUPS).flatMap((g) => [...g.root, ...g.admin, ...g.user, ...g.audit])])].sort();

/** The built-in roles, composed as `create_roles` composes them. */
function builtInRoles(): Record<string, readonly string[]> {
  const roles: Record<string, Set<string>> = { NoAccess: new Set(), Administrator: new Set(ALL_PRIVILEGES), PVEAdmin: new Set(), PVEAuditor: new Set() };
  const add = (role: string, privs: readonly string[]) => {
    const set = (roles[role] ??= new Set());
    for (const p of privs) set.add(p);
  };
  for (const [cat, g] of Object.entries(PRIV_GROUPS)) {
    add(`PVE${cat}Admin`, [...g.admin, ...g.user, ...g.audit]);
    add('PVEAdmin', [...g.admin, ...g.user, ...g.audit]);
    if (g.user.length > 0) add(`PVE${cat}User`, [...g.user, ...g.audit]);
    add('PVEAuditor', g.audit);
  }
  // Only Administrator, root@pam and PVEMappingAdmin may modify mappings.
  roles['PVEAdmin']!.delete('Mapping.Modify');
  roles['PVETemplateUser'] = new Set(['VM.Clone', 'VM.Audit']);
  return Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, [...v].sort()]));
}

/** Roles as shipped by Proxmox (AccessControl.pm). */
export const ROLES: Readonly<Record<string, readonly string[]>> = builtInRoles();

/** Who is calling: a ticket user or an API token. */
export interface Subject {
  readonly userid: string;
  readonly tokenid?: string;
  readonly via: 'ticket' | 'token' | 'none';
}

export function subjectName(s: Subject): string {
  return s.tokenid === undefined ? s.userid : `${s.userid}!${s.tokenid}`;
}

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

export class TicketSigner {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('base64').replace(/=+$/, '');
  }

  /** `PVE:<userid>:<hex epoch>::<signature>` (pve-common Ticket.pm layout). */
  ticket(userid: string, nowS: number): string {
    const plain = `PVE:${userid}:${hex8(nowS)}`;
    return `${plain}::${this.#sign(plain)}`;
  }

  csrf(userid: string, nowS: number): string {
    const ts = hex8(nowS);
    return `${ts}:${this.#sign(`${ts}:${userid}`)}`;
  }

  /** The ticket's user when the signature is good and it is younger than 2 h. */
  verifyTicket(ticket: string, nowS: number, notBeforeS: number): string | undefined {
    const m = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!m) return undefined;
    if (!safeEqual(this.#sign(m[1]!), m[4]!)) return undefined;
    const issued = parseInt(m[3]!, 16);
    if (issued < notBeforeS || nowS - issued >= TICKET_LIFETIME_S || issued > nowS + 300) return undefined;
    return m[2]!;
  }

  verifyCsrf(token: string, userid: string, nowS: number): boolean {
    const m = /^([0-9A-F]{8}):(.+)$/.exec(token);
    if (!m) return false;
    const issued = parseInt(m[1]!, 16);
    return safeEqual(this.#sign(`${m[1]}:${userid}`), m[2]!) && nowS - issued < TICKET_LIFETIME_S;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parses `PVEAPIToken=user@realm!id=secret` (also with a space after the name). */
export function parseTokenHeader(header: string): { fullId: string; secret: string } | undefined {
  const m = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(header);
  if (!m) return undefined;
  const eq = m[1]!.lastIndexOf('=');
  if (eq < 0) return undefined;
  return { fullId: m[1]!.slice(0, eq), secret: m[1]!.slice(eq + 1) };
}

/** The privileges a role grants: built-in, or defined through `/access/roles`; a bare privilege name grants itself. */
export function rolePrivileges(state: SimState, role: string): readonly string[] {
  return ROLES[role] ?? state.roles?.[role] ?? [role];
}

/**
 * Privileges granted at `path` by one ACL list, each with whether the granting entry
 * propagates (what `/access/permissions` reports as 1 or 0).
 */
function privilegesAt(state: SimState, acl: readonly AclEntry[], path: string): Map<string, boolean> {
  const privs = new Map<string, boolean>();
  let best = -1;
  // The most specific matching ACL path wins, as in PVE's permission propagation.
  for (const entry of acl) {
    const applies = entry.path === path || (entry.propagate && (entry.path === '/' || path.startsWith(`${entry.path}/`)));
    if (!applies) continue;
    const depth = entry.path === '/' ? 0 : entry.path.split('/').length;
    if (depth < best) continue;
    if (depth > best) {
      privs.clear();
      best = depth;
    }
    for (const role of entry.roles) for (const p of rolePrivileges(state, role)) privs.set(p, (privs.get(p) ?? false) || entry.propagate);
  }
  return privs;
}

/**
 * What `subject` may do at `path`: privilege → propagates. The one model behind every 403 the
 * simulator answers and behind `/access/permissions`, so a client that pre-checks sees what it
 * would be refused.
 */
export function effectivePrivileges(state: SimState, subject: Subject, path: string): Map<string, boolean> {
  if (subject.via === 'none') return new Map();
  if (subject.userid === 'root@pam' && subject.tokenid === undefined) return new Map(ALL_PRIVILEGES.map((p) => [p, true]));
  const user = state.users.find((u) => u.userid === subject.userid);
  // A user's own entries and those of its groups together (Proxmox lets a user entry override
  // a group entry on the very same path; the simulator grants the union).
  const groupAcl = (state.groups ?? []).filter((g) => user?.groups?.includes(g.groupid)).flatMap((g) => g.acl);
  const userPrivs = subject.userid === 'root@pam' ? new Map(ALL_PRIVILEGES.map((p) => [p, true])) : privilegesAt(state, [...(user?.acl ?? []), ...groupAcl], path);
  if (subject.tokenid === undefined) return userPrivs;
  const token = findToken(state, `${subject.userid}!${subject.tokenid}`);
  if (!token) return new Map();
  if (!token.privsep) return userPrivs;
  // A privilege-separated token has the intersection of its own and its user's privileges.
  const tokenPrivs = privilegesAt(state, token.acl, path);
  return new Map([...userPrivs].filter(([p]) => tokenPrivs.has(p)).map(([p, prop]) => [p, prop && tokenPrivs.get(p)!]));
}

export function hasPrivilege(state: SimState, subject: Subject, path: string, priv: string): boolean {
  return effectivePrivileges(state, subject, path).has(priv);
}

export function findToken(state: SimState, fullId: string): SimTokenState | undefined {
  return state.tokens.find((t) => t.fullId === fullId);
}
