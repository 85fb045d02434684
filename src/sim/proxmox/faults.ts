/**
 * Injectable faults. Each is matched against a request (method, path template, endpoint
 * group) or a task, and may be limited to a number of occurrences. Decisions that
 * involve chance use the simulator's seeded generator, so runs are reproducible.
 *
 * Request faults act `before` the server acts (nothing happened yet) or `after` it (the
 * request was applied: a guest exists, a task runs), which is what a client cannot tell apart
 * from the outside and must survive.
 *
 * Delays are in one of two units:
 * - `ms`: simulated milliseconds. They scale with `--speed`, and a manual clock releases them
 *   only when advanced. Use them for time Proxmox itself spends.
 * - `realMs`: wall-clock milliseconds, whatever the speed or clock mode. A client's timeout
 *   counts wall-clock time, so use these to answer after a client has given up.
 */
export type When = 'before' | 'after';

interface RequestMatch {
  group?: string;
  method?: string;
  path?: string;
  count?: number;
}

/** Exactly one of `ms` (simulated) or `realMs` (wall clock). */
export interface Delay {
  ms?: number;
  realMs?: number;
}

export type Fault =
  /**
   * Holds matching requests. `before` (the default): the request waits before the server acts,
   * so it is applied late, possibly after the client gave up. `after`: the server acts at once
   * and the answer waits, so the client may time out although Proxmox did it.
   */
  | ({ kind: 'latency'; when?: When; rate?: number } & Delay & RequestMatch)
  /**
   * Fails a fraction of matching requests with `status` (500 unless given). `before` (the
   * default): instead of acting. `after`: the request was applied, then the answer is this
   * error. A status below 502 has Proxmox's handler-error body `{data: null, message}`; 502 and
   * above are proxy answers (pveproxy's 595/596, a reverse proxy's 502/504) with an empty body.
   */
  | ({ kind: 'error'; rate: number; when?: When; status?: number; message?: string } & RequestMatch)
  /** Drops the connection without a response, before or after the server acted. */
  | ({ kind: 'drop'; when: When; rate?: number } & RequestMatch)
  /** Tasks that allocate on this storage fail with Proxmox's storage lock timeout. */
  | { kind: 'storage-lock-timeout'; storage: string; count?: number }
  /** Matching tasks end with this error (or warnings) instead of OK. */
  | { kind: 'task-failure'; taskType: string; vmid?: number; message?: string; warnings?: number; count?: number }
  /**
   * Matching tasks take this many simulated ms longer (a config change that allocates a disk or
   * hotplugs memory, a busy node). Taken when the task starts; combines with a task-failure.
   */
  | { kind: 'slow-task'; taskType: string; vmid?: number; ms: number; count?: number };

export type FaultKind = Fault['kind'];

/** Reason phrases of answers that come from a proxy rather than from the API handler. */
const PROXY_REASONS: Readonly<Record<number, string>> = {
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  // AnyEvent::HTTP's statuses, which pveproxy passes on when pvedaemon or another node does not answer.
  595: 'Connection refused', 596: 'Connection timed out', 597: 'Broken pipe', 599: 'Internal Server Error',
};

/** The status, reason phrase and whether Proxmox's JSON error body comes with an injected error. */
export function injectedAnswer(f: Extract<Fault, { kind: 'error' }>): { status: number; message: string; emptyBody: boolean } {
  const status = f.status ?? 500;
  if (status < 502) return { status, message: f.message ?? 'injected error', emptyBody: false };
  return { status, message: f.message ?? PROXY_REASONS[status] ?? 'Bad Gateway', emptyBody: true };
}

const KINDS: readonly FaultKind[] = ['latency', 'error', 'drop', 'storage-lock-timeout', 'task-failure', 'slow-task'];

/**
 * A fault object as the admin API and `--fault` take it, checked so that a typo is a clear
 * error instead of a fault that silently never fires.
 */
export function parseFault(input: unknown): Fault {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new Error('a fault is a JSON object');
  const f = input as Record<string, unknown>;
  const kind = f['kind'] as FaultKind;
  if (!KINDS.includes(kind)) throw new Error(`fault kind must be one of ${KINDS.join(', ')}`);
  const number = (key: string, required = false) => {
    if (f[key] === undefined && !required) return;
    if (typeof f[key] !== 'number' || !Number.isFinite(f[key]) || (f[key] as number) < 0) throw new Error(`${kind}: '${key}' must be a non-negative number`);
  };
  const string = (key: string, required = false) => {
    if (f[key] === undefined && !required) return;
    if (typeof f[key] !== 'string') throw new Error(`${kind}: '${key}' must be a string`);
  };
  const when = (required: boolean) => {
    if (f['when'] === undefined && !required) return;
    if (f['when'] !== 'before' && f['when'] !== 'after') throw new Error(`${kind}: 'when' must be 'before' or 'after'`);
  };
  number('count');
  if (kind === 'latency' || kind === 'error' || kind === 'drop') for (const k of ['group', 'method', 'path']) string(k);
  // latency and drop hit every match unless a rate says which fraction (seeded dice, like error's).
  if (kind === 'latency' || kind === 'drop') {
    number('rate');
    if ((f['rate'] as number | undefined) !== undefined && (f['rate'] as number) > 1) throw new Error(`${kind}: 'rate' must be between 0 and 1`);
  }
  if (kind === 'latency') {
    when(false);
    number('ms');
    number('realMs');
    if ((f['ms'] === undefined) === (f['realMs'] === undefined)) throw new Error("latency: give exactly one of 'ms' (simulated time) or 'realMs' (wall-clock time)");
  } else if (kind === 'error') {
    when(false);
    number('rate', true);
    if ((f['rate'] as number) > 1) throw new Error("error: 'rate' must be between 0 and 1");
    number('status');
    string('message');
  } else if (kind === 'drop') when(true);
  else if (kind === 'storage-lock-timeout') string('storage', true);
  else if (kind === 'slow-task') {
    string('taskType', true);
    number('vmid');
    number('ms', true);
  } else {
    string('taskType', true);
    number('vmid');
    number('warnings');
    string('message');
  }
  return { ...f } as Fault;
}

export { FaultTable, requestMatches, type RequestFacts } from '../common/faults.ts';
