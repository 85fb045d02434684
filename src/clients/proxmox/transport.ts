import type { Agent as HttpAgentType, IncomingMessage } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from '../../runtime/node-http.ts';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ApiRequestable } from 'proxmox-api';
import { timeExternalCall, type ExternalCallRecorder } from '../../runtime/metrics.ts';
import { logExternalChange } from '../../runtime/reconcile-scope.ts';
import { classifyProxmoxFailure, ProxmoxApiError } from './errors.ts';
import { endpointGroup } from './endpoint-group.ts';

export interface ProxmoxTransportOptions {
  /** `https://host:8006` (no path). */
  readonly url: string;
  /** `user@realm!tokenid=uuid`. Sent only in the Authorization header. */
  readonly token: string;
  /** PEM CA bundle; without it the system trust store is used. */
  readonly caBundle?: string;
  readonly insecureSkipTLSVerify?: boolean;
  readonly recorder?: ExternalCallRecorder;
  readonly timeoutMs?: number;
  /** Extra attempts for GET after a connection failure (never for anything that changes state). */
  readonly getRetries?: number;
}

type Params = Record<string, unknown>;

/** Encodes parameters the way Proxmox expects them: 0/1 booleans, repeated keys for arrays. */
export function encodeParams(params: Params | undefined): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      out.append(key, typeof item === 'boolean' ? (item ? '1' : '0') : String(item));
    }
  }
  return out;
}

interface RawResponse {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
}

/**
 * The HTTP engine behind the `proxmox-api` proxy. It replaces the package's own engine,
 * which retries every request once on a network error (a create or clone could be sent
 * twice), has no TLS options and throws untyped errors. This one never retries a request
 * that changes state, verifies TLS against the given CA, reports each call's status and
 * latency, and throws ProxmoxApiError. The token never appears in an error or a log.
 */
export class ProxmoxTransport implements ApiRequestable {
  readonly #base: URL;
  readonly #authorization: string;
  readonly #agent: HttpAgentType | HttpsAgent;
  readonly #options: ProxmoxTransportOptions;

  constructor(options: ProxmoxTransportOptions) {
    this.#options = options;
    this.#base = new URL(options.url);
    this.#authorization = `PVEAPIToken=${options.token}`;
    this.#agent = this.#base.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, maxSockets: 16, ca: options.caBundle, rejectUnauthorized: !options.insecureSkipTLSVerify })
      : new HttpAgent({ keepAlive: true, maxSockets: 16 });
  }

