/**
 * What went wrong in a Portainer call, as a reconciler needs to know it. Portainer answers
 * `{message, details}` with a meaningful HTTP status (libhttp), so the kind comes from the
 * status; the texts are only used where one status means two things (see the notes on 400 and
 * 404 below).
 */
export type PortainerErrorKind =
  | 'NotFound' // the stack, environment or container does not exist (or the route does not)
  | 'Conflict' // 409: a stack or compose project of that name exists
  | 'Unauthorized' // 401: missing, wrong or revoked API key
  | 'Forbidden' // 403: the key's user may not do this
  | 'Invalid' // 400/422: the request was refused as it stands
  | 'Unavailable' // no response, timeout, 502/503/504 (an unreachable environment answers 502)
  | 'ServerError'; // 500: compose or the Docker daemon failed (its text says why)

export class PortainerApiError extends Error {
  override readonly name = 'PortainerApiError';
  readonly kind: PortainerErrorKind;
  /** HTTP status, or undefined when no response arrived. */
  readonly status: number | undefined;
  readonly method: string;
  /** The path without the query string: the query may name things, never credentials. */
  readonly path: string;
  /** Portainer's `message` and `details`, as sent (Docker's errors only have `message`). */
  readonly detail: string;

  constructor(init: { kind: PortainerErrorKind; status: number | undefined; detail: string; method: string; path: string }) {
    super(`${init.method} ${init.path}: ${init.status ?? 'no response'}${init.detail ? ` ${init.detail}` : ''}`);
    this.kind = init.kind;
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.detail = init.detail;
  }
}

export function classifyPortainerFailure(status: number | undefined): PortainerErrorKind {
  if (status === undefined || status === 502 || status === 503 || status === 504) return 'Unavailable';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 400 || status === 422) return 'Invalid';
  return 'ServerError';
}

export function isPortainerError(err: unknown, ...kinds: PortainerErrorKind[]): err is PortainerApiError {
  return err instanceof PortainerApiError && (kinds.length === 0 || kinds.includes(err.kind));
}

/** start on an active stack / stop on an inactive one: the state is already the one asked for. */
export function isAlreadyInState(err: unknown): boolean {
  return isPortainerError(err, 'Invalid') && /already (active|inactive)/i.test(err.detail);
}
