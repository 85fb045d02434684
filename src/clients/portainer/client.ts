import type { Agent } from 'undici';

/**
 * undici (its HTTP parser is WebAssembly) costs a controller about 25 MiB once loaded; most
 * installations never talk to Portainer, so it is loaded with the first Portainer request.
 */
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => (undici ??= import('undici'));
import { timeExternalCall, type ExternalCallRecorder } from '../../runtime/metrics.ts';
import { logExternalChange } from '../../runtime/reconcile-scope.ts';
import { classifyPortainerFailure, PortainerApiError } from './errors.ts';

export interface PortainerClientOptions {
  /** `https://host:9443` (no path); the API lives under `/api`. */
  readonly url: string;
  /** A `ptr_…` access token. Sent only in the X-API-Key header; never in a URL, log or error. */
  readonly apiKey: string;
  /** PEM CA bundle; without it the system trust store is used. */
  readonly caBundle?: string;
  readonly insecureSkipTLSVerify?: boolean;
  readonly recorder?: ExternalCallRecorder;
  /** For reads (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * For create, update, start, stop and delete (default 15 min): Portainer answers them only
   * once `docker compose` has finished, image pulls included.
   */
  readonly deployTimeoutMs?: number;
  /** Extra attempts for a GET that got no response (never for anything that changes state). */
  readonly getRetries?: number;
}

export interface EnvPair {
  readonly name: string;
  readonly value: string;
}

/** The fields of `portainer.Endpoint` Phoenix reads. */
export interface PortainerEnvironment {
  readonly Id: number;
  readonly Name: string;
  readonly Type: number;
  readonly URL: string;
  /** 1 up, 2 down. */
  readonly Status: number;
}

/** The fields of `portainer.Stack` Phoenix reads. */
export interface PortainerStack {
  readonly Id: number;
  readonly Name: string;
  /** 1 swarm, 2 compose, 3 kubernetes. */
  readonly Type: number;
  readonly EndpointId: number;
  /** 1 active, 2 inactive. */
  readonly Status: number;
  readonly Env: EnvPair[] | null;
  /** Set on stacks created from a repository; `ConfigHash` is the commit deployed last. */
  readonly GitConfig?: PortainerGitConfig | null;
  readonly AutoUpdate?: { readonly Interval?: string } | null;
}

/** gittypes.RepoConfig as Portainer returns it (untagged Go fields; the password blanked). */
export interface PortainerGitConfig {
  readonly URL: string;
  readonly ReferenceName: string;
  readonly ConfigFilePath: string;
  readonly ConfigHash: string;
}

/** Where a git stack's compose file is, and how to read the repository. */
export interface GitSource {
  readonly url: string;
  readonly ref: string;
  readonly composeFile: string;
  /** Basic auth (or a token as the password); only ever in a request body. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Portainer's own poll of the ref (Go duration, such as `5m`); it redeploys only on a new commit. */
  readonly autoUpdateInterval?: string;
}

/** A Docker Engine `containers/json` item, as the Portainer Docker proxy passes it through. */
export interface DockerContainer {
  readonly Id: string;
  readonly Names?: string[];
  readonly Image: string;
  /** created | running | paused | restarting | exited | removing | dead */
  readonly State: string;
  /** `Up 5 minutes (healthy)`, `Exited (1) 3 seconds ago`… */
  readonly Status: string;
  readonly Labels?: Record<string, string>;
}

export interface StackContent {
  readonly stackFileContent: string;
  readonly env: readonly EnvPair[];
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * A small typed client for the parts of the Portainer API a stack controller needs. Like the
 * Proxmox transport it never sends a request that changes state twice (only a GET that got no
 * response is tried again), verifies TLS against the given CA, reports each call's status and
 * latency by a low-cardinality endpoint group, and throws PortainerApiError. The API key is
 * only ever in a request header.
 */
export class PortainerClient {
  readonly #base: URL;
  readonly #apiKey: string;
  #agent: Promise<Agent> | undefined;
  readonly #options: PortainerClientOptions;
  /** Known after `status()`: decides between the 2.19+ create route and the legacy one. */
  #version: string | undefined;

  constructor(options: PortainerClientOptions) {
    this.#options = options;
    this.#base = new URL(options.url);
    this.#apiKey = options.apiKey;
  }

