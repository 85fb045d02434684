import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { Difference, HostStep, ParamValue } from './plan.ts';
import { flag, sameSet, splitList, text } from './plan.ts';
import { secondsTime } from '../runtime/kube-time.ts';

export type UserSpec = NonNullable<PhoenixHypervisorSpec['users']>[number];

/** A user as `GET /access/users?full=1` lists it. */
export interface ObservedUser {
  userid: string;
  enable?: number | string;
  expire?: number | string;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  groups?: string;
}

/**
 * A password to write: the Secret's value (sent, never shown) and its resourceVersion, which
 * is what status records. The value is never compared with anything: Proxmox does not reveal
 * passwords, and a hash in status would be a secret too.
 */
export interface PasswordSource {
  readonly value: string;
  readonly resourceVersion: string;
}

/** The Secret resourceVersion last written as a user's password (`status.userPasswords`). */
export type AppliedPasswords = Readonly<Record<string, string>>;

const textFields = [
  { spec: 'comment', option: 'comment' },
  { spec: 'email', option: 'email' },
  { spec: 'firstName', option: 'firstname' },
  { spec: 'lastName', option: 'lastname' },
] as const;


/** RFC 3339 to the epoch seconds Proxmox keeps (0 = never). */
export const expireSeconds = (expire: string): number => Math.max(0, Math.floor(Date.parse(expire) / 1000));

const expireText = (seconds: number): string => (seconds ? secondsTime(seconds * 1000) : 'never');

/**
 * Users the spec lists: missing ones are created, the declared fields (and `enabled`, which
 * defaults to true) are kept. A `pve` user's password comes from a Secret: sent with the
 * create call, and again only when the Secret's resourceVersion differs from the one status
 * records. A user Phoenix created and the spec no longer lists is deleted; any other user is
 * never touched.
 */
export function planUsers(
  desired: readonly UserSpec[] | undefined,
  observed: readonly ObservedUser[],
  created: readonly string[],
  passwords: Readonly<Record<string, PasswordSource>>,
  applied: AppliedPasswords,
): HostStep[] {
  const steps: HostStep[] = [];
  const byId = new Map(observed.map((u) => [u.userid, u]));
  for (const u of desired ?? []) {
    const have = byId.get(u.userid);
    const item = `user ${u.userid}`;
    const password = passwords[u.userid];
    if (!have) {
      const params: Record<string, ParamValue> = { userid: u.userid };
      if (u.enabled === false) params['enable'] = 0;
      if (u.expire !== undefined) params['expire'] = expireSeconds(u.expire);
      for (const { spec, option } of textFields) if (u[spec]) params[option] = u[spec];
      if (u.groups?.length) params['groups'] = [...u.groups].sort().join(',');
      if (password) params['password'] = password.value;
      steps.push({
        item,
        why: `create user ${u.userid}${password ? ' with the password from its Secret' : ''}`,
        call: { method: 'POST', path: '/access/users', params },
        safe: true,
        differences: [{ field: `users[${u.userid}]`, observed: '(missing)', desired: 'present' }],
        records: { kind: 'users', id: u.userid },
        ...(password ? { secretParams: ['password'], password: { userid: u.userid, resourceVersion: password.resourceVersion } } : {}),
      });
      continue;
    }
    const set: Record<string, ParamValue> = {};
    const differences: Difference[] = [];
    const enabled = u.enabled ?? true;
    // Proxmox leaves `enable` out of a user that is enabled.
    const isEnabled = flag(have.enable, true);
    if (isEnabled !== enabled) {
      set['enable'] = enabled ? 1 : 0;
      differences.push({ field: `users[${u.userid}].enabled`, observed: String(isEnabled), desired: String(enabled) });
    }
    if (u.expire !== undefined) {
      const want = expireSeconds(u.expire);
      const got = Number(have.expire ?? 0);
      if (want !== got) {
        set['expire'] = want;
        differences.push({ field: `users[${u.userid}].expire`, observed: expireText(got), desired: expireText(want) });
      }
    }
    for (const { spec, option } of textFields) {
      const want = u[spec];
      if (want !== undefined && (have[option] ?? '') !== want) {
        set[option] = want;
        differences.push({ field: `users[${u.userid}].${spec}`, observed: text(have[option]), desired: want || '(unset)' });
      }
    }
    if (u.groups !== undefined) {
      const got = splitList(have.groups);
      if (!sameSet(got, u.groups)) {
        // The whole list is sent: Proxmox replaces the membership unless told to append.
        set['groups'] = [...u.groups].sort().join(',');
        differences.push({ field: `users[${u.userid}].groups`, observed: [...got].sort().join(',') || '(none)', desired: String(set['groups']) || '(none)' });
      }
    }
    if (differences.length) {
      steps.push({
        item,
        why: `update ${differences.map((d) => d.field.replace(/^users\[[^\]]*\]\./, '')).join(', ')} of user ${u.userid}`,
        call: { method: 'PUT', path: `/access/users/{${u.userid}}`, params: set },
        safe: true,
        differences,
      });
    }
    if (password && applied[u.userid] !== password.resourceVersion) {
      steps.push({
        item,
        why: applied[u.userid] === undefined ? `set the password of user ${u.userid} from its Secret` : `set the password of user ${u.userid}: its Secret changed`,
        call: { method: 'PUT', path: '/access/password', params: { userid: u.userid, password: password.value } },
        safe: true,
        // A new Secret version is not drift: nothing in Proxmox changed.
        differences: [],
        secretParams: ['password'],
        password: { userid: u.userid, resourceVersion: password.resourceVersion },
      });
    }
  }
  const wanted = new Set((desired ?? []).map((u) => u.userid));
  for (const id of created) {
    if (wanted.has(id)) continue;
    if (!byId.has(id)) {
      steps.push({ item: `user ${id}`, why: `forget user ${id}, removed outside Phoenix`, safe: true, differences: [], forgets: { kind: 'users', id } });
      continue;
    }
    steps.push({
      item: `user ${id}`,
      why: `delete user ${id}, which Phoenix created and the spec no longer lists`,
      call: { method: 'DELETE', path: `/access/users/{${id}}` },
      safe: true,
      differences: [],
      forgets: { kind: 'users', id },
    });
  }
  return steps;
}
