/**
 * Injectable faults. Each is matched against a request (method, path template, endpoint
 * group) or a task, and may be limited to a number of occurrences. Decisions that
 * involve chance use the simulator's seeded generator, so runs are reproducible.
 */
export type Fault =
  /** Delays matching responses by `ms` of simulated time. */
  | { kind: 'latency'; ms: number; group?: string; method?: string; path?: string; count?: number }
  /** Fails a fraction of matching requests with a handler error (500 unless `status`). */
  | { kind: 'error'; rate: number; group?: string; method?: string; path?: string; status?: number; message?: string; count?: number }
  /** Drops the connection without a response, before or after the server acted. */
  | { kind: 'drop'; when: 'before' | 'after'; group?: string; method?: string; path?: string; count?: number }
  /** Tasks that allocate on this storage fail with Proxmox's storage lock timeout. */
  | { kind: 'storage-lock-timeout'; storage: string; count?: number }
  /** Matching tasks end with this error (or warnings) instead of OK. */
  | { kind: 'task-failure'; taskType: string; vmid?: number; message?: string; warnings?: number; count?: number };

export type FaultKind = Fault['kind'];

export interface RequestFacts {
  readonly method: string;
  /** Path template, e.g. `/nodes/{node}/qemu/{vmid}/config`. */
  readonly path: string;
  readonly group: string;
}

export class FaultTable {
  #faults: Fault[] = [];

  add(fault: Fault): void {
    this.#faults.push({ ...fault });
  }

  clear(kind?: FaultKind): void {
    this.#faults = kind === undefined ? [] : this.#faults.filter((f) => f.kind !== kind);
  }

  list(): readonly Fault[] {
    return this.#faults;
  }

  /** Returns the first matching fault of a kind and consumes one of its occurrences. */
  take<K extends FaultKind>(kind: K, matches: (f: Extract<Fault, { kind: K }>) => boolean): Extract<Fault, { kind: K }> | undefined {
    for (const f of this.#faults) {
      if (f.kind !== kind) continue;
      const typed = f as Extract<Fault, { kind: K }>;
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

export function requestMatches(f: { group?: string; method?: string; path?: string }, req: RequestFacts): boolean {
  return (f.group === undefined || f.group === req.group) && (f.method === undefined || f.method === req.method) && (f.path === undefined || f.path === req.path);
}
