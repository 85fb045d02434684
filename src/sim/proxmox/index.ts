/**
 * Starts the Proxmox VE simulator in-process.
 *
 * ```ts
 * const sim = await startProxmoxSimulator({ seed: 7, clock: 'manual' });
 * // sim.url      → 'http://127.0.0.1:41234' (append /api2/json/…; what proxmox-api's host/port point at)
 * // sim.token    → { fullId: 'root@pam!phoenix', secret, header } (privsep=0, full rights)
 * // sim.admin    → seed nodes/storages/templates/guests/tokens, inject faults, advance time, read counters
 * // sim.adminUrl → the same over HTTP: `${adminUrl}/faults`, `/counters`, `/clock/advance`, …
 * await sim.close();
 * ```
 *
 * Options: `port` (default 0 = any free port), `https` (self-signed certificate),
 * `seed`, `speed` (simulated seconds per real second), `clock: 'real' | 'manual'`,
 * `pveVersion: '9.1' | '8.4'`, `state` (initial SimState), `resourcesLagMs`,
 * `authFailureDelayMs`, `ssh` (the node's SSH server for `pct exec`/`pct push`, see ssh.ts:
 * `{ port, node }`, or false for none; by default on a free port). Every server listens on
 * 127.0.0.1 only.
 */
import { serveOnLoopback } from '../common/serve.ts';
import { Simulator, type SimulatorOptions } from './simulator.ts';
import { SimAdmin, adminHandler, type IssuedToken } from './admin.ts';
import { apiHandler } from './http.ts';
import { Router } from './endpoint.ts';
import { endpoints } from './api/index.ts';
import type { SimClock } from './clock.ts';
import { startSshServer, type RunningSshServer, type SshServerOptions } from './ssh.ts';

export interface StartOptions extends SimulatorOptions {
  port?: number;
  https?: boolean;
  ssh?: false | SshServerOptions;
}

export interface RunningSimulator {
  /** `http(s)://127.0.0.1:<port>`; the API lives under `/api2/json`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** `<url>/_sim`: the admin API over HTTP. */
  readonly adminUrl: string;
  readonly admin: SimAdmin;
  readonly clock: SimClock;
  readonly simulator: Simulator;
  /** A ready-to-use root token (`root@pam!phoenix`, privsep 0). */
  readonly token: IssuedToken;
  /** PEM certificate when started with `https`, for clients that pin it. */
  readonly certificate?: string;
  /** The node's SSH server (unless started with `ssh: false`). */
  readonly ssh?: RunningSshServer;
  close(): Promise<void>;
}

export const router = new Router(endpoints);

export async function startProxmoxSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const simulator = new Simulator(options);
  const admin = new SimAdmin(simulator);
  const token = admin.createToken({ userid: 'root@pam', tokenid: 'phoenix', privsep: false });
  const handler = apiHandler(simulator, router, adminHandler(admin));
  const served = await serveOnLoopback({ ...(options.https !== undefined ? { https: options.https } : {}), ...(options.port !== undefined ? { port: options.port } : {}), commonName: 'pve.sim' }, handler);
  const { url, port } = served;
  const ssh = options.ssh === false ? undefined : await startSshServer(simulator, options.ssh ?? {});
  admin.sshServer = ssh;
  return {
    url, host: '127.0.0.1', port, adminUrl: `${url}/_sim`, admin, clock: simulator.clock, simulator, token,
    ...(served.certificate !== undefined ? { certificate: served.certificate } : {}),
    ...(ssh ? { ssh } : {}),
    close: async () => {
      simulator.clock.releaseAll();
      await ssh?.close();
      await served.close();
    },
  };
}

export type { Fault } from './faults.ts';
export type { SimulatorOptions, PveVersion } from './simulator.ts';
export type { SimState } from './state.ts';
