/**
 * Who may set which guest tags: pve-guest-common src/PVE/GuestHelpers.pm assert_tag_permissions
 * and get_allowed_tags, driven by the datacenter's `user-tag-access` and `registered-tags`.
 * Without Sys.Modify on `/`, a changed tag must be allowed (any, when `user-allow` is `free`;
 * those in `user-allow-list`; for `existing`/`free`, those on guests the user can audit) and must
 * not be a registered one.
 */
import { parsePropertyString } from '../../../proxmox/property-string.ts';
import { splitList } from '../../../proxmox/tags.ts';
import { ApiError, permissionDenied } from '../errors.ts';
import { hasPrivilege, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';

const USER_TAG_ACCESS = {
  'user-allow': { type: 'string', optional: true },
  'user-allow-list': { type: 'string', optional: true },
} as const;

function allowedTags(sim: Simulator, subject: Subject): { allowed: Set<string>; registered: Set<string>; freeform: boolean } {
  const options = sim.state.datacenter?.options ?? {};
  const registered = new Set(splitList(String(options['registered-tags'] ?? '')));
  const access = parsePropertyString(String(options['user-tag-access'] ?? ''), USER_TAG_ACCESS).values;
  const userAllow = access['user-allow'] ?? 'free';
  const allowed = new Set<string>();
  if (userAllow !== 'none') for (const t of splitList(access['user-allow-list'] ?? '')) allowed.add(t);
  if (userAllow === 'free' || userAllow === 'existing') {
    for (const g of sim.state.guests) {
      if (!hasPrivilege(sim.state, subject, `/vms/${g.vmid}`, 'VM.Audit')) continue;
      for (const t of splitList(g.config['tags'] ?? '')) allowed.add(t);
    }
  }
  for (const t of registered) allowed.delete(t);
  return { allowed, registered, freeform: userAllow === 'free' };
}

/** Checks the tags that differ between the old and new `tags` values (a deletion's new value is ''). */
export function assertTagPermissions(sim: Simulator, subject: Subject, vmid: number, oldTags: string | undefined, newTags: string | undefined): void {
  const path = `/vms/${vmid}`;
  if (!hasPrivilege(sim.state, subject, path, 'VM.Config.Options')) throw permissionDenied(path, 'VM.Config.Options');
  if (hasPrivilege(sim.state, subject, '/', 'Sys.Modify')) return;
  const count = (text: string | undefined) => splitList(text ?? '').reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<string, number>());
  const before = count(oldTags);
  const after = count(newTags);
  let rules: ReturnType<typeof allowedTags> | undefined;
  for (const tag of new Set([...before.keys(), ...after.keys()])) {
    if ((before.get(tag) ?? 0) === (after.get(tag) ?? 0)) continue;
    rules ??= allowedTags(sim, subject);
    if ((!rules.allowed.has(tag) && !rules.freeform) || rules.registered.has(tag)) {
      throw new ApiError(403, `Permission check failed (/, Sys.Modify for modifying tag '${tag}')\n`);
    }
  }
}
