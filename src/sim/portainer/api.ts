/**
 * The routes the simulator serves, under `/api`. Each names the operation of the
 * official Swagger spec it implements (`spec`), which the conformance test looks up,
 * and the release it appeared in (`since`), before which it answers 404 like an older
 * Portainer would.
 */
import { badRequest, PortainerError, serverError } from './errors.ts';
import { decodePayload, queryBool, queryInt, routeId } from './request.ts';
import { dockerProxy } from './docker-proxy.ts';
import { createComposeFromRepository, createStandaloneRepository, redeployGit, updateGitSettings } from './git.ts';
import type { Pair } from './compose.ts';
import type { Principal, PortainerSimulator } from './simulator.ts';
import type { SimEndpoint, SimStack } from './state.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RequestContext {
  readonly sim: PortainerSimulator;
  readonly method: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly bodyText: string;
  /** Undefined only on public routes. */
  readonly principal: Principal | undefined;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw text body (the Docker proxy's `/_ping`). */
  text?: string;
}

export interface Route {
  readonly method: HttpMethod | 'ANY';
  /** Path under `/api`, with `{name}` variables and a trailing `*` for the Docker proxy. */
  readonly path: string;
  /** Fault and counter group: auth, system, endpoints, stacks, docker. */
  readonly group: string;
  readonly public?: boolean;
  /** First release serving the route (default: all). */
  readonly since?: string;
  /**
   * The operation in the official specs (`METHOD /path`) per edition; absent where the
   * spec does not describe it (the Docker proxy passes the Engine API through).
   */
  readonly spec?: { readonly ce?: string; readonly ee?: string };
  readonly handler: (ctx: RequestContext) => Promise<Reply> | Reply;
}

const ok = (body: unknown, headers?: Record<string, string>): Reply => (headers ? { status: 200, body, headers } : { status: 200, body });

function statusBody(sim: PortainerSimulator) {
  return { Version: sim.version, InstanceID: sim.state.instanceId };
}

function userOf(ctx: RequestContext): string {
  return ctx.principal?.user.username ?? '';
}

// ---- environments --------------------------------------------------------------------

function listEndpoints(ctx: RequestContext): Reply {
  const q = ctx.query;
  const ints = (name: string) => [...q.getAll(name), ...q.getAll(`${name}[]`)].flatMap((v) => v.split(',')).filter((v) => v !== '').map(Number);
  let list = [...ctx.sim.state.endpoints];
  const search = (q.get('search') ?? '').toLowerCase();
  if (search) list = list.filter((e) => e.name.toLowerCase().includes(search) || e.url.toLowerCase().includes(search));
  const name = q.get('name');
  if (name) list = list.filter((e) => e.name === name);
  const types = ints('types');
  if (types.length > 0) list = list.filter((e) => types.includes(e.type));
  const ids = ints('endpointIds');
  if (ids.length > 0) list = list.filter((e) => ids.includes(e.id));
  const status = ints('status');
  if (status.length > 0) list = list.filter((e) => status.includes(e.reachable ? 1 : 2));
  const groups = ints('groupIds');
  if (groups.length > 0) list = list.filter((e) => groups.includes(e.groupId));
  const total = list.length;
  const start = queryInt(q, 'start', true) ?? 0;
  const limit = queryInt(q, 'limit', true) ?? 0;
  if (start > 0) list = list.slice(start);
  if (limit > 0) list = list.slice(0, limit);
  const exclude = queryBool(q, 'excludeSnapshots') ?? false;
  return ok(list.map((e) => ctx.sim.endpointJson(e, exclude)), {
    'X-Total-Count': String(total), 'X-Total-Available': String(ctx.sim.state.endpoints.length),
  });
}

function inspectEndpoint(ctx: RequestContext): Reply {
  const id = routeId(ctx.params['id']!, 'environment');
  const e = ctx.sim.requireEndpoint(id);
  return ok(ctx.sim.endpointJson(e, queryBool(ctx.query, 'excludeSnapshot') ?? false));
}

// ---- stacks --------------------------------------------------------------------------

const CREATE_STRUCT = 'stacks.composeStackFromFileContentPayload';
const UPDATE_STRUCT = 'stacks.updateComposeStackPayload';

function stackEndpoint(ctx: RequestContext, stack: SimStack, required: boolean, message: string): SimEndpoint {
  const given = queryInt(ctx.query, 'endpointId', !required);
  return ctx.sim.requireEndpoint(given ?? stack.endpointId, message);
}

