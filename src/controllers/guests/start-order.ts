/** What start ordering needs of a guest object, of either kind. */
export interface StartOrdered {
  spec?: { hypervisorRef?: { name: string }; startup?: { order?: number }; template?: boolean; powerState?: string };
  metadata: { name: string; namespace?: string };
}

/** `guest` starts after `other`: same hypervisor, a lower start order, and `other` is meant to run. */
export function startsAfter(guest: StartOrdered, other: StartOrdered): boolean {
  const mine = guest.spec?.startup?.order;
  const theirs = other.spec?.startup?.order;
  if (mine === undefined || theirs === undefined || theirs >= mine) return false;
  if (other.spec?.template || other.spec?.powerState === 'Stopped') return false;
  return guest.spec?.hypervisorRef?.name === other.spec?.hypervisorRef?.name;
}
