import type { Informer } from '../../runtime/informer.ts';
import type { KubeObject } from '../../runtime/resource.ts';
import { heldVmids, type Identified } from './identity.ts';
import type { StartOrdered } from './start-order.ts';

type Guest = KubeObject & StartOrdered & Identified;

const byVmid = 'vmids';
const byHypervisor = 'hypervisor';
const startOrderedOn = 'startOrderedOn';

/**
 * The guests of both kinds, for what one guest must know of the others: who holds a VMID, who
 * starts before it. Answered from indexes of the two shared caches, not by testing every guest:
 * a reconcile that scanned them all cost O(guests) each, so O(guests²) per cycle (with 10,000
 * cached objects, most of the controller's time and nearly all its garbage).
 */
export class GuestPeers {
  readonly #caches: readonly Informer<KubeObject>[];

  constructor(containers: Informer<KubeObject>, vms: Informer<KubeObject>) {
    this.#caches = [containers, vms];
    for (const cache of this.#caches) indexGuests(cache);
  }

  all(): Guest[] {
    return this.#caches.flatMap((cache) => cache.list()) as Guest[];
  }

  /** The guests that name, record or are annotated with `vmid` on `hypervisor`. */
  holding(hypervisor: string, vmid: number): Guest[] {
    return this.#caches.flatMap((cache) => cache.byIndex(byVmid, `${hypervisor}/${vmid}`)) as Guest[];
  }

  /** The guests on `hypervisor` that have a start order. */
  startOrdered(hypervisor: string): Guest[] {
    return this.#caches.flatMap((cache) => startOrderedGuests(cache, hypervisor)) as Guest[];
  }
}

/**
 * The indexes GuestPeers and the guest controllers' watches read; declared once per cache, by
 * whichever controller sets up first. An object they cannot read (no spec, which admission
 * refuses) is left out by the informer (see addIndex).
 */
function indexGuests(cache: Informer<KubeObject>): void {
  if (cache.hasIndex(byVmid)) return;
  cache.addIndex(byVmid, (object) => {
    const guest = object as Guest;
    return heldVmids(guest).map((vmid) => `${guest.spec.hypervisorRef.name}/${vmid}`);
  });
  cache.addIndex(byHypervisor, (object) => [(object as Guest).spec.hypervisorRef.name]);
  cache.addIndex(startOrderedOn, (object) => {
    const guest = object as Guest;
    return guest.spec.startup?.order === undefined ? [] : [guest.spec.hypervisorRef.name];
  });
}

/** The guests of `cache` (indexed by indexGuests) that use `hypervisor`. */
export function guestsOn<T extends KubeObject>(cache: Informer<T>, hypervisor: string): T[] {
  return cache.byIndex(byHypervisor, hypervisor);
}

/** The guests of `cache` (indexed by indexGuests) on `hypervisor` that have a start order. */
export function startOrderedGuests<T extends KubeObject>(cache: Informer<T>, hypervisor: string): T[] {
  return cache.byIndex(startOrderedOn, hypervisor);
}
