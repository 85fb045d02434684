/**
 * An error worth retrying, with the condition reason a person should see meanwhile
 * (for example StorageLockTimeout rather than a generic ReconcileError).
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
