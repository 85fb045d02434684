/**
 * Injectable faults of the Portainer simulator. Request faults match a method, a route
 * template (`/stacks/{id}`) or a group (`stacks`, `endpoints`, `docker`, `auth`,
 * `system`); deploy faults match what compose would do on an environment.
 *
 * The table is a generic copy of `src/sim/proxmox/faults.ts`'s FaultTable, whose `take`
 * is typed to Proxmox's fault union; see docs/portainer-simulator.md for the proposal to
 * share one generic table from `src/sim/common/`.
 */
export { requestMatches, type RequestFacts } from '../proxmox/faults.ts';

export type PortainerFault =
  /** Delays matching responses by `ms` of simulated time. */
  | { kind: 'latency'; ms: number; group?: string; method?: string; path?: string; count?: number }
  /** Fails a fraction of matching requests (500 `{message, details}` unless `status`). */
  | { kind: 'error'; rate: number; group?: string; method?: string; path?: string; status?: number; message?: string; count?: number }
  /** Destroys the socket without a response, before or after the handler acted. */
  | { kind: 'drop'; when: 'before' | 'after'; group?: string; method?: string; path?: string; count?: number }
  /** Pulls of matching images fail as the registry would refuse them. */
  | { kind: 'pull-failure'; image: string; endpointId?: number; message?: string; count?: number };

export type PortainerFaultKind = PortainerFault['kind'];

type Countable = { kind: string; count?: number };

export class FaultTable<F extends Countable> {
  #faults: F[] = [];

  add(fault: F): void {
    this.#faults.push({ ...fault });
  }

  clear(kind?: F['kind']): void {
    this.#faults = kind === undefined ? [] : this.#faults.filter((f) => f.kind !== kind);
  }

  list(): readonly F[] {
    return this.#faults;
  }

  /** The first matching fault of a kind; one of its occurrences is used up. */
  take<K extends F['kind']>(kind: K, matches: (f: Extract<F, { kind: K }>) => boolean): Extract<F, { kind: K }> | undefined {
    for (const f of this.#faults) {
      if (f.kind !== kind) continue;
      const typed = f as Extract<F, { kind: K }>;
      if (!matches(typed)) continue;
      if (typed.count !== undefined) {
        typed.count -= 1;
        if (typed.count <= 0) this.#faults = this.#faults.filter((x) => x !== f);
      }
      return typed;
    }
    return undefined;
  }
}
