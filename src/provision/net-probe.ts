/**
 * `http` and `tcp` health checks, run from the controller against the guest's address. What a
 * run found is one of three things: the service answered as expected (`ok`), it did not
 * (`failed`: refused, timed out, a wrong status), or the controller could not reach the
 * guest's network at all (`unreachable`: no route, no address known). The third says nothing
 * about the service, so it is reported and never counted as a failure: a controller running
 * where the guests' network is not routed does not make every guest flap.
 */
import { request as httpRequest } from '../runtime/node-http.ts';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { isIP } from 'node:net';

export type NetProbeResult = { readonly kind: 'ok' } | { readonly kind: 'failed' | 'unreachable'; readonly output: string };

export interface HttpCheckSpec {
  readonly url?: string;
  readonly port?: number;
  readonly path?: string;
  readonly scheme?: 'http' | 'https';
  readonly expectedStatus?: string;
}

/** The address checks use: the first IPv4 address observed, else the first IPv6 one. */
export function checkAddress(addresses: readonly string[]): string | undefined {
  return addresses.find((a) => isIP(a) === 4) ?? addresses.find((a) => isIP(a) === 6);
}

const hostPart = (address: string) => (isIP(address) === 6 ? `[${address}]` : address);

/** The URL an `http` check gets, or why there is none (no address observed). */
export function httpCheckUrl(check: HttpCheckSpec, addresses: readonly string[]): { url: string } | { unreachable: string } {
  if (check.url !== undefined) return { url: check.url };
  const address = checkAddress(addresses);
  if (address === undefined) return { unreachable: 'no address of the guest is known yet (status.ipAddresses is empty)' };
  return { url: `${check.scheme ?? 'http'}://${hostPart(address)}:${check.port}${check.path ?? '/'}` };
}

/** `204` or `200-299`; the default passes 2xx and 3xx. */
export function statusPasses(status: number, expected = '200-399'): boolean {
  const [low, high = low] = expected.split('-').map(Number) as [number, number?];
  return status >= low && status <= high;
}

/**
 * Socket errors that mean the controller has no way to the guest's network, as opposed to
 * a guest that is there and does not answer (ECONNREFUSED, a timeout, a reset).
 */
const unreachableCodes = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'ENONET']);

export function classifyNetError(err: unknown): NetProbeResult {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  return { kind: code !== undefined && unreachableCodes.has(code) ? 'unreachable' : 'failed', output: message };
}

/** Gets the URL once, without following redirects (a 3xx is an answer), within `timeoutMs`. */
export function httpProbe(url: string, expectedStatus: string | undefined, timeoutMs: number): Promise<NetProbeResult> {
  return new Promise((resolve) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    // The guest's own certificate rarely names its address: the check asks whether the service answers.
    const req = request(url, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false, headers: { 'user-agent': 'phoenix-health-check' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(statusPasses(status, expectedStatus) ? { kind: 'ok' } : { kind: 'failed', output: `GET ${url}: HTTP ${status}, expected ${expectedStatus ?? '200-399'}` });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`GET ${url}: no answer within ${Math.ceil(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => {
      const result = classifyNetError(err);
      resolve(result.kind === 'ok' ? result : { ...result, output: result.output.startsWith('GET ') ? result.output : `GET ${url}: ${result.output}` });
    });
    req.end();
  });
}

/** Opens a TCP connection and closes it at once. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<NetProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ kind: 'ok' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ kind: 'failed', output: `tcp ${hostPart(host)}:${port}: no answer within ${Math.ceil(timeoutMs / 1000)} s` });
    });
    socket.once('error', (err) => {
      const result = classifyNetError(err);
      resolve(result.kind === 'ok' ? result : { ...result, output: `tcp ${hostPart(host)}:${port}: ${result.output}` });
    });
  });
}
