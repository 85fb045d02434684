/**
 * Fault tables shared by the simulators: faults are kept in order, matched by kind and a
 * predicate, and may be limited to a number of occurrences. Request faults match a method, a
 * route template and an endpoint group.
 */

export interface RequestFacts {
  readonly method: string;
  /** Path template, e.g. `/nodes/{node}/qemu/{vmid}/config`. */
  readonly path: string;
  readonly group: string;
}

export function requestMatches(f: { group?: string; method?: string; path?: string }, req: RequestFacts): boolean {
  return (f.group === undefined || f.group === req.group) && (f.method === undefined || f.method === req.method) && (f.path === undefined || f.path === req.path);
}

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
