/**
 * `/api/endpoints/{id}/docker/…`: Portainer strips the prefix and forwards the Docker
 * Engine API call to the environment. The simulated engine answers the container calls
 * a stack controller needs; Portainer decorates stack containers with their stack's
 * ResourceControl, as the real proxy does for admins.
 */
import { dockerError, PortainerError } from './errors.ts';
import { FilterError, inspectJson, matchesFilters, parseFilters, settleContainer, startContainer, summaryJson, type SimContainer } from './docker.ts';
import { routeId } from './request.ts';
import type { Reply, RequestContext } from './api.ts';
import type { PortainerSimulator } from './simulator.ts';

const ENGINE_API_VERSION = '1.47';

function truthy(v: string | null): boolean {
  return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Docker resolves a full id, a unique id prefix, or a name. */
function findContainer(sim: PortainerSimulator, endpointId: number, ref: string): SimContainer {
  const cs = sim.containersOf(endpointId);
  const name = ref.replace(/^\//, '');
  const exact = cs.find((c) => c.id === ref || c.name === name);
  if (exact) return exact;
  const byPrefix = ref.length > 0 ? cs.filter((c) => c.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw dockerError(404, `No such container: ${ref}`);
  throw dockerError(404, `No such container: ${ref}`);
}

function decorate(sim: PortainerSimulator, c: SimContainer, body: Record<string, unknown>): Record<string, unknown> {
  const stack = c.project === undefined ? undefined : sim.state.stacks.find((s) => s.endpointId === c.endpointId && s.name === c.project);
  if (stack) body['Portainer'] = { ResourceControl: sim.resourceControlJson(stack) };
  return body;
}

export async function dockerProxy(ctx: RequestContext): Promise<Reply> {
  const { sim } = ctx;
  const endpoint = sim.requireEndpoint(routeId(ctx.params['id']!, 'environment'));
  // Go's reverse proxy answers 502 without a body when the agent or engine is down.
  if (!endpoint.reachable) throw new PortainerError(502, 'Bad Gateway', '', { emptyBody: true });
  const path = `/${ctx.params['*'] ?? ''}`.replace(/^\/v\d+\.\d+(?=\/)/, '');
  const method = ctx.method;
  const now = sim.now();
  let m: RegExpExecArray | null;

  if (method === 'GET' && (path === '/_ping' || path === '/_ping/')) return { status: 200, text: 'OK', headers: { 'Api-Version': ENGINE_API_VERSION, 'Content-Type': 'text/plain; charset=utf-8' } };
  if (method === 'GET' && path === '/version') {
    return { status: 200, body: { Version: endpoint.dockerVersion, ApiVersion: ENGINE_API_VERSION, MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64', KernelVersion: '6.8.0-51-generic' } };
  }
  if (method === 'GET' && path === '/containers/json') {
    let filters;
    try {
      filters = parseFilters(ctx.query.get('filters'));
    } catch (err) {
      if (err instanceof FilterError) throw dockerError(400, err.message);
      throw err;
    }
    const all = truthy(ctx.query.get('all')) || filters.status.length > 0;
    let list = sim.containersOf(endpoint.id)
      .filter((c) => all || c.state === 'running' || c.state === 'paused' || c.state === 'restarting')
      .filter((c) => matchesFilters(c, filters, now))
      .sort((a, b) => b.createdMs - a.createdMs);
    const limit = Number(ctx.query.get('limit') ?? '-1');
    if (limit > 0) list = list.slice(0, limit);
    return { status: 200, body: list.map((c) => decorate(sim, c, summaryJson(c, now))) };
  }
  if ((m = /^\/containers\/([^/]+)\/json$/.exec(path)) && method === 'GET') {
    const c = findContainer(sim, endpoint.id, decodeURIComponent(m[1]!));
    return { status: 200, body: decorate(sim, c, inspectJson(c, now)) };
  }
  if ((m = /^\/containers\/([^/]+)\/(start|stop|restart|kill)$/.exec(path)) && method === 'POST') {
    const c = findContainer(sim, endpoint.id, decodeURIComponent(m[1]!));
    settleContainer(c, now);
    const action = m[2]!;
    const running = c.state === 'running' || c.state === 'paused';
    if (action === 'start') {
      if (running) return { status: 304 };
      startContainer(c, now);
    } else if (action === 'stop' || action === 'kill') {
      if (!running && c.state !== 'restarting') {
        if (action === 'kill') throw dockerError(409, `Cannot kill container: ${c.id}: container ${c.id} is not running`);
        return { status: 304 };
      }
      sim.stopContainer(c);
      if (action === 'kill') c.exitCode = 137;
    } else {
      sim.stopContainer(c);
      startContainer(c, now);
    }
    return { status: 204 };
  }
  if ((m = /^\/containers\/([^/]+)$/.exec(path)) && method === 'DELETE') {
    const c = findContainer(sim, endpoint.id, decodeURIComponent(m[1]!));
    settleContainer(c, now);
    if ((c.state === 'running' || c.state === 'paused' || c.state === 'restarting') && !truthy(ctx.query.get('force'))) {
      throw dockerError(409, `cannot remove container "/${c.name}": container is running: stop the container before removing or force remove`);
    }
    sim.removeContainer(c);
    return { status: 204 };
  }
  throw dockerError(404, 'page not found');
}

