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

/** The indexes GuestPeers and the guest controllers' watches read; declared once per cache, by whichever controller sets up first. */
export function indexGuests(cache: Informer<KubeObject>): void {
  if (cache.hasIndex(byVmid)) return;
  // An index function runs inside the watch: one that threw on an object the API server let in
  // (admission is the CRD's, and a CRD can be edited) would stop the cache, not just that object.
  const hypervisorOf = (object: KubeObject) => (object as Partial<Guest>).spec?.hypervisorRef?.name;
  cache.addIndex(byVmid, (object) => {
    const hypervisor = hypervisorOf(object);
    return hypervisor === undefined ? [] : heldVmids(object as Guest).map((vmid) => `${hypervisor}/${vmid}`);
  });
  cache.addIndex(byHypervisor, (object) => {
    const hypervisor = hypervisorOf(object);
    return hypervisor === undefined ? [] : [hypervisor];
  });
  cache.addIndex(startOrderedOn, (object) => {
    const hypervisor = hypervisorOf(object);
    return hypervisor === undefined || (object as Guest).spec.startup?.order === undefined ? [] : [hypervisor];
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
