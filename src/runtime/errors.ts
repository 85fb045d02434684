/**
 * A reconcile error that retrying cannot fix (an invalid spec, a missing required reference the
 * user must create). The controller records it as Stalled=True and does not retry; the next
 * change to the object (or a mapped dependency) triggers a fresh reconcile.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  /** CamelCase condition reason, e.g. InvalidSpec. */
  readonly reason: string;
  /**
   * For a stall that depends on the outside world rather than the spec (a guest held by another
   * owner, a value Proxmox would not keep): look again after this long, so the object recovers
   * by itself once the world changes. Without it, only a change to the object retries.
   */
  readonly recheckAfterMs: number | undefined;

  constructor(reason: string, message: string, options?: { cause?: unknown; recheckAfterMs?: number }) {
    super(message, options);
    this.reason = reason;
    this.recheckAfterMs = options?.recheckAfterMs;
  }
}

/**
 * An error worth retrying with backoff, with the condition reason a person should see
 * meanwhile (StorageLockTimeout, Unreachable…) instead of a generic ReconcileError.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}

/** A non-2xx answer from the Kubernetes API, with the fields of its Status body. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }

  static fromResponse(code: number, body: string, what: string): KubeApiError {
    let status: { reason?: unknown; message?: unknown } = {};
    try {
      status = JSON.parse(body) as typeof status;
    } catch {
      // Not a Status object (a proxy's HTML page, say): keep the start of the text.
    }
    const reason = typeof status.reason === 'string' ? status.reason : `HTTP${code}`;
    const message = typeof status.message === 'string' ? status.message : body.slice(0, 200);
    return new KubeApiError(code, reason, `${what}: ${code} ${reason}: ${message}`);
  }
}

export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => apiErrorCode(err) === 404;
export const isConflict = (err: unknown): boolean => apiErrorCode(err) === 409;
export const isGone = (err: unknown): boolean => apiErrorCode(err) === 410;