  #dispatcher(): Promise<Agent> {
    const options = this.#options;
    return (this.#agent ??= loadUndici().then(({ Agent }) => new Agent({
      keepAliveTimeout: 4_000,
      connections: 16,
      connect: { ...(options.caBundle ? { ca: options.caBundle } : {}), rejectUnauthorized: !options.insecureSkipTLSVerify },
    })));
  }

  /** `GET /system/version`: an authenticated connectivity check (`/system/status` is public, so a revoked key would pass it). */
  async status(): Promise<{ version: string }> {
    const body = await this.#request<{ ServerVersion?: string }>('GET', '/system/version', 'system.version');
    this.#version = String(body.ServerVersion ?? '');
    return { version: this.#version };
  }

  async environment(id: number): Promise<PortainerEnvironment> {
    return this.#request('GET', `/endpoints/${id}`, 'endpoints.get', { query: { excludeSnapshot: true } });
  }

  /** Environments whose name is exactly `name` (Portainer does not enforce unique names). */
  async environmentsNamed(name: string): Promise<PortainerEnvironment[]> {
    const list = await this.#request<PortainerEnvironment[]>('GET', '/endpoints', 'endpoints.list', { query: { name, excludeSnapshots: true } });
    return list.filter((e) => e.Name === name);
  }

  /** Compose stacks on one environment. */
  async stacks(environmentId: number): Promise<PortainerStack[]> {
    return this.#request('GET', '/stacks', 'stacks.list', { query: { filters: JSON.stringify({ EndpointID: environmentId }) } });
  }

  async stack(id: number): Promise<PortainerStack> {
    return this.#request('GET', `/stacks/${id}`, 'stacks.get');
  }

  async stackFile(id: number): Promise<string> {
    const body = await this.#request<{ StackFileContent?: string }>('GET', `/stacks/${id}/file`, 'stacks.file');
    return body.StackFileContent ?? '';
  }

  /** Creates and deploys a compose stack from a string (synchronous: compose up has run when it returns). */
  async createStack(environmentId: number, name: string, content: StackContent): Promise<PortainerStack> {
    const body = { name, stackFileContent: content.stackFileContent, env: content.env };
    // 2.19 introduced /stacks/create/{type}/{method}; the legacy form still works there.
    if (this.#version && olderThan(this.#version, '2.19.0')) {
      return this.#request('POST', '/stacks', 'stacks.create', { query: { type: 2, method: 'string', endpointId: environmentId }, body, deploy: true });
    }
    return this.#request('POST', '/stacks/create/standalone/string', 'stacks.create', { query: { endpointId: environmentId }, body, deploy: true });
  }

  /** Creates and deploys a compose stack from a git repository; Portainer clones it (synchronous too). */
  async createGitStack(environmentId: number, name: string, git: GitSource, env: readonly EnvPair[]): Promise<PortainerStack> {
    const body = {
      name, repositoryURL: git.url, repositoryReferenceName: git.ref, composeFile: git.composeFile, env, ...gitAuth(git),
      ...(git.autoUpdateInterval ? { autoUpdate: { interval: git.autoUpdateInterval } } : {}),
    };
    if (this.#version && olderThan(this.#version, '2.19.0')) {
      return this.#request('POST', '/stacks', 'stacks.create', { query: { type: 2, method: 'repository', endpointId: environmentId }, body, deploy: true });
    }
    return this.#request('POST', '/stacks/create/standalone/repository', 'stacks.create', { query: { endpointId: environmentId }, body, deploy: true });
  }

  /** `PUT /stacks/{id}/git/redeploy`: pulls the ref and redeploys (the only way to deploy a git stack's new commit or env). */
  async redeployGitStack(id: number, environmentId: number, git: Pick<GitSource, 'ref' | 'credentials'>, options: { env: readonly EnvPair[]; prune: boolean; pullImage: boolean }): Promise<PortainerStack> {
    const body = { repositoryReferenceName: git.ref, ...gitAuth(git), env: options.env, prune: options.prune, pullImage: options.pullImage };
    return this.#request('PUT', `/stacks/${id}/git/redeploy`, 'stacks.git.redeploy', { query: { endpointId: environmentId }, body, deploy: true });
  }

  /** `POST /stacks/{id}/git`: saves ref, credentials, env, prune and auto-update; deploys nothing. */
  async updateGitSettings(id: number, environmentId: number, git: Pick<GitSource, 'ref' | 'credentials' | 'autoUpdateInterval'>, options: { env: readonly EnvPair[]; prune: boolean }): Promise<PortainerStack> {
    const body = {
      repositoryReferenceName: git.ref, ...gitAuth(git), env: options.env, prune: options.prune,
      ...(git.autoUpdateInterval ? { autoUpdate: { interval: git.autoUpdateInterval } } : {}),
    };
    return this.#request('POST', `/stacks/${id}/git`, 'stacks.git.update', { query: { endpointId: environmentId }, body });
  }

  async updateStack(id: number, environmentId: number, content: StackContent & { prune: boolean; pullImage: boolean }): Promise<PortainerStack> {
    const body = { stackFileContent: content.stackFileContent, env: content.env, prune: content.prune, pullImage: content.pullImage };
    return this.#request('PUT', `/stacks/${id}`, 'stacks.update', { query: { endpointId: environmentId }, body, deploy: true });
  }

  async startStack(id: number, environmentId: number): Promise<PortainerStack> {
    return this.#request('POST', `/stacks/${id}/start`, 'stacks.start', { query: { endpointId: environmentId }, deploy: true });
  }

  async stopStack(id: number, environmentId: number): Promise<PortainerStack> {
    return this.#request('POST', `/stacks/${id}/stop`, 'stacks.stop', { query: { endpointId: environmentId }, deploy: true });
  }

  async deleteStack(id: number, environmentId: number): Promise<void> {
    await this.#request('DELETE', `/stacks/${id}`, 'stacks.delete', { query: { endpointId: environmentId }, deploy: true });
  }

  /** Every container (running or not) of compose project `project`, through the Docker proxy. */
  async projectContainers(environmentId: number, project: string): Promise<DockerContainer[]> {
    return this.#request('GET', `/endpoints/${environmentId}/docker/containers/json`, 'docker.containers.list', {
      query: { all: 1, filters: JSON.stringify({ label: [`com.docker.compose.project=${project}`] }) },
    });
  }

  close(): void {
    void this.#agent?.then((agent) => agent.close()).catch(() => undefined);
  }

  async #request<T>(method: string, path: string, group: string, options: { query?: Query; body?: unknown; deploy?: boolean } = {}): Promise<T> {
    const attempts = method === 'GET' ? 1 + (this.#options.getRetries ?? 1) : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.#time(`${group}.${method.toLowerCase()}`, () => this.#send<T>(method, path, options));
        if (method !== 'GET') logPortainerChange(method, path, options, result);
        return result;
      } catch (err) {
        const retry = err instanceof PortainerApiError && err.status === undefined && attempt < attempts;
        if (!retry) throw err;
      }
    }
  }

  #time<T>(group: string, call: () => Promise<T>): Promise<T> {
    const recorder = this.#options.recorder;
    if (!recorder) return call();
    return timeExternalCall(recorder, 'portainer', group, call);
  }

  async #send<T>(method: string, path: string, options: { query?: Query; body?: unknown; deploy?: boolean }): Promise<T> {
    const url = new URL(`${this.#base.pathname.replace(/\/$/, '')}/api${path}`, this.#base);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const timeoutMs = options.deploy ? (this.#options.deployTimeoutMs ?? 15 * 60_000) : (this.#options.timeoutMs ?? 30_000);
    let response;
    try {
      const [{ fetch }, dispatcher] = await Promise.all([loadUndici(), this.#dispatcher()]);
      response = await fetch(url, {
        method,
        dispatcher,
        headers: {
          'x-api-key': this.#apiKey,
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause;
      const detail = (err as Error).name === 'TimeoutError' ? `no response within ${timeoutMs} ms` : (cause?.message ?? (err as Error).message);
      throw new PortainerApiError({ kind: 'Unavailable', status: undefined, detail, method, path });
    }
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    throw new PortainerApiError({ kind: classifyPortainerFailure(response.status), status: response.status, detail: errorDetail(text), method, path });
  }
}

function gitAuth(git: Pick<GitSource, 'credentials'>) {
  return git.credentials
    ? { repositoryAuthentication: true, repositoryUsername: git.credentials.username, repositoryPassword: git.credentials.password }
    : { repositoryAuthentication: false };
}

/** `{message, details}` (Portainer), `{message}` (Docker), or a text body (gorilla's 404, a proxy). */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; details?: unknown };
    const message = typeof body.message === 'string' ? body.message.trim() : '';
    const details = typeof body.details === 'string' ? body.details.trim() : '';
    return [message, details && details.toLowerCase() !== message.toLowerCase() ? details : ''].filter(Boolean).join(': ');
  } catch {
    return text.trim().slice(0, 300);
  }
}

/** `a < b` for dotted versions such as 2.17.1. */
export function olderThan(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/** The stack a change is about: its name from the body or the answer, else its id from the path. */
function logPortainerChange(method: string, path: string, options: { query?: Query; body?: unknown }, result: unknown): void {
  const named = (value: unknown) => (typeof value === 'object' && value !== null && typeof (value as { name?: unknown; Name?: unknown }).name === 'string' ? (value as { name: string }).name : (value as { Name?: string } | undefined)?.Name);
  const stack = named(options.body) ?? named(result) ?? /\/stacks\/(\d+)/.exec(path)?.[1];
  const environment = options.query?.['endpointId'];
  logExternalChange({
    system: 'Portainer',
    method,
    path: environment !== undefined ? `${path}?endpointId=${String(environment)}` : path,
    params: typeof options.body === 'object' && options.body !== null ? Object.keys(options.body) : [],
    ...(stack ? { stack } : {}),
  });
}
