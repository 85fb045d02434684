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

export { FaultTable, requestMatches, type RequestFacts } from '../common/faults.ts';
