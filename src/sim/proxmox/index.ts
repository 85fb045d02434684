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
 * `authFailureDelayMs`. The server listens on 127.0.0.1 only.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';
import { Simulator, type SimulatorOptions } from './simulator.ts';
import { SimAdmin, adminHandler, type IssuedToken } from './admin.ts';
import { apiHandler } from './http.ts';
import { Router } from './endpoint.ts';
import { endpoints } from './api/index.ts';
import type { SimClock } from './clock.ts';

export interface StartOptions extends SimulatorOptions {
  port?: number;
  https?: boolean;
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
  close(): Promise<void>;
}

export const router = new Router(endpoints);

export async function startProxmoxSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const simulator = new Simulator(options);
  const admin = new SimAdmin(simulator);
  const token = admin.createToken({ userid: 'root@pam', tokenid: 'phoenix', privsep: false });
  const handler = apiHandler(simulator, router, adminHandler(admin));
  const listener = (req: Parameters<typeof handler>[0], res: Parameters<typeof handler>[1]) => {
    handler(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  };
  let server: Server;
  let certificate: string | undefined;
  if (options.https) {
    const pems = await generate([{ name: 'commonName', value: 'pve.sim' }], {
      keySize: 2048, algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
    } as Parameters<typeof generate>[1]);
    certificate = pems.cert;
    server = createHttpsServer({ key: pems.private, cert: pems.cert }, listener) as unknown as Server;
  } else {
    server = createHttpServer(listener);
  }
  server.keepAliveTimeout = 5000;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url, host: '127.0.0.1', port, adminUrl: `${url}/_sim`, admin, clock: simulator.clock, simulator, token,
    ...(certificate !== undefined ? { certificate } : {}),
    close: async () => {
      simulator.clock.releaseAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { Fault } from './faults.ts';
export type { SimulatorOptions, PveVersion } from './simulator.ts';
export type { SimState } from './state.ts';
