import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from './logging.ts';

/**
 * The logger of the reconcile running in the current async context (kind, object, generation,
 * reconcileID), so code far below a reconcile — the Proxmox and Portainer clients — can say what
 * it changed on behalf of which object without every caller passing a logger down.
 */
const scope = new AsyncLocalStorage<Logger>();

export function runInReconcileScope<T>(log: Logger, fn: () => Promise<T>): Promise<T> {
  return scope.run(log, fn);
}

/** A change an outside system accepted: what was done, to which guest or stack, by which task. */
export interface ExternalChange {
  readonly system: 'Proxmox' | 'Portainer';
  readonly method: string;
  readonly path: string;
  /** Names of the parameters sent (never their values, which may be passwords). */
  readonly params?: readonly string[];
  readonly guest?: string;
  readonly stack?: string;
  /** The task the change started (a Proxmox UPID). */
  readonly task?: string;
}

/** One info line per change Phoenix makes outside Kubernetes, with the reconcile's context. */
export function logExternalChange(change: ExternalChange): void {
  const log = scope.getStore();
  if (!log) return;
  const target = change.guest ? ` on guest ${change.guest}` : change.stack ? ` on stack ${change.stack}` : '';
  const task = change.task ? `, task ${change.task}` : '';
  log.info(`${change.system} change: ${change.method} ${change.path}${target}${task}`, {
    system: change.system.toLowerCase(),
    method: change.method,
    path: change.path,
    ...(change.params?.length ? { params: change.params.join(',') } : {}),
    ...(change.guest ? { guest: change.guest } : {}),
    ...(change.stack ? { stack: change.stack } : {}),
    ...(change.task ? { task: change.task } : {}),
  });
}