/** Shared by the 2.19+ route and the legacy `POST /stacks?type=2&method=string` alias. */
async function createComposeFromString(ctx: RequestContext, endpointId: number): Promise<Reply> {
  const { sim } = ctx;
  const endpoint = sim.requireEndpoint(endpointId);
  const payload = decodePayload(ctx.bodyText, CREATE_STRUCT, { name: 'string', stackFileContent: 'string', env: 'pairs', fromAppTemplate: 'bool' });
  const rawName = (payload['name'] as string | undefined) ?? '';
  const content = (payload['stackFileContent'] as string | undefined) ?? '';
  if (rawName.trim() === '') throw badRequest('Invalid request payload', 'Invalid stack name');
  if (content.trim() === '') throw badRequest('Invalid request payload', 'Invalid stack file content');
  const name = sim.normalizeName(rawName);
  if (name === '') throw badRequest('Invalid request payload', 'Invalid stack name');
  sim.assertUniqueName(endpoint, name);

  const env = (payload['env'] as Pair[] | undefined) ?? null;
  const id = sim.state.nextId.stack++;
  await sim.composeUp({ stackId: id, project: name, endpoint, content, env: env ?? [] });
  // Another request may have won the race while images were pulling.
  if (sim.state.stacks.some((s) => s.endpointId === endpoint.id && s.name === name)) {
    throw new PortainerError(409, `A stack with the normalized name '${name}' already exists`, 'A stack already exists with this name');
  }
  const stack: SimStack = {
    id, name, endpointId: endpoint.id, env, status: 1, fileContent: content, creationDate: sim.nowSeconds(), createdBy: userOf(ctx),
    updateDate: 0, updatedBy: '', resourceControlId: sim.state.nextId.resourceControl++, fromAppTemplate: (payload['fromAppTemplate'] as boolean | undefined) ?? false, prune: null,
  };
  sim.state.stacks.push(stack);
  sim.state.resourceControls.push({ id: stack.resourceControlId, resourceId: `${endpoint.id}_${name}`, type: 6 });
  return ok(sim.stackJson(stack));
}

async function createStandaloneString(ctx: RequestContext): Promise<Reply> {
  return createComposeFromString(ctx, queryInt(ctx.query, 'endpointId', false)!);
}

const LEGACY_METHODS = ['string', 'file', 'repository', 'url'];

async function createLegacy(ctx: RequestContext): Promise<Reply> {
  const type = queryInt(ctx.query, 'type', false)!;
  const method = ctx.query.get('method') ?? '';
  if (method === '') throw badRequest('Invalid query parameter: method', 'Missing query parameter');
  const endpointId = queryInt(ctx.query, 'endpointId', false)!;
  if (![1, 2, 3].includes(type)) throw badRequest('Invalid value for query parameter: type. Value must be one of: 1 (Swarm stack) or 2 (Compose stack)', 'Invalid query parameter');
  if (!LEGACY_METHODS.includes(method)) throw badRequest('Invalid value for query parameter: method. Value must be one of: string, repository or file', 'Invalid query parameter');
  if (type !== 2 || (method !== 'string' && method !== 'repository')) {
    throw new PortainerError(501, 'Not implemented by the Portainer simulator', `only type=2 (compose) with method=string or repository is simulated, not type=${type} method=${method}`);
  }
  return method === 'repository' ? createComposeFromRepository(ctx, endpointId) : createComposeFromString(ctx, endpointId);
}

function listStacks(ctx: RequestContext): Reply {
  const { sim } = ctx;
  const raw = ctx.query.get('filters');
  let filters: Record<string, unknown> = {};
  if (raw !== null && raw !== '') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      filters = parsed as Record<string, unknown>;
    } catch (err) {
      throw badRequest('Invalid query parameter: filters', err instanceof SyntaxError ? err.message : 'json: cannot unmarshal into Go value of type stacks.stackListOperationFilters');
    }
  }
  const get = (k: string) => Object.entries(filters).find(([x]) => x.toLowerCase() === k.toLowerCase())?.[1];
  const endpointId = get('EndpointID');
  if (endpointId !== undefined && (typeof endpointId !== 'number' || !Number.isInteger(endpointId))) {
    throw badRequest('Invalid query parameter: filters', `json: cannot unmarshal ${typeof endpointId} into Go struct field stackListOperationFilters.EndpointID of type int`);
  }
  const swarmId = get('SwarmID');
  const includeOrphaned = get('IncludeOrphanedStacks') === true;
  let list = sim.state.stacks.filter((s) => includeOrphaned || sim.endpoint(s.endpointId) !== undefined);
  if (typeof swarmId === 'string' && swarmId !== '') list = [];
  else if (typeof endpointId === 'number' && endpointId !== 0) list = list.filter((s) => s.endpointId === endpointId);
  return ok(list.map((s) => sim.stackJson(s)));
}

