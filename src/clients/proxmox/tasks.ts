import { parseUpid } from '../../proxmox/upid.ts';
import type { ProxmoxClient } from './client.ts';

/** What `GET /nodes/{node}/tasks/{upid}/status` answers, as far as Phoenix reads it. */
export interface TaskStatus {
  readonly status: 'running' | 'stopped';
  readonly exitstatus?: string;
  readonly type?: string;
  readonly starttime?: number;
  readonly endtime?: number;
}

/**
 * The status of a task. It is asked of the node the UPID names, which is where the task log
 * lives, so a task is found even after its guest migrated; `node` serves only for a UPID that
 * does not parse.
 */
/**
 * The last lines a task printed before its end (`TASK OK`/`TASK ERROR` left out): where a
 * failed command's own reason is, when the exit status only says it failed. Reads the first
 * `limit` lines, which covers the short logs of the tasks this is used for.
 */
export async function readTaskLogTail(client: ProxmoxClient, upid: string, node: string, lines: number, limit = 500): Promise<string[]> {
  const log = (await client.api.nodes.$(parseUpid(upid)?.node ?? node).tasks.$(upid).log.$get({ start: 0, limit } as never)) as { n: number; t: string }[];
  return log.map((l) => l.t).filter((t) => !/^TASK (OK|ERROR|WARNINGS)/.test(t) && t.trim() !== '').slice(-lines);
}

export async function readTaskStatus(client: ProxmoxClient, upid: string, node: string): Promise<TaskStatus> {
  return (await client.api.nodes.$(parseUpid(upid)?.node ?? node).tasks.$(upid).status.$get()) as TaskStatus;
}
