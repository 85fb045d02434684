/**
 * Simulated worker tasks. A task gets its UPID at once, reports `running` until its
 * simulated duration has elapsed, then runs its `finish` step: a thrown error becomes
 * the exit status and `TASK ERROR: …`, warnings become `WARNINGS: n`. Completion is
 * settled lazily (on every request and clock advance), so the simulator needs no
 * timers and stays deterministic under a seed.
 */
import { formatUpid } from '../../proxmox/upid.ts';
import type { TaskWork } from './ideal.ts';

export interface TaskOutcome {
  readonly warnings?: readonly string[];
  readonly log?: readonly string[];
}

export interface SimTask {
  readonly upid: string;
  readonly node: string;
  readonly type: string;
  readonly id: string;
  readonly user: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  readonly endsAt: number;
  /** What the task had to do (its fixed part and disk I/O), apart from any wait for its storage. */
  readonly work: TaskWork;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

interface Pending {
  readonly task: SimTask;
  readonly finish: () => TaskOutcome | void;
}

export class TaskTable {
  readonly #tasks = new Map<string, SimTask>();
  #pending: Pending[] = [];
  #nextPid = 0x1000;

  constructor(pidSeed: number) {
    this.#nextPid += pidSeed % 0x10000;
  }

  start(spec: { node: string; type: string; id: string; user: string; nowMs: number; durationMs: number; work: TaskWork; log?: string[]; finish: () => TaskOutcome | void }): SimTask {
    const pid = this.#nextPid++;
    const starttime = Math.floor(spec.nowMs / 1000);
    const pstart = (starttime & 0xffffff) * 100 + (pid % 100);
    const upid = formatUpid({ node: spec.node, pid, pstart, starttime, type: spec.type, id: spec.id, user: spec.user });
    const task: SimTask = {
      upid, node: spec.node, type: spec.type, id: spec.id, user: spec.user, pid, pstart, starttime,
      endsAt: spec.nowMs + spec.durationMs, work: spec.work, status: 'running', log: [...(spec.log ?? [])],
    };
    this.#tasks.set(upid, task);
    this.#pending.push({ task, finish: spec.finish });
    return task;
  }

  get(upid: string): SimTask | undefined {
    return this.#tasks.get(upid);
  }

  running(): SimTask[] {
    return this.#pending.map((p) => p.task);
  }

  all(): SimTask[] {
    return [...this.#tasks.values()];
  }

  /** Runs the finish step of every task due by `nowMs`, earliest first. */
  settle(nowMs: number): void {
    for (;;) {
      const due = this.#pending.filter((p) => p.task.endsAt <= nowMs).sort((a, b) => a.task.endsAt - b.task.endsAt)[0];
      if (!due) return;
      this.#pending = this.#pending.filter((p) => p !== due);
      this.#complete(due);
    }
  }

  /** `DELETE /nodes/{node}/tasks/{upid}`: the worker is interrupted. */
  stop(upid: string, nowMs: number): boolean {
    const pending = this.#pending.find((p) => p.task.upid === upid);
    if (!pending) return false;
    this.#pending = this.#pending.filter((p) => p !== pending);
    this.#end(pending.task, 'received interrupt', nowMs);
    return true;
  }

  #complete({ task, finish }: Pending): void {
    try {
      const outcome = finish() ?? {};
      for (const line of outcome.log ?? []) task.log.push(line);
      const warnings = outcome.warnings ?? [];
      for (const w of warnings) task.log.push(`WARN: ${w}`);
      if (warnings.length > 0) {
        task.log.push(`TASK WARNINGS: ${warnings.length}`);
        this.#close(task, `WARNINGS: ${warnings.length}`, task.endsAt);
      } else {
        task.log.push('TASK OK');
        this.#close(task, 'OK', task.endsAt);
      }
    } catch (err) {
      const printed = (err as { log?: unknown }).log;
      if (Array.isArray(printed)) task.log.push(...(printed as string[]));
      this.#end(task, err instanceof Error ? err.message.replace(/\n$/, '') : String(err), task.endsAt);
    }
  }

  #end(task: SimTask, message: string, atMs: number): void {
    task.log.push(`TASK ERROR: ${message}`);
    this.#close(task, message, atMs);
  }

  #close(task: SimTask, exitstatus: string, atMs: number): void {
    task.status = 'stopped';
    task.exitstatus = exitstatus;
    task.endtime = Math.floor(atMs / 1000);
  }
}
