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
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';
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
  const listener = (req: Parameters<typeof handler>[0], res: Parameters<typeof handler>[1]) => {
    handler(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  };
  let server: Server;
  let certificate: string | undefined;
  if (options.https) {
    const pems = await generate([{ name: 'commonName', value: 'portainer.sim' }], {
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
    url, host: '127.0.0.1', port, adminUrl: `${url}/_sim`, apiKey, admin, clock: simulator.clock, simulator,
    ...(certificate !== undefined ? { certificate } : {}),
    close: async () => {
      simulator.clock.releaseAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { PortainerAdmin } from './admin.ts';
export type { ServiceRef, CrashOptions, ContainerSeed } from './admin.ts';
export type { PortainerFault } from './faults.ts';
export type { SimulatorOptions, EnvironmentSeed } from './simulator.ts';
export type { PortainerState } from './state.ts';
