/**
 * The HTTP layer: routing under `/api`, Portainer's authentication order (API key, then
 * JWT), the CSRF rule against sending both, fault injection, counters, and writing
 * `{message, details}` errors the way libhttp does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PortainerError, unauthorized } from './errors.ts';
import { requestMatches, type RequestFacts } from './faults.ts';
import type { Principal, PortainerSimulator } from './simulator.ts';
import type { Reply, Route } from './api.ts';

interface Compiled {
  readonly route: Route;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export class Router {
  readonly routes: readonly Route[];
  readonly #compiled: Compiled[];

  constructor(routes: readonly Route[]) {
    this.routes = routes;
    this.#compiled = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .replace(/[.+?^$()|[\]\\]/g, '\\$&')
        .replace(/\{([^}]+)\}/g, (_, name: string) => {
          names.push(name);
          return '([^/]+)';
        })
        .replace(/\/\*$/, () => {
          names.push('*');
          return '(?:/(.*))?';
        });
      return { route, regex: new RegExp(`^${source}$`), names };
    });
  }

  /** A route for method+path; `'method'` when only the method is wrong (gorilla's 405). */
  match(method: string, path: string, sim: PortainerSimulator): RouteMatch | 'method' | undefined {
    let pathMatched = false;
    for (const c of this.#compiled) {
      if (c.route.since !== undefined && !sim.atLeast(c.route.since)) continue;
      const m = c.regex.exec(path);
      if (!m) continue;
      if (c.route.method !== 'ANY' && c.route.method !== method) {
        pathMatched = true;
        continue;
      }
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => (params[name] = name === '*' ? (m[i + 1] ?? '') : decodeURIComponent(m[i + 1]!)));
      return { route: c.route, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

const API_KEY_HEADER = 'x-api-key';

/**
 * Portainer's token lookups, in its order: API key (header, or the `x-api-key` query
 * parameter in any case), then a Bearer JWT (header, or the `token` query parameter).
 * A lookup that finds a credential it cannot verify ends the request with 401.
 */
export function authenticate(sim: PortainerSimulator, req: IncomingMessage, url: URL): Principal {
  const headerKey = req.headers[API_KEY_HEADER];
  const queryKey = [...url.searchParams.entries()].find(([k]) => k.toLowerCase() === API_KEY_HEADER)?.[1];
  const rawKey = (Array.isArray(headerKey) ? headerKey[0] : headerKey) || queryKey;
  if (rawKey) {
    const user = sim.userByApiKey(rawKey);
    if (!user) throw unauthorized('Invalid JWT token');
    return { user, via: 'api-key' };
  }
  const queryToken = url.searchParams.get('token');
  const header = req.headers['authorization'];
  const token = queryToken || (header === undefined ? undefined : header.replace(/^Bearer /, ''));
  if (token !== undefined) {
    const user = token === '' ? undefined : sim.userByJwt(token);
    if (user === undefined) throw unauthorized('Invalid JWT token');
    if (user === 'unknown-user') throw unauthorized('The authorization token is invalid');
    return { user, via: 'jwt' };
  }
  throw unauthorized('A valid authorization token is missing');
}

function send(res: ServerResponse, reply: Reply): void {
  res.statusCode = reply.status;
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  if (reply.text !== undefined) {
    if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(reply.text);
    return;
  }
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  // Go's json.Encoder ends every document with a newline.
  res.end(`${JSON.stringify(reply.body)}\n`);
}

export function sendError(res: ServerResponse, err: PortainerError): void {
  const body = err.body();
  if (body === undefined) return send(res, { status: err.status });
  send(res, { status: err.status, body });
}

export function apiHandler(sim: PortainerSimulator, router: Router, admin: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://portainer.sim');
    if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) return admin(req, res);
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bodyText = Buffer.concat(chunks).toString('utf8');

    if (!url.pathname.startsWith('/api/')) return notFoundText(res);
    const apiPath = url.pathname.slice(4);
    const match = router.match(method, apiPath, sim);
    if (match === undefined) return notFoundText(res);
    if (match === 'method') {
      res.statusCode = 405;
      return void res.end();
    }
    const { route, params } = match;
    sim.count(method, route.path, url.pathname);
    sim.runAutoUpdates();
    const facts: RequestFacts = { method, path: route.path, group: route.group };

    if (sim.faults.take('drop', (f) => f.when === 'before' && requestMatches(f, facts))) {
      req.socket.destroy();
      return;
    }
    const latency = sim.faults.take('latency', (f) => requestMatches(f, facts));
    if (latency) await sim.clock.sleep(latency.ms);

    try {
      if (req.headers[API_KEY_HEADER] && req.headers['authorization']) {
        const text = 'api key and auth header are not allowed at the same time';
        throw new PortainerError(403, text, text);
      }
      const principal = route.public ? undefined : authenticate(sim, req, url);
      const injected = sim.faults.take('error', (f) => requestMatches(f, facts) && sim.random.next() < f.rate);
      if (injected) {
        const message = injected.message ?? 'Injected failure';
        throw new PortainerError(injected.status ?? 500, message, message);
      }
      const reply = await route.handler({ sim, method, params, query: url.searchParams, bodyText, principal });
      if (sim.faults.take('drop', (f) => f.when === 'after' && requestMatches(f, facts))) {
        req.socket.destroy();
        return;
      }
      send(res, reply);
    } catch (err) {
      if (err instanceof PortainerError) return sendError(res, err);
      const message = err instanceof Error ? err.message : String(err);
      sendError(res, new PortainerError(500, message, message));
    }
  };
}

/** gorilla/mux's answer for a path no route knows. */
function notFoundText(res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end('404 page not found\n');
}
