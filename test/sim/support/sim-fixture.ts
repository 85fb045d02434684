/** Starts a simulator per test with a manual clock, and a token-authenticated caller. */
import { startProxmoxSimulator, type RunningSimulator, type StartOptions } from '../../../src/sim/proxmox/index.ts';
import { encodePath, rawCall, type RawResponse } from './api-client.ts';

export interface Fixture {
  sim: RunningSimulator;
  call(method: string, path: string, params?: Record<string, string | number | readonly string[]>): Promise<RawResponse>;
  /** Advances simulated time until the task ends; returns its status record. */
  finish(upid: unknown): Promise<Record<string, unknown>>;
  taskLog(upid: unknown): Promise<string[]>;
}

/** 2026-01-01T00:00:00Z: a whole number of every lag period a test uses. */
export const FIXED_START_MS = Date.UTC(2026, 0, 1);

export async function startFixture(options: StartOptions = {}): Promise<Fixture> {
  // A fixed start: these tests step a manual clock, and where pvestatd's cycle boundaries
  // (resources lag) or task times fall must not depend on the moment the test runs.
  const sim = await startProxmoxSimulator({ clock: 'manual', seed: 5, startMs: FIXED_START_MS, ...options });
  const auth = { Authorization: sim.token.header };
  const call = (method: string, path: string, params: Record<string, string | number | readonly string[]> = {}) => rawCall(sim.url, auth, method, path, params);
  const taskPath = (upid: unknown) => `/nodes/${String(upid).split(':')[1]}/tasks/${encodePath(String(upid))}`;
  return {
    sim,
    call,
    async finish(upid) {
      for (let i = 0; i < 1000; i++) {
        const res = await call('GET', `${taskPath(upid)}/status`);
        const status = res.body?.data as Record<string, unknown>;
        if (status['status'] === 'stopped') return status;
        sim.admin.advance(1000);
      }
      throw new Error(`task ${String(upid)} never finished`);
    },
    async taskLog(upid) {
      const res = await call('GET', `${taskPath(upid)}/log`);
      return (res.body?.data as Array<{ t: string }>).map((l) => l.t);
    },
  };
}

export const DEBIAN_TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
