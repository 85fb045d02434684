import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { Agent as HttpAgentType, IncomingMessage, ClientRequest } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from './node-http.ts';
import type { KubeAccess } from './kubeconfig.ts';
import { KubeApiError } from './errors.ts';
import { resourceLabel, resourcePath, type KubeList, type KubeObject, type ResourceType } from './resource.ts';

/** One finished API request, for metrics and for tests that count writes. */
export interface KubeRequestRecord {
  readonly verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  /** The HTTP method and the API server's host:port, as client-go's rest_client metrics label them. */
  readonly method: string;
  readonly host: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly code: number | 'error';
  readonly seconds: number;
}

export type KubeRequestListener = (record: KubeRequestRecord) => void;

export const writeVerbs: ReadonlySet<KubeRequestRecord['verb']> = new Set(['create', 'update', 'patch', 'delete']);

/** Asks for PartialObjectMetadata: names, labels and versions without the objects' contents (a Secret's data). */
const metadataOnlyAccept = { list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1', watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' };

export interface ListOptions {
  readonly namespace?: string;
  /** Metadata only (PartialObjectMetadataList): what a cache needs to know which objects exist. */
  readonly metadataOnly?: boolean;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
}

export interface WatchOptions {
  readonly namespace?: string;
  readonly metadataOnly?: boolean;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion: string;
  /** Server closes the watch after this, so a quiet connection is still renewed regularly. */
  readonly timeoutSeconds: number;
  /** No byte for this long means the connection is dead even if TCP has not noticed. */
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

/** The watch delivered an in-stream ERROR (410 Gone when the resourceVersion is too old). */
export class WatchStalledError extends Error {
  override readonly name = 'WatchStalledError';
}

interface Endpoint {
  readonly server: URL;
  readonly agent: HttpsAgent | HttpAgentType;
}

/**
 * A small REST client for any resource, over node:http(s) with keep-alive. The generated
 * client-node APIs are per group and pick awkward patch content types; the runtime needs the
 * same few verbs on every kind, including subresources, streaming watches it can time out, and
 * one place that sees every request (metrics, write counting).
 */
export class KubeClient {
  private readonly kc: KubeAccess;
  private readonly listeners: KubeRequestListener[] = [];
  private endpoint?: Promise<Endpoint>;
  private auth?: { options: RequestOptions; at: number };
  /** host:port of the API server, once known (for metrics). */
  private host = '';
  private readonly userAgent: string;

  constructor(kc: KubeAccess, userAgent = 'phoenix-controller') {
    this.kc = kc;
    this.userAgent = userAgent;
  }

  onRequest(listener: KubeRequestListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async get<T extends KubeObject>(resource: ResourceType, name: string, namespace?: string): Promise<T> {
    return (await this.call('get', resource, 'GET', resourcePath(resource, namespace, name))) as T;
  }

  async list<T extends KubeObject>(resource: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    const query = new URLSearchParams();
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.limit) query.set('limit', String(options.limit));
    if (options.continue) query.set('continue', options.continue);
    return (await this.call('list', resource, 'GET', resourcePath(resource, options.namespace), { query, ...(options.metadataOnly ? { accept: metadataOnlyAccept.list } : {}) })) as KubeList<T>;
  }

  async create<T extends KubeObject>(resource: ResourceType, object: T): Promise<T> {
    return (await this.call('create', resource, 'POST', resourcePath(resource, object.metadata.namespace), { body: object })) as T;
  }

  /** PUT: fails with 409 if `object.metadata.resourceVersion` is stale. */
  async replace<T extends KubeObject>(resource: ResourceType, object: T, subresource?: string): Promise<T> {
    const path = resourcePath(resource, object.metadata.namespace, object.metadata.name, subresource);
    return (await this.call('update', resource, 'PUT', path, { body: object, subresource })) as T;
  }

  /** JSON merge patch; put metadata.resourceVersion in the patch for an optimistic lock. */
  async mergePatch<T extends KubeObject>(
    resource: ResourceType,
    ref: { name: string; namespace?: string },
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    const path = resourcePath(resource, ref.namespace, ref.name, subresource);
    return (await this.call('patch', resource, 'PATCH', path, {
      body: patch,
      contentType: 'application/merge-patch+json',
      subresource,
    })) as T;
  }

