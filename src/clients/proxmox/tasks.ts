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
export async function readTaskStatus(client: ProxmoxClient, upid: string, node: string): Promise<TaskStatus> {
  return (await client.api.nodes.$(parseUpid(upid)?.node ?? node).tasks.$(upid).status.$get()) as TaskStatus;
}
