/**
 * An API endpoint of the simulator: the hand-written parameter definitions (compared
 * with the official schema by the conformance test), the privileges Proxmox checks,
 * and the handler.
 */
import { compareVersions, type ParamDefs } from '../../proxmox/schema.ts';
import type { Params } from '../../proxmox/validate.ts';
import type { Subject } from './auth.ts';
import type { Simulator } from './simulator.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RequestContext {
  readonly sim: Simulator;
  readonly params: Params;
  readonly subject: Subject;
}

/** `['perm', path, privs]` of the schema; `any` means one of the privileges suffices. */
export interface PermCheck {
  readonly path: string;
  readonly privs: readonly string[];
  readonly any?: boolean;
  /** Alternative path that also satisfies the check (`/vms/{vmid}` or `/pool/{pool}`). */
  readonly orPath?: string;
}

export interface Endpoint {
  readonly method: HttpMethod;
  /** Schema path template, e.g. `/nodes/{node}/qemu/{vmid}/config`. */
  readonly path: string;
  readonly params: ParamDefs;
  readonly handler: (ctx: RequestContext) => unknown;
  readonly permissions?: (params: Params) => readonly PermCheck[];
  /** Reachable without authentication (`/access/ticket`, `/version` is not). */
  readonly public?: boolean;
  /** False for the few methods the schema marks `allowtoken: 0`. */
  readonly allowToken?: boolean;
  /** The first Proxmox VE release that has the method; older simulated releases answer 501. */
  readonly since?: string;
}

/** Whether the simulated release has this method. */
export function servedIn(endpoint: Endpoint, version: string): boolean {
  return endpoint.since === undefined || compareVersions(version, endpoint.since) >= 0;
}

/** A result with envelope extras beside `data` (`total` for task logs, `changes` for network). */
export class Reply {
  readonly data: unknown;
  readonly extras: Readonly<Record<string, unknown>>;

  constructor(data: unknown, extras: Record<string, unknown>) {
    this.data = data;
    this.extras = extras;
  }
}

interface Compiled {
  readonly endpoint: Endpoint;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

export interface RouteMatch {
  readonly endpoint: Endpoint;
  readonly pathParams: Record<string, string>;
}

export class Router {
  readonly #byMethod = new Map<string, Compiled[]>();
  readonly endpoints: readonly Endpoint[];

  constructor(endpoints: readonly Endpoint[]) {
    this.endpoints = endpoints;
    for (const endpoint of endpoints) {
      const names: string[] = [];
      const source = endpoint.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      const list = this.#byMethod.get(endpoint.method) ?? [];
      list.push({ endpoint, regex: new RegExp(`^${source}$`), names });
      this.#byMethod.set(endpoint.method, list);
    }
  }

  match(method: string, path: string): RouteMatch | undefined {
    for (const c of this.#byMethod.get(method) ?? []) {
      const m = c.regex.exec(path);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      c.names.forEach((name, i) => (pathParams[name] = decodeURIComponent(m[i + 1]!)));
      return { endpoint: c.endpoint, pathParams };
    }
    return undefined;
  }

  /** Whether any method serves this path (for 501 wording). */
  hasPath(path: string): boolean {
    return [...this.#byMethod.values()].some((list) => list.some((c) => c.regex.test(path)));
  }
}

/** Endpoint group for fault injection and counters: `lxc`, `qemu`, `tasks`, `storage`, … */
export function endpointGroup(path: string): string {
  if (path.includes('/firewall')) return 'firewall';
  const m = /^\/nodes\/\{node\}\/(qemu|lxc|tasks|storage|network|dns|aplinfo)/.exec(path);
  if (m) return m[1] === 'aplinfo' ? 'storage' : m[1]!;
  const top = /^\/([a-z]+)/.exec(path)?.[1] ?? '';
  return top === 'storage' ? 'storage' : top;
}