  async doRequest(httpMethod: string, path: string, pathTemplate: string, params?: Params): Promise<any> {
    return (await this.#request(httpMethod, path, pathTemplate, params)).data;
  }

  /**
   * The same transport bound to two signals: once `stop` is aborted (shutdown begins, leadership
   * lost) no request starts any more; once `cut` is (the shutdown deadline, leadership lost)
   * requests in flight are cut too. A reconcile talks to Proxmox only through such a view, so
   * no write leaves a controller that may no longer act.
   */
  scoped(stop: AbortSignal, cut: AbortSignal = stop): ApiRequestable & Pick<ProxmoxTransport, 'getEnvelope'> {
    const signals = { stop, cut };
    return {
      doRequest: async (httpMethod: string, path: string, pathTemplate: string, params?: Params) => (await this.#request(httpMethod, path, pathTemplate, params, signals)).data,
      getEnvelope: async (path: string, pathTemplate: string, params?: Params) => {
        const { data, ...extras } = await this.#request('GET', `/api2/json${path}`, `/api2/json${pathTemplate}`, params, signals);
        return { data, extras };
      },
    };
  }

  /**
   * A GET whose envelope carries more than `data`: `changes` beside the interface list of
   * `GET /nodes/{node}/network` (the staged diff), `total` beside task logs. The proxy
   * returns `data` only, so callers that need those fields come here.
   */
  async getEnvelope(path: string, pathTemplate: string, params?: Params): Promise<{ data: unknown; extras: Record<string, unknown> }> {
    const { data, ...extras } = await this.#request('GET', `/api2/json${path}`, `/api2/json${pathTemplate}`, params);
    return { data, extras };
  }

  async #request(httpMethod: string, path: string, pathTemplate: string, params?: Params, signals?: { stop: AbortSignal; cut: AbortSignal }): Promise<{ data: unknown; [extra: string]: unknown }> {
    const method = httpMethod.toUpperCase();
    const group = `${endpointGroup(pathTemplate)}.${method.toLowerCase()}`;
    const attempts = method === 'GET' ? 1 + (this.#options.getRetries ?? 1) : 1;
    for (let attempt = 1; ; attempt++) {
      if (signals?.stop.aborted) throw new ProxmoxApiError({ kind: 'Unavailable', status: undefined, message: 'not sent: this controller stopped acting (leadership lost or shutting down)', method, path });
      try {
        const response = await this.#time(group, () => this.#send(method, path, params, signals?.cut));
        const body = this.#unwrap(method, path, response);
        if (method !== 'GET') logProxmoxChange(method, path, params, body.data);
        return body;
      } catch (err) {
        const retry = err instanceof ProxmoxApiError && err.kind === 'Unavailable' && err.status === undefined && attempt < attempts;
        if (!retry) throw err;
      }
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  #time(group: string, call: () => Promise<RawResponse>): Promise<RawResponse> {
    const recorder = this.#options.recorder;
    if (!recorder) return call();
    return timeExternalCall(recorder, 'proxmox', group, call, ({ result, error }) =>
      result ? result.status : error instanceof ProxmoxApiError && error.status !== undefined ? error.status : 'error');
  }

  #send(method: string, path: string, params: Params | undefined, signal?: AbortSignal): Promise<RawResponse> {
    const encoded = encodeParams(params).toString();
    const hasBody = method === 'POST' || method === 'PUT';
    const url = new URL(path, this.#base);
    if (!hasBody && encoded) url.search = encoded;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            authorization: this.#authorization,
            accept: 'application/json',
            ...(hasBody ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(encoded) } : {}),
          },
          timeout: this.#options.timeoutMs ?? 30_000,
        },
        (res: IncomingMessage) => {
          let chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            // Not kept by the listeners of a response that a kept-alive socket still refers to.
            chunks = [];
            resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body });
          });
          res.on('error', (err) => reject(this.#noResponse(method, url.pathname, err)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no response within ${this.#options.timeoutMs ?? 30_000} ms`)));
      req.on('error', (err) => reject(this.#noResponse(method, url.pathname, err)));
      if (signal) {
        const cut = () => req.destroy(new Error('cut: this controller stopped acting (leadership lost or shutting down)'));
        signal.addEventListener('abort', cut, { once: true });
        req.on('close', () => signal.removeEventListener('abort', cut));
      }
      if (hasBody) req.write(encoded);
      req.end();
    });
  }

  #noResponse(method: string, path: string, err: Error): ProxmoxApiError {
    return new ProxmoxApiError({ kind: 'Unavailable', status: undefined, message: err.message, method, path });
  }

  #unwrap(method: string, path: string, response: RawResponse): { data: unknown; [extra: string]: unknown } {
    let body: { data?: unknown; errors?: Record<string, string>; message?: string; [extra: string]: unknown } = {};
    try {
      body = response.body ? JSON.parse(response.body) : {};
    } catch {
      // Proxies and 596s answer with HTML or nothing; the reason phrase still says why.
    }
    if (response.status === 200) return { ...body, data: body.data ?? null };
    const fieldErrors = body.errors ?? {};
    const detail = Object.entries(fieldErrors).map(([k, v]) => `${k}: ${v}`).join('; ');
    const message = [response.reason, body.message && body.message.trim() !== response.reason.trim() ? body.message.trim() : '', detail].filter(Boolean).join(' - ');
    throw new ProxmoxApiError({ kind: classifyProxmoxFailure(response.status, message, fieldErrors), status: response.status, message, method, path, fieldErrors });
  }
}

/** The guest a path or a create's parameters name ("101" from /nodes/pve/qemu/101/config). */
function guestOf(path: string, params: Params | undefined): string | undefined {
  const fromPath = /\/nodes\/[^/]+\/(?:qemu|lxc)\/(\d+)/.exec(path)?.[1];
  return fromPath ?? (params?.['vmid'] !== undefined ? String(params['vmid']) : undefined);
}

function logProxmoxChange(method: string, path: string, params: Params | undefined, data: unknown): void {
  const guest = guestOf(path, params);
  const task = typeof data === 'string' && data.startsWith('UPID:') ? data : undefined;
  logExternalChange({
    system: 'Proxmox',
    method,
    path: path.replace(/^\/api2\/json/, ''),
    params: Object.keys(params ?? {}),
    ...(guest ? { guest } : {}),
    ...(task ? { task } : {}),
  });
}
