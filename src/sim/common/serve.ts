import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';

export interface LoopbackServer {
  readonly url: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  /** PEM of the self-signed certificate, for clients that pin it (HTTPS only). */
  readonly certificate?: string;
  /** Stops listening and drops open keep-alive connections, so a test's teardown never waits. */
  close(): Promise<void>;
}

/**
 * Serves a simulator on 127.0.0.1 only, over HTTP or HTTPS with a fresh self-signed
 * certificate for `commonName` (valid for 127.0.0.1 and localhost, as clients verify it).
 */
export async function serveOnLoopback(
  options: { https?: boolean; port?: number; commonName: string },
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<LoopbackServer> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  };
  let server: Server;
  let certificate: string | undefined;
  if (options.https) {
    const pems = await generate([{ name: 'commonName', value: options.commonName }], {
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
  return {
    url: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    ...(certificate !== undefined ? { certificate } : {}),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
