/**
 * Starts the Portainer CE simulator in-process.
 *
 * ```ts
 * const sim = await startPortainerSimulator({ seed: 7, clock: 'manual' });
 * const env = sim.admin.addEnvironment({ name: 'vm-101', url: 'tcp://10.0.0.101:9001' });
 * // sim.url    → 'http://127.0.0.1:41234' (the API is under /api)
 * // sim.apiKey → 'ptr_…' for the X-API-Key header (admin)
 * // sim.admin  → environments, faults, clock, counters, drift (crash, stop, edit, delete)
 * // sim.adminUrl → the same over HTTP under /_sim
 * await sim.close();
 * ```
 *
 * Options: `port` (0 = any free port), `https` (self-signed certificate), `seed`,
 * `speed`, `clock: 'real' | 'manual'`, `version` (default 2.21.4; `2.17.1` hides the
 * 2.19+ routes), `adminPassword`, `environments`, `state`. Listens on 127.0.0.1 only.
 */
import { serveOnLoopback } from '../common/serve.ts';
import { PortainerSimulator, type SimulatorOptions } from './simulator.ts';
import { PortainerAdmin, adminHandler } from './admin.ts';
import { apiHandler, Router } from './http.ts';
import { routes } from './api.ts';
import type { SimClock } from '../proxmox/clock.ts';

export interface StartOptions extends SimulatorOptions {
  port?: number;
  https?: boolean;
}

export interface RunningPortainerSimulator {
  /** `http(s)://127.0.0.1:<port>`; the API lives under `/api`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** `<url>/_sim`: the admin API over HTTP. */
  readonly adminUrl: string;
  /** A ready-to-use access token of `admin`, for the `X-API-Key` header. */
  readonly apiKey: string;
  readonly admin: PortainerAdmin;
  readonly clock: SimClock;
  readonly simulator: PortainerSimulator;
  readonly certificate?: string;
  close(): Promise<void>;
}

export const router = new Router(routes);

export async function startPortainerSimulator(options: StartOptions = {}): Promise<RunningPortainerSimulator> {
  const simulator = new PortainerSimulator(options);
  const admin = new PortainerAdmin(simulator);
  const apiKey = admin.createApiKey('phoenix');
  const handler = apiHandler(simulator, router, adminHandler(admin));
  const served = await serveOnLoopback({ ...(options.https !== undefined ? { https: options.https } : {}), ...(options.port !== undefined ? { port: options.port } : {}), commonName: 'portainer.sim' }, handler);
  const { url, port } = served;
  return {
    url, host: '127.0.0.1', port, adminUrl: `${url}/_sim`, apiKey, admin, clock: simulator.clock, simulator,
    ...(served.certificate !== undefined ? { certificate: served.certificate } : {}),
    close: async () => {
      simulator.clock.releaseAll();
      await served.close();
    },
  };
}

export { PortainerAdmin } from './admin.ts';
export type { ServiceRef, CrashOptions, ContainerSeed } from './admin.ts';
export type { PortainerFault } from './faults.ts';
export type { SimulatorOptions, EnvironmentSeed } from './simulator.ts';
export type { PortainerState } from './state.ts';
