/**
 * Errors as the Proxmox API daemon reports them. Handlers throw these; the HTTP layer
 * turns them into status, reason phrase (the message's first line) and JSON body.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** Per-parameter messages of a 400. */
  readonly errors: Readonly<Record<string, string>> | undefined;
  /** Auth-layer 401s and proxy 59x carry no JSON body on Proxmox. */
  readonly emptyBody: boolean;

  constructor(status: number, message: string, options: { errors?: Record<string, string>; emptyBody?: boolean } = {}) {
    super(message);
    this.status = status;
    this.errors = options.errors;
    this.emptyBody = options.emptyBody ?? false;
  }
}

/** A handler `die "msg\n"`: HTTP 500 with the message as reason phrase. */
export function fail(message: string): ApiError {
  return new ApiError(500, message.endsWith('\n') ? message : `${message}\n`);
}

/** `raise_param_exc`: HTTP 400 "Parameter verification failed." with per-parameter errors. */
export function paramError(errors: Record<string, string>): ApiError {
  return new ApiError(400, 'Parameter verification failed.\n', { errors });
}

/**
 * Runs `code` as Proxmox runs an edit under a config-file lock with an error message
 * (`lock_user_config`, `lock_domain_config`, `cfs_lock_file`): a `die` inside becomes
 * `die "$errmsg: $err"`.
 */
export function underConfigLock<T>(errmsg: string, code: () => T): T {
  try {
    return code();
  } catch (err) {
    if (err instanceof ApiError && err.status === 500) throw fail(`${errmsg}: ${err.message}`);
    throw err;
  }
}

export function permissionDenied(path: string, priv: string): ApiError {
  return new ApiError(403, `Permission check failed (${path}, ${priv})\n`);
}

/** Raised inside simulated task workers: becomes the task's exit status. */
export class TaskFailure extends Error {
  override readonly name = 'TaskFailure';

  /** What the worker printed before it died (a command's stderr), logged before `TASK ERROR`. */
  readonly log: readonly string[];

  constructor(message: string, log: readonly string[] = []) {
    super(message);
    this.log = log;
  }
}
