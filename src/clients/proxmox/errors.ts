/**
 * What went wrong in a Proxmox call, as a reconciler needs to know it. Proxmox reports most
 * failures as HTTP 500 whose message is the handler's `die` text, so a kind is given only for
 * the exact message forms Proxmox's own code writes (each cited below). Anything else, such as
 * a reverse proxy's "404 not found" page, is never taken for a Proxmox verdict: a guest is never
 * declared gone, taken or locked on loose text.
 */
export type ProxmoxErrorKind =
  | 'NotFound' // the guest, task or named object does not exist
  | 'AlreadyExists' // a VMID taken by another guest (another creator, or an earlier request of ours)
  | 'Locked' // the guest holds a lock (a task is running on it)
  | 'LockTimeout' // a storage or config file lock timed out: transient, back off
  | 'Conflict' // digest mismatch: the config changed since it was read
  | 'Forbidden' // the token lacks a privilege
  | 'Unauthorized' // bad or expired token or ticket
  | 'InvalidParameter' // 400 with a per-parameter map
  | 'TaskFailed' // the task the request waited for failed (a VM config POST with background_delay): see failedTaskStatus
  | 'Unavailable' // no response, timeout, 595/596, node offline, or something other than Proxmox answered
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
  /** Proxmox's own words (or the transport's), without the method, path and status. */
  readonly detail: string;

  constructor(init: { kind: ProxmoxErrorKind; status: number | undefined; message: string; method: string; path: string; fieldErrors?: Record<string, string> }) {
    super(`${init.method} ${init.path}: ${init.status ?? 'no response'} ${init.message}`);
    this.kind = init.kind;
    this.detail = init.message;
    this.status = init.status;
    this.fieldErrors = init.fieldErrors ?? {};
    this.method = init.method;
    this.path = init.path;
  }

  /** Worth trying again later without any change to the spec. */
  get transient(): boolean {
    return this.kind === 'Locked' || this.kind === 'LockTimeout' || this.kind === 'Unavailable' || this.kind === 'Conflict' || this.kind === 'ServerError';
  }

  /**
   * Whether Proxmox may have carried out the request although this error came back: no answer
   * arrived, or something other than a Proxmox verdict did (a 5xx without a known form, a
   * proxy's page). A refusal Proxmox wrote itself (400, 401, 403, a known 500 form) means it
   * did nothing.
   */
  get outcomeUnknown(): boolean {
    return this.kind === 'Unavailable' || this.kind === 'ServerError';
  }
}

/**
 * The 500 forms Proxmox writes, anywhere in the message (handlers prefix them, e.g.
 * "clone failed: CT is locked (disk)"), in the order they are tried.
 */
const serverForms: [ProxmoxErrorKind, RegExp][] = [
  // qemu-server API2/Qemu.pm update_vm_api, when the qmconfig task it waited for (background_delay)
  // failed: "failed to update VM 100: <exit status>". First: the exit status may itself have a
  // form below (a digest or lock found changed inside the task), which is the task's, not the request's.
  ['TaskFailed', /^failed to update VM \d+: /],
  // PVE::Tools::lock_file_full: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout";
  // PVE::Cluster::cfs_lock: "cfs-lock 'file-storage_cfg' error: got lock request timeout".
  ['LockTimeout', /can't lock file '[^']+' - got timeout|cfs-lock '[^']+' error: got lock request timeout/],
  // pve-guest-common AbstractConfig::load_config.
  ['NotFound', /Configuration file '[^']+' does not exist/],
  // pve-cluster Cluster::check_vmid_unused; qemu-server clone_vm's own check.
  ['AlreadyExists', /\b(?:CT|VM) \d+ already exists on node '[^']+'|unable to create VM \d+: config file already exists/],
  // pve-guest-common AbstractConfig::check_lock: "<CT|VM> is locked (<lock>)".
  ['Locked', /\b(?:CT|VM) is locked \([a-z][a-z-]*\)/],
  // qemu-server: "checksum mismatch (file change by other user?)"; PVE::Tools::assert_if_modified.
  ['Conflict', /checksum mismatch \(file change by other user\?\)|detected modified configuration - file changed by other user\? Try again\./],
  // Handlers naming a missing object: pve-guest-common ("snapshot 'x' does not exist"),
  // pve-storage ("storage 'x' does not exist", "volume 'x' does not exist"), pve-access-control
  // and pools ("pool 'x' does not exist", "user 'x' does not exist").
  ['NotFound', /\b(?:snapshot|storage|volume|pool|user|group|role|disk) '[^']+' does not exist/],
];

/** 400 parameter errors that say an object is missing (pve-manager API2/Tasks.pm, network). */
const missingParams: [string, RegExp][] = [
  ['upid', /^no such task$/],
  ['iface', /^interface does not exist$/],
];

export function classifyProxmoxFailure(status: number | undefined, message: string, fieldErrors: Readonly<Record<string, string>> = {}): ProxmoxErrorKind {
  // 595/596 are the proxy's pseudo-statuses for an unreachable node; 404 is never Proxmox's
  // answer to an API path (unknown paths are 501), so it comes from something in between.
  if (status === undefined || status === 404 || status === 502 || status === 503 || status === 504 || status === 595 || status === 596) return 'Unavailable';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 400) {
    const fields = Object.entries(fieldErrors);
    if (fields.length === 1 && missingParams.some(([field, re]) => fields[0]![0] === field && re.test(fields[0]![1].trim()))) return 'NotFound';
    return 'InvalidParameter';
  }
  if (status === 500) for (const [kind, re] of serverForms) if (re.test(message)) return kind;
  return 'ServerError';
}

/** The kind of a task's failure, from its exit status (the `TASK ERROR:` text). */
export function classifyTaskFailure(exitStatus: string): ProxmoxErrorKind {
  return classifyProxmoxFailure(500, exitStatus);
}

/** The exit status of the task a TaskFailed error waited for, as the task's own status would show it. */
export function failedTaskStatus(err: ProxmoxApiError): string {
  return err.detail.replace(/^failed to update VM \d+: /, '').trim();
}

export function isProxmoxError(err: unknown, ...kinds: ProxmoxErrorKind[]): err is ProxmoxApiError {
  return err instanceof ProxmoxApiError && (kinds.length === 0 || kinds.includes(err.kind));
}
