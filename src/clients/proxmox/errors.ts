/**
 * What went wrong in a Proxmox call, as a reconciler needs to know it. Proxmox reports most
 * failures as HTTP 500 with a message, so the kind is read from the message text, which is
 * stable across versions (see docs/proxmox-client.md for the catalogue).
 */
export type ProxmoxErrorKind =
  | 'NotFound' // the guest, task or object does not exist
  | 'AlreadyExists' // a VMID taken by another guest (another creator won the race)
  | 'Locked' // the guest holds a lock (a task is running on it)
  | 'LockTimeout' // a storage or config file lock timed out: transient, back off
  | 'Conflict' // digest mismatch: the config changed since it was read
  | 'Forbidden' // the token lacks a privilege
  | 'Unauthorized' // bad or expired token or ticket
  | 'InvalidParameter' // 400 with a per-parameter map
  | 'Unavailable' // no response, timeout, 595/596, node offline
  | 'ServerError'; // any other handler failure

export class ProxmoxApiError extends Error {
  override readonly name = 'ProxmoxApiError';
  readonly kind: ProxmoxErrorKind;
  /** HTTP status, or undefined when no response arrived. */
  readonly status: number | undefined;
  /** Per-parameter messages of a 400. */
  readonly fieldErrors: Readonly<Record<string, string>>;
  readonly method: string;
  readonly path: string;

  constructor(init: { kind: ProxmoxErrorKind; status: number | undefined; message: string; method: string; path: string; fieldErrors?: Record<string, string> }) {
    super(`${init.method} ${init.path}: ${init.status ?? 'no response'} ${init.message}`);
    this.kind = init.kind;
    this.status = init.status;
    this.fieldErrors = init.fieldErrors ?? {};
    this.method = init.method;
    this.path = init.path;
  }

  /** Worth trying again later without any change to the spec. */
  get transient(): boolean {
    return this.kind === 'Locked' || this.kind === 'LockTimeout' || this.kind === 'Unavailable' || this.kind === 'Conflict' || this.kind === 'ServerError';
  }
}

const patterns: [ProxmoxErrorKind, RegExp][] = [
  ['LockTimeout', /can't lock file '[^']*' - got timeout|got timeout|unable to acquire lock/i],
  ['NotFound', /Configuration file '[^']*' does not exist|unable to find configuration file|does not exist|no such (task|VM|CT|snapshot)|not found/i],
  ['AlreadyExists', /already exists|config file already exists/i],
  ['Locked', /(VM|CT) is locked \(|is locked/i],
  ['Conflict', /checksum mismatch|detected modified configuration|file changed by other user/i],
];

export function classifyProxmoxFailure(status: number | undefined, message: string): ProxmoxErrorKind {
  if (status === undefined || status === 595 || status === 596 || status === 502 || status === 503 || status === 504) return 'Unavailable';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 400) return 'InvalidParameter';
  for (const [kind, re] of patterns) if (re.test(message)) return kind;
  return 'ServerError';
}

export function isProxmoxError(err: unknown, ...kinds: ProxmoxErrorKind[]): err is ProxmoxApiError {
  return err instanceof ProxmoxApiError && (kinds.length === 0 || kinds.includes(err.kind));
}