function inspectStack(ctx: RequestContext): Reply {
  const stack = ctx.sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  ctx.sim.requireEndpoint(stack.endpointId);
  return ok(ctx.sim.stackJson(stack));
}

function stackFile(ctx: RequestContext): Reply {
  const stack = ctx.sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  ctx.sim.requireEndpoint(stack.endpointId);
  return ok({ StackFileContent: stack.fileContent });
}

async function updateStack(ctx: RequestContext): Promise<Reply> {
  const { sim } = ctx;
  const stack = sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  const endpoint = stackEndpoint(ctx, stack, sim.atLeast('2.19.0'), 'Unable to find the environment associated to the stack inside the database');
  const payload = decodePayload(ctx.bodyText, UPDATE_STRUCT, { stackFileContent: 'string', env: 'pairs', prune: 'bool', pullImage: 'bool' });
  const content = (payload['stackFileContent'] as string | undefined) ?? '';
  if (content.trim() === '') throw badRequest('Invalid request payload', 'Invalid stack file content');
  const env = (payload['env'] as Pair[] | undefined) ?? null;
  const prune = (payload['prune'] as boolean | undefined) ?? false;
  // The database record only changes once the deploy worked; a failed deploy rolls the
  // file back, but containers compose already replaced stay replaced.
  await sim.composeUp({ stackId: stack.id, project: stack.name, endpoint, content, env: env ?? [], prune, pullImage: (payload['pullImage'] as boolean | undefined) ?? false });
  stack.fileContent = content;
  stack.env = env;
  stack.endpointId = endpoint.id;
  // A file update detaches a git stack from its repository (portainer#11705).
  if (stack.git) {
    stack.git = null;
    stack.autoUpdate = null;
    stack.entryPoint = 'docker-compose.yml';
  }
  if (payload['prune'] !== undefined) stack.prune = prune;
  stack.updateDate = sim.nowSeconds();
  stack.updatedBy = userOf(ctx);
  return ok(sim.stackJson(stack));
}

async function startStack(ctx: RequestContext): Promise<Reply> {
  const { sim } = ctx;
  const stack = sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  const endpoint = stackEndpoint(ctx, stack, sim.atLeast('2.19.0'), 'Unable to find an environment with the specified identifier inside the database');
  if (stack.status === 1) throw badRequest('Stack is already active', 'Stack is already active');
  sim.assertUniqueName(endpoint, stack.name, stack.id);
  await sim.composeUp({ stackId: stack.id, project: stack.name, endpoint, content: stack.fileContent, env: stack.env ?? [] });
  stack.status = 1;
  return ok(sim.stackJson(stack));
}

async function stopStack(ctx: RequestContext): Promise<Reply> {
  const { sim } = ctx;
  const stack = sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  const endpoint = stackEndpoint(ctx, stack, sim.atLeast('2.19.0'), 'Unable to find an environment with the specified identifier inside the database');
  if (stack.status === 2) throw badRequest('Stack is already inactive', 'Stack is already inactive');
  try {
    await sim.composeDown(endpoint, stack.name);
  } catch (err) {
    if (err instanceof PortainerError) throw serverError('Unable to stop stack', err.details);
    throw err;
  }
  stack.status = 2;
  return ok(sim.stackJson(stack));
}

async function deleteStack(ctx: RequestContext): Promise<Reply> {
  const { sim } = ctx;
  const id = routeId(ctx.params['id']!, 'stack');
  const external = queryBool(ctx.query, 'external') ?? false;
  if (external) throw new PortainerError(501, 'Not implemented by the Portainer simulator', 'external (swarm) stacks are not simulated');
  const stack = sim.requireStack(id);
  const endpoint = stackEndpoint(ctx, stack, sim.atLeast('2.19.0'), 'Unable to find the environment associated to the stack inside the database');
  try {
    await sim.composeDown(endpoint, stack.name);
  } catch (err) {
    if (err instanceof PortainerError) throw serverError(err.details);
    throw err;
  }
  sim.state.stacks = sim.state.stacks.filter((s) => s !== stack);
  sim.state.resourceControls = sim.state.resourceControls.filter((r) => r.id !== stack.resourceControlId);
  return { status: 204 };
}

// ---- auth ----------------------------------------------------------------------------