  /** JSON Patch (RFC 6902); a leading `test` operation makes it conditional on the stored object. */
  async jsonPatch<T extends KubeObject>(resource: ResourceType, ref: { name: string; namespace?: string }, operations: readonly unknown[]): Promise<T> {
    const path = resourcePath(resource, ref.namespace, ref.name);
    return (await this.call('patch', resource, 'PATCH', path, { body: operations, contentType: 'application/json-patch+json' })) as T;
  }

  async delete(resource: ResourceType, ref: { name: string; namespace?: string }): Promise<void> {
    await this.call('delete', resource, 'DELETE', resourcePath(resource, ref.namespace, ref.name));
  }

  /**
   * Streams watch events to `onEvent` until the server closes the stream (resolves), the
   * connection fails or goes silent for idleTimeoutMs (rejects), or `signal` aborts (resolves).
   * An HTTP 410 rejects with a KubeApiError of code 410.
   */
  async watch<T>(resource: ResourceType, options: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    const query = new URLSearchParams({
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: options.resourceVersion,
      timeoutSeconds: String(options.timeoutSeconds),
    });
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    const started = performance.now();
    const label = resourceLabel(resource);
    const { req, response } = await this.open('GET', resourcePath(resource, options.namespace), query, undefined, undefined, options.metadataOnly ? metadataOnlyAccept.watch : undefined);
    let finished = false;
    return new Promise<void>((resolve, reject) => {
      let idleTimer: NodeJS.Timeout | undefined;
      const finish = (err?: Error, code: number | 'error' = 200) => {
        if (finished) return;
        finished = true;
        clearTimeout(idleTimer);
        options.signal?.removeEventListener('abort', onAbort);
        req.destroy();
        this.record({ verb: 'watch', method: 'GET', host: this.host, resource: label, code, seconds: (performance.now() - started) / 1000 });
        if (err) reject(err);
        else resolve();
      };
      const armIdleTimer = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(
          () => finish(new WatchStalledError(`watch of ${label} silent for ${options.idleTimeoutMs} ms`), 'error'),
          options.idleTimeoutMs,
        );
      };
      const onAbort = () => finish();
      if (options.signal?.aborted) return finish();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      armIdleTimer();
      response.then(
        (res) => {
          if (res.statusCode !== 200) {
            readBody(res).then(
              (body) => finish(KubeApiError.fromResponse(res.statusCode ?? 0, body, `watch ${label}`), res.statusCode ?? 'error'),
              (err: Error) => finish(err, 'error'),
            );
            return;
          }
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            armIdleTimer();
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline >= 0 && !finished) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              newline = buffered.indexOf('\n');
              if (!line) continue;
              let event: WatchEvent<T>;
              try {
                event = JSON.parse(line) as WatchEvent<T>;
              } catch {
                finish(new Error(`watch ${label}: unparseable line`), 'error');
                return;
              }
              try {
                onEvent(event);
              } catch (err) {
                finish(err as Error, 'error');
                return;
              }
            }
          });
          res.on('end', () => finish());
          res.on('error', (err) => finish(err, 'error'));
          res.on('close', () => finish());
        },
        (err: Error) => finish(err, 'error'),
      );
    });
  }

  private async call(
    verb: KubeRequestRecord['verb'],
    resource: ResourceType,
    method: string,
    path: string,
    options: { query?: URLSearchParams; body?: unknown; contentType?: string; subresource?: string | undefined; accept?: string } = {},
  ): Promise<unknown> {
    const started = performance.now();
    const label = resourceLabel(resource);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let code: number | 'error' = 'error';
    try {
      const { response } = await this.open(method, path, options.query, body, options.contentType ?? 'application/json', options.accept);
      const res = await response;
      code = res.statusCode ?? 0;
      const text = await readBody(res);
      if (code < 200 || code > 299) throw KubeApiError.fromResponse(code, text, `${verb} ${label}`);
      return text ? JSON.parse(text) : undefined;
    } finally {
      this.record({
        verb,
        method,
        host: this.host,
        resource: label,
        ...(options.subresource ? { subresource: options.subresource } : {}),
        code,
        seconds: (performance.now() - started) / 1000,
      });
    }
  }

  private record(record: KubeRequestRecord): void {
    for (const listener of this.listeners) listener(record);
  }

  private async open(
    method: string,
    path: string,
    query: URLSearchParams | undefined,
    body: string | undefined,
    contentType: string | undefined,
    accept = 'application/json',
  ): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
    const endpoint = await this.resolveEndpoint();
    const auth = await this.credentials();
    const headers: Record<string, string> = {
      ...(auth.headers as Record<string, string> | undefined),
      accept,
      'user-agent': this.userAgent,
    };
    if (body !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const url = new URL(endpoint.server.toString().replace(/\/$/, '') + path);
    if (query) url.search = query.toString();
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, agent: endpoint.agent, ...(auth.auth ? { auth: auth.auth } : {}) });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      // Both listeners go once either fires: a kept-alive socket keeps the request, and a
      // listener left on it would keep this promise and the response it resolved to.
      const onResponse = (res: IncomingMessage) => {
        // A socket error while the body is read is also the response's ('aborted'), which
        // readBody reports; the request still needs a listener so that it does not throw.
        req.off('error', onError).on('error', ignoreError);
        resolve(res);
      };
      const onError = (err: Error) => {
        req.off('response', onResponse);
        reject(err);
      };
      req.once('response', onResponse);
      req.once('error', onError);
    });
    req.end(body);
    return { req, response };
  }

  /**
   * Authentication headers, re-read at most every 30 s: in a pod the service-account token file
   * is rotated (well before it expires), and reading it and the CA per request would be waste.
   */
  private async credentials(): Promise<RequestOptions> {
    const now = performance.now();
    if (!this.auth || now - this.auth.at > 30_000) {
      const options: RequestOptions = {};
      await this.kc.applyToHTTPSOptions(options);
      this.auth = { options: { ...(options.headers ? { headers: options.headers } : {}), ...(options.auth ? { auth: options.auth } : {}) }, at: now };
    }
    return this.auth.options;
  }

  private resolveEndpoint(): Promise<Endpoint> {
    this.endpoint ??= (async () => {
      const cluster = this.kc.getCurrentCluster();
      if (!cluster) throw new Error('kubeconfig has no current cluster');
      const server = new URL(cluster.server);
      this.host = server.host;
      const tls: RequestOptions = {};
      await this.kc.applyToHTTPSOptions(tls);
      // No socket limit: every watch holds a connection for minutes, and a cap would leave
      // ordinary requests queued behind them once there are enough watches.
      const agentOptions = { keepAlive: true };
      const agent =
        server.protocol === 'https:'
          ? new HttpsAgent({
              ...agentOptions,
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
              ...(tls.servername ? { servername: tls.servername } : {}),
            })
          : new HttpAgent(agentOptions);
      return { server, agent };
    })();
    // A failure is not kept: the next request tries again (a kubeconfig or CA file being
    // rewritten), rather than every request failing with the first error for ever.
    const endpoint = this.endpoint;
    endpoint.catch(() => {
      if (this.endpoint === endpoint) this.endpoint = undefined;
    });
    return endpoint;
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    // An endpoint that never resolved has no sockets; its error was already the caller's.
    void this.endpoint?.then((e) => e.agent.destroy(), () => undefined);
  }
}

/** Holds nothing: the listener left on a finished request or response. */
function ignoreError(): void {}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    // The response outlives the call (the kept-alive socket still refers to it), and with it any
    // listener left on it: through this promise, they kept the body, which for a list of 1,000
    // guests was 1.8 MiB (heap snapshots, issue 11). All three go when either end comes.
    const onData = (chunk: string) => (text += chunk);
    const done = () => {
      res.off('data', onData);
      res.off('end', onEnd);
      res.off('error', onError).on('error', ignoreError);
    };
    const onEnd = () => {
      done();
      const body = text;
      text = '';
      resolve(body);
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    res.setEncoding('utf8');
    res.on('data', onData);
    res.on('end', onEnd);
    res.on('error', onError);
  });
}
