import type { Server } from 'node:http';
import { createServer } from './node-http.ts';
import type { AddressInfo } from 'node:net';
import type { Registry } from './prometheus.ts';

export interface HealthChecks {
  /** The process is able to work (not wedged); false makes the kubelet restart it. */
  healthy(): boolean;
  /** Caches have synced; false keeps the pod out of rotation. */
  ready(): boolean;
}

export interface Endpoints {
  readonly metrics?: Registry;
  readonly health?: HealthChecks;
}

/** Serves /metrics and/or /healthz and /readyz; returns the server once it is listening. */
export async function serveEndpoints(bind: { host?: string; port: number }, endpoints: Endpoints): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/metrics' && endpoints.metrics) {
      const registry = endpoints.metrics;
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (err: Error) => reply(500, `${err.message}\n`),
      );
      return;
    }
    if (path === '/healthz' && endpoints.health) return endpoints.health.healthy() ? reply(200, 'ok\n') : reply(500, 'unhealthy\n');
    if (path === '/readyz' && endpoints.health) return endpoints.health.ready() ? reply(200, 'ok\n') : reply(503, 'caches not synced\n');
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => resolve());
  });
  return server;
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
