import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { HostStep, ParamValue } from './plan.ts';
import { flag } from './plan.ts';

export type AclSpec = NonNullable<PhoenixHypervisorSpec['acls']>[number];

/** A row of `GET /access/acl`. */
export interface ObservedAcl {
  path: string;
  type: string;
  ugid: string;
  roleid: string;
  propagate?: number | string;
}

type SubjectType = 'user' | 'group' | 'token';
const paramOf: Record<SubjectType, string> = { user: 'users', group: 'groups', token: 'tokens' };

/** The id under which Phoenix records an entry it granted: `path|type|ugid|role`. */
export const aclId = (path: string, type: string, ugid: string, role: string): string => `${path}|${type}|${ugid}|${role}`;

function parseAclId(id: string): { path: string; type: SubjectType; ugid: string; role: string } | undefined {
  const parts = id.split('|');
  if (parts.length !== 4 || !(parts[1]! in paramOf)) return undefined;
  return { path: parts[0]!, type: parts[1] as SubjectType, ugid: parts[2]!, role: parts[3]! };
}


/**
 * Permissions: every (path, role, subject) the spec lists is granted with the declared
 * propagation. Entries the spec does not list are left alone, except those Phoenix granted
 * itself (recorded in status), which are revoked once the spec drops them.
 */
export function planAcls(desired: readonly AclSpec[] | undefined, observed: readonly ObservedAcl[], created: readonly string[]): HostStep[] {
  const steps: HostStep[] = [];
  const have = new Map(observed.map((a) => [aclId(a.path, a.type, a.ugid, a.roleid), a]));
  const wanted = new Set<string>();
  for (const acl of desired ?? []) {
    const propagate = acl.propagate ?? true;
    const subjects: [SubjectType, readonly string[] | undefined][] = [['user', acl.users], ['group', acl.groups], ['token', acl.tokens]];
    for (const [type, ids] of subjects) {
      for (const ugid of ids ?? []) {
        const id = aclId(acl.path, type, ugid, acl.role);
        if (wanted.has(id)) continue;
        wanted.add(id);
        const found = have.get(id);
        if (found && flag(found.propagate) === propagate) continue;
        const field = `acls[${acl.path} ${acl.role} ${type} ${ugid}]`;
        const params: Record<string, ParamValue> = { path: acl.path, roles: acl.role, [paramOf[type]]: ugid, propagate: propagate ? 1 : 0 };
        steps.push({
          item: `permission ${acl.role} on ${acl.path} for ${type} ${ugid}`,
          why: found ? `set propagation of ${acl.role} on ${acl.path} for ${type} ${ugid}` : `grant ${acl.role} on ${acl.path} to ${type} ${ugid}`,
          call: { method: 'PUT', path: '/access/acl', params },
          safe: true,
          differences: [found ? { field: `${field}.propagate`, observed: String(flag(found.propagate)), desired: String(propagate) } : { field, observed: '(missing)', desired: 'present' }],
          ...(found ? {} : { records: { kind: 'acls' as const, id } }),
        });
      }
    }
  }
  for (const id of created) {
    if (wanted.has(id)) continue;
    const entry = parseAclId(id);
    if (!entry || !have.has(id)) {
      // Gone already (revoked by a person, or with the user Proxmox deleted): only the record is left.
      steps.push({ item: `permission ${id}`, why: `forget permission ${id}, no longer in Proxmox`, safe: true, differences: [], forgets: { kind: 'acls', id } });
      continue;
    }
    steps.push({
      item: `permission ${entry.role} on ${entry.path} for ${entry.type} ${entry.ugid}`,
      why: `revoke ${entry.role} on ${entry.path} from ${entry.type} ${entry.ugid}, which Phoenix granted and the spec no longer lists`,
      call: { method: 'PUT', path: '/access/acl', params: { path: entry.path, roles: entry.role, [paramOf[entry.type]]: entry.ugid, delete: 1 } },
      safe: true,
      differences: [],
      forgets: { kind: 'acls', id },
    });
  }
  return steps;
}
