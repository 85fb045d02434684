/**
 * Following a Proxmox task recorded in status (its UPID persisted before anything else), the
 * same way for guests and for host configuration.
 */

/** The record of a task just submitted, as status.task keeps it (its UPID persisted before anything else). */
export function runningTask(upid: string, operation: string, node: string): { upid: string; operation: string; node: string; status: 'running'; startTime: string } {
  return { upid, operation, node, status: 'running', startTime: new Date().toISOString() };
}

/** Polls a young task often and an old one rarely: fast convergence without hammering Proxmox. */
export function taskPollDelayMs(startTime: string | undefined, now: number): number {
  const age = startTime ? now - Date.parse(startTime) : 0;
  if (age < 5_000) return 500;
  if (age < 30_000) return 1_000;
  return 2_000;
}

/** A stopped task's outcome, and the record `status.lastTask` keeps of it. WARNINGS still count as done. */
export function finishedTask<T extends object>(task: T, state: { readonly exitstatus?: string; readonly endtime?: number }): { ok: boolean; exit: string; finished: T & { status: 'stopped'; exitStatus: string; endTime?: string } } {
  const exit = state.exitstatus ?? 'unknown';
  const ok = exit === 'OK' || exit.startsWith('WARNINGS');
  return { ok, exit, finished: { ...task, status: 'stopped' as const, exitStatus: exit, ...(state.endtime ? { endTime: new Date(state.endtime * 1000).toISOString() } : {}) } };
}