function authenticate(ctx: RequestContext): Reply {
  const payload = decodePayload(ctx.bodyText, 'auth.authenticatePayload', { username: 'string', password: 'string' });
  const username = (payload['username'] as string | undefined) ?? '';
  const password = (payload['password'] as string | undefined) ?? '';
  if (username === '') throw badRequest('Invalid request payload', 'Invalid username');
  if (password === '') throw badRequest('Invalid request payload', 'Invalid password');
  const user = ctx.sim.login(username, password);
  if (!user) throw new PortainerError(422, 'Invalid credentials', 'Unauthorized');
  return ok({ jwt: ctx.sim.issueJwt(user) });
}

export const routes: readonly Route[] = [
  { method: 'POST', path: '/auth', group: 'auth', public: true, spec: { ce: 'POST /auth', ee: 'POST /auth' }, handler: authenticate },
  { method: 'GET', path: '/status', group: 'system', public: true, spec: { ce: 'GET /status', ee: 'GET /status' }, handler: (ctx) => ok(statusBody(ctx.sim)) },
  { method: 'GET', path: '/system/status', group: 'system', public: true, spec: { ce: 'GET /system/status', ee: 'GET /system/status' }, handler: (ctx) => ok(statusBody(ctx.sim)) },
  {
    method: 'GET', path: '/system/version', group: 'system', spec: { ce: 'GET /system/version', ee: 'GET /system/version' },
    handler: (ctx) => ok({
      UpdateAvailable: false, LatestVersion: '', ...(ctx.sim.atLeast('2.19.0') ? { ServerEdition: 'CE' } : {}),
      ServerVersion: ctx.sim.version, DatabaseVersion: ctx.sim.version,
      Build: { BuildNumber: '', ImageTag: ctx.sim.version, NodejsVersion: '', YarnVersion: '', WebpackVersion: '', GoVersion: 'go1.22.9' },
    }),
  },
  { method: 'GET', path: '/endpoints', group: 'endpoints', spec: { ce: 'GET /endpoints', ee: 'GET /endpoints' }, handler: listEndpoints },
  { method: 'GET', path: '/endpoints/{id}', group: 'endpoints', spec: { ce: 'GET /endpoints/{id}', ee: 'GET /endpoints/{id}' }, handler: inspectEndpoint },
  { method: 'GET', path: '/stacks', group: 'stacks', spec: { ce: 'GET /stacks', ee: 'GET /stacks' }, handler: listStacks },
  // The EE 2.31 spec no longer documents the legacy alias, though the server still routes it.
  { method: 'POST', path: '/stacks', group: 'stacks', spec: { ce: 'POST /stacks' }, handler: createLegacy },
  { method: 'POST', path: '/stacks/create/standalone/string', group: 'stacks', since: '2.19.0', spec: { ee: 'POST /stacks/create/standalone/string' }, handler: createStandaloneString },
  { method: 'POST', path: '/stacks/create/standalone/repository', group: 'stacks', since: '2.19.0', spec: { ee: 'POST /stacks/create/standalone/repository' }, handler: createStandaloneRepository },
  { method: 'POST', path: '/stacks/{id}/git', group: 'stacks', spec: { ce: 'POST /stacks/{id}/git', ee: 'POST /stacks/{id}/git' }, handler: updateGitSettings },
  { method: 'PUT', path: '/stacks/{id}/git/redeploy', group: 'stacks', spec: { ce: 'PUT /stacks/{id}/git/redeploy', ee: 'PUT /stacks/{id}/git/redeploy' }, handler: redeployGit },
  { method: 'GET', path: '/stacks/{id}', group: 'stacks', spec: { ce: 'GET /stacks/{id}', ee: 'GET /stacks/{id}' }, handler: inspectStack },
  { method: 'PUT', path: '/stacks/{id}', group: 'stacks', spec: { ce: 'PUT /stacks/{id}', ee: 'PUT /stacks/{id}' }, handler: updateStack },
  { method: 'DELETE', path: '/stacks/{id}', group: 'stacks', spec: { ce: 'DELETE /stacks/{id}', ee: 'DELETE /stacks/{id}' }, handler: deleteStack },
  { method: 'GET', path: '/stacks/{id}/file', group: 'stacks', spec: { ce: 'GET /stacks/{id}/file', ee: 'GET /stacks/{id}/file' }, handler: stackFile },
  { method: 'POST', path: '/stacks/{id}/start', group: 'stacks', spec: { ce: 'POST /stacks/{id}/start', ee: 'POST /stacks/{id}/start' }, handler: startStack },
  { method: 'POST', path: '/stacks/{id}/stop', group: 'stacks', spec: { ce: 'POST /stacks/{id}/stop', ee: 'POST /stacks/{id}/stop' }, handler: stopStack },
  { method: 'ANY', path: '/endpoints/{id}/docker/*', group: 'docker', handler: dockerProxy },
];

