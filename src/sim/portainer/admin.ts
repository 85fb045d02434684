/**
 * The simulator's control surface for tests and the CLI: environments, access tokens,
 * faults, the clock, counters, and what a person would do by hand in the Portainer UI
 * or on the Docker host (crash or sicken a service, stop containers, edit a stack file,
 * delete a container, publish a new image). Served over HTTP under `/_sim/` too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ComposeError, withTag } from './compose.ts';
import { exitContainer, inspectJson, settleContainer, startContainer, summaryJson, type SimContainer } from './docker.ts';
import { PortainerError } from './errors.ts';
import type { PortainerFault, PortainerFaultKind } from './faults.ts';
import { pushCommit, repositories } from './git.ts';
import type { EnvironmentSeed, PortainerSimulator, RequestCounters } from './simulator.ts';
import type { PortainerState, SimStack } from './state.ts';

export interface ServiceRef {
  endpointId: number;
  /** Compose project = the stack's (normalised) name. */
  project: string;
  service: string;
}

export interface CrashOptions {
  exitCode?: number;
  /** Crash again this long after every restart: a crash loop (needs a restart policy). */
  loopUpMs?: number;
}

export interface ContainerSeed {
  endpointId: number;
  name: string;
  image: string;
  labels?: Record<string, string>;
  running?: boolean;
}

export class PortainerAdmin {
  readonly #sim: PortainerSimulator;

  constructor(sim: PortainerSimulator) {
    this.#sim = sim;
  }

  /** Registers an environment, e.g. one per Phoenix VM running the agent (`tcp://10.0.0.5:9001`). */
  addEnvironment(seed: EnvironmentSeed): { id: number; name: string; url: string; type: number } {
    const e = this.#sim.addEndpoint(seed);
    return { id: e.id, name: e.name, url: e.url, type: e.type };
  }

  /** An unreachable environment: Status 2, compose fails, the Docker proxy answers 502. */
  setEnvironmentReachable(id: number, reachable: boolean): void {
    this.#env(id).reachable = reachable;
  }

  /** Removes an environment; its stacks become orphaned and its containers vanish with it. */
  removeEnvironment(id: number): void {
    this.#env(id);
    this.#sim.state.endpoints = this.#sim.state.endpoints.filter((e) => e.id !== id);
    this.#sim.state.containers = this.#sim.state.containers.filter((c) => c.endpointId !== id);
  }

  /** A new `ptr_…` access token for `admin` (only its digest is stored). */
  createApiKey(description = 'phoenix'): string {
    return this.#sim.createApiKey(1, description);
  }

  revokeApiKeys(): void {
    this.#sim.revokeApiKeys();
  }

  /** Every JWT issued so far stops working, as after the 8 h session timeout. */
  expireSessions(): void {
    this.#sim.jwtNotBeforeMs = this.#sim.now() + 1000;
  }

  injectFault(fault: PortainerFault): void {
    this.#sim.faults.add(fault);
  }

  clearFaults(kind?: PortainerFaultKind): void {
    this.#sim.faults.clear(kind);
  }

  faults(): readonly PortainerFault[] {
    return this.#sim.faults.list();
  }

  advance(ms: number): void {
    this.#sim.clock.advance(ms);
  }

  setSpeed(speed: number): void {
    this.#sim.clock.setSpeed(speed);
  }

  /** Simulated now, and how many waits (pulls, compose down, latency) are pending. */
  clock(): { nowMs: number; iso: string; speed: number; mode: string; pendingSleeps: number } {
    const c = this.#sim.clock;
    return { nowMs: c.now(), iso: new Date(c.now()).toISOString(), speed: c.speed, mode: c.mode, pendingSleeps: c.pendingSleeps() };
  }

  counters(): RequestCounters {
    return structuredClone(this.#sim.counters);
  }

  resetCounters(): void {
    this.#sim.counters = { total: 0, byRoute: {}, byPath: {} };
  }

  /** Docker's view of an environment, as `docker ps -a` items. */
  containers(endpointId?: number): Array<Record<string, unknown>> {
    this.#sim.settle();
    const now = this.#sim.now();
    return this.#sim.state.containers.filter((c) => endpointId === undefined || c.endpointId === endpointId).map((c) => ({ ...summaryJson(c, now), EndpointId: c.endpointId }));
  }

  inspectContainer(endpointId: number, ref: string): Record<string, unknown> {
    return inspectJson(this.#container(endpointId, ref), this.#sim.now());
  }

  stacks(): SimStack[] {
    return structuredClone(this.#sim.state.stacks);
  }

  /** The service's containers exit (`exitCode`, default 1); restart policies apply. */
  crashService(ref: ServiceRef, options: CrashOptions = {}): void {
    const now = this.#sim.now();
    for (const c of this.#serviceContainers(ref)) {
      settleContainer(c, now);
      c.crashExitCode = options.exitCode ?? 1;
      if (options.loopUpMs !== undefined) c.crashLoopUpMs = options.loopUpMs;
      if (c.state === 'running') exitContainer(c, now, c.crashExitCode, false);
    }
  }

  /** From now on the service's health probe fails (`unhealthy`) or passes again (`healthy`). */
  setServiceHealth(ref: ServiceRef, health: 'healthy' | 'unhealthy'): void {
    const containers = this.#serviceContainers(ref);
    if (containers.some((c) => c.healthcheck === undefined)) throw new Error(`service '${ref.service}' has no healthcheck`);
    for (const c of containers) {
      if (health === 'unhealthy') c.probeFailingSinceMs ??= this.#sim.now();
      else {
        delete c.probeFailingSinceMs;
        // A passing probe resets the streak; model it as a fresh start of the monitor.
        if (c.state === 'running') c.startedMs = Math.min(c.startedMs ?? this.#sim.now(), this.#sim.now() - (c.healthcheck?.intervalMs ?? 0));
      }
    }
  }

  /** `docker stop` on the host: containers exit 0, Portainer still says the stack is active. */
  stopContainers(ref: Omit<ServiceRef, 'service'> & { service?: string }): void {
    for (const c of this.#sim.containersOf(ref.endpointId)) {
      if (c.project === ref.project && (ref.service === undefined || c.service === ref.service)) this.#sim.stopContainer(c);
    }
  }

  /** `docker start` on the host. */
  startContainers(ref: Omit<ServiceRef, 'service'> & { service?: string }): void {
    const now = this.#sim.now();
    for (const c of this.#sim.containersOf(ref.endpointId)) {
      if (c.project === ref.project && (ref.service === undefined || c.service === ref.service) && c.state !== 'running') startContainer(c, now);
    }
  }

  /** `docker rm -f` on the host. */
  removeContainer(endpointId: number, ref: string): void {
    this.#sim.removeContainer(this.#container(endpointId, ref));
  }

  /** `docker run` on the host, e.g. a container squatting a compose project label. */
  runContainer(seed: ContainerSeed): Record<string, unknown> {
    const e = this.#env(seed.endpointId);
    const image = withTag(seed.image);
    const labels = seed.labels ?? {};
    const c: SimContainer = {
      id: this.#sim.random.hex(64), name: seed.name, endpointId: e.id, image, imageId: this.#sim.imageId(image), command: [], env: [], labels, ports: [],
      restart: 'no', createdMs: this.#sim.now(), state: 'created', exitCode: 0, restartCount: 0,
    };
    if (labels['com.docker.compose.project'] !== undefined) c.project = labels['com.docker.compose.project'];
    if (labels['com.docker.compose.service'] !== undefined) c.service = labels['com.docker.compose.service'];
    if (seed.running !== false) startContainer(c, this.#sim.now());
    this.#sim.state.containers.push(c);
    return summaryJson(c, this.#sim.now());
  }

  /** The UI's "Stop this stack": compose down and Status 2. */
  async stopStack(stackId: number): Promise<void> {
    const s = this.#stack(stackId);
    await this.#sim.composeDown(this.#env(s.endpointId), s.name);
    s.status = 2;
  }

  /**
   * Someone changes the stack file: with `redeploy` as the UI editor's "Update the
   * stack" does (compose up, UpdateDate), without it as an edit on disk.
   */
  async editStackFile(stackId: number, content: string, options: { redeploy?: boolean; env?: Array<{ name: string; value: string }> } = {}): Promise<void> {
    const s = this.#stack(stackId);
    if (options.redeploy) {
      try {
        await this.#sim.composeUp({ stackId: s.id, project: s.name, endpoint: this.#env(s.endpointId), content, env: options.env ?? s.env ?? [] });
      } catch (err) {
        if (err instanceof PortainerError || err instanceof ComposeError) throw new Error(err.message);
        throw err;
      }
      s.updateDate = this.#sim.nowSeconds();
      s.updatedBy = 'admin';
    }
    s.fileContent = content;
    if (options.env) s.env = options.env;
  }

  /** Deletes the stack from Portainer's database only: its containers keep running, unmanaged. */
  forgetStack(stackId: number): void {
    const s = this.#stack(stackId);
    this.#sim.state.stacks = this.#sim.state.stacks.filter((x) => x !== s);
    this.#sim.state.resourceControls = this.#sim.state.resourceControls.filter((r) => r.id !== s.resourceControlId);
  }

  /** The registry gets a new digest for this tag; `pullImage: true` updates then recreate. */
  publishImage(image: string): void {
    const ref = withTag(image);
    this.#sim.state.registryDigests[ref] = this.#sim.random.hex(12);
  }

  /**
   * Someone pushes to a repository the simulator can "clone": a commit holding exactly
   * `files` (path → content) becomes the tip of `ref` (`refs/heads/main`). Returns its hash.
   */
  pushCommit(url: string, ref: string, files: Record<string, string>): string {
    return pushCommit(this.#sim, url, ref, files);
  }

  /** The repository demands these basic-auth credentials from now on (null: public again). */
  setRepositoryCredentials(url: string, credentials: { username: string; password: string } | null): void {
    const repo = repositories(this.#sim)[url];
    if (!repo) throw new Error(`no repository ${url}`);
    if (credentials) repo.auth = { ...credentials };
    else delete repo.auth;
  }

  /** How many redeploys Portainer's git auto-update made (they are not API requests). */
  autoUpdateDeploys(): number {
    return this.#sim.autoUpdateDeploys;
  }

  snapshotState(): PortainerState {
    this.#sim.settle();
    return structuredClone(this.#sim.state);
  }

  #env(id: number) {
    const e = this.#sim.endpoint(id);
    if (!e) throw new Error(`no environment ${id}`);
    return e;
  }

  #stack(id: number): SimStack {
    const s = this.#sim.stack(id);
    if (!s) throw new Error(`no stack ${id}`);
    return s;
  }

  #container(endpointId: number, ref: string): SimContainer {
    const c = this.#sim.containersOf(endpointId).find((x) => x.id === ref || x.id.startsWith(ref) || x.name === ref.replace(/^\//, ''));
    if (!c) throw new Error(`no container '${ref}' on environment ${endpointId}`);
    return c;
  }

  #serviceContainers(ref: ServiceRef): SimContainer[] {
    const cs = this.#sim.containersOf(ref.endpointId).filter((c) => c.project === ref.project && c.service === ref.service);
    if (cs.length === 0) throw new Error(`no containers for service '${ref.service}' of project '${ref.project}' on environment ${ref.endpointId}`);
    return cs;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

/** `/_sim/…` over HTTP: JSON in, `{data}` out, `{error}` with 400/404 on failure. */
export function adminHandler(admin: PortainerAdmin) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      return sendJson(res, 400, { error: 'body must be JSON' });
    }
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '')}`;
    const arg = <T>() => body as unknown as T;
    const num = (v: unknown) => Number(v);
    try {
      let data: unknown = null;
      let m: RegExpExecArray | null;
      if (route === 'GET /_sim/state') data = admin.snapshotState();
      else if (route === 'POST /_sim/environments') data = admin.addEnvironment(arg<EnvironmentSeed>());
      else if ((m = /^PUT \/_sim\/environments\/(\d+)$/.exec(route))) admin.setEnvironmentReachable(num(m[1]), body['reachable'] !== false);
      else if ((m = /^DELETE \/_sim\/environments\/(\d+)$/.exec(route))) admin.removeEnvironment(num(m[1]));
      else if (route === 'POST /_sim/api-keys') data = { rawAPIKey: admin.createApiKey(typeof body['description'] === 'string' ? body['description'] : undefined) };
      else if (route === 'DELETE /_sim/api-keys') admin.revokeApiKeys();
      else if (route === 'POST /_sim/sessions/expire') admin.expireSessions();
      else if (route === 'GET /_sim/faults') data = admin.faults();
      else if (route === 'POST /_sim/faults') admin.injectFault(arg<PortainerFault>());
      else if (route === 'DELETE /_sim/faults') admin.clearFaults((url.searchParams.get('kind') ?? undefined) as PortainerFaultKind | undefined);
      else if (route === 'POST /_sim/clock/advance') admin.advance(num(body['ms'] ?? 0));
      else if (route === 'PUT /_sim/clock') admin.setSpeed(num(body['speed'] ?? 1));
      else if (route === 'GET /_sim/clock') data = admin.clock();
      else if (route === 'GET /_sim/counters') data = admin.counters();
      else if (route === 'DELETE /_sim/counters') admin.resetCounters();
      else if (route === 'GET /_sim/containers') data = admin.containers(url.searchParams.has('endpointId') ? num(url.searchParams.get('endpointId')) : undefined);
      else if (route === 'POST /_sim/containers') data = admin.runContainer(arg<ContainerSeed>());
      else if ((m = /^DELETE \/_sim\/containers\/(\d+)\/([^/]+)$/.exec(route))) admin.removeContainer(num(m[1]), decodeURIComponent(m[2]!));
      else if (route === 'POST /_sim/services/crash') admin.crashService(arg<ServiceRef>(), arg<CrashOptions>());
      else if (route === 'POST /_sim/services/health') admin.setServiceHealth(arg<ServiceRef>(), body['health'] === 'healthy' ? 'healthy' : 'unhealthy');
      else if (route === 'POST /_sim/services/stop') admin.stopContainers(arg<ServiceRef>());
      else if (route === 'POST /_sim/services/start') admin.startContainers(arg<ServiceRef>());
      else if ((m = /^POST \/_sim\/stacks\/(\d+)\/stop$/.exec(route))) await admin.stopStack(num(m[1]));
      else if ((m = /^PUT \/_sim\/stacks\/(\d+)\/file$/.exec(route))) {
        await admin.editStackFile(num(m[1]), String(body['content'] ?? ''), { redeploy: body['redeploy'] === true, ...(Array.isArray(body['env']) ? { env: body['env'] as Array<{ name: string; value: string }> } : {}) });
      } else if ((m = /^DELETE \/_sim\/stacks\/(\d+)$/.exec(route))) admin.forgetStack(num(m[1]));
      else if (route === 'POST /_sim/git/commits') data = { commit: admin.pushCommit(String(body['url'] ?? ''), String(body['ref'] ?? 'refs/heads/main'), (body['files'] ?? {}) as Record<string, string>) };
      else if (route === 'PUT /_sim/git/credentials') admin.setRepositoryCredentials(String(body['url'] ?? ''), typeof body['username'] === 'string' ? { username: body['username'], password: String(body['password'] ?? '') } : null);
      else if (route === 'GET /_sim/git/auto-update-deploys') data = admin.autoUpdateDeploys();
      else if (route === 'POST /_sim/images/publish') admin.publishImage(String(body['image'] ?? ''));
      else return sendJson(res, 404, { error: `no admin route ${route}` });
      sendJson(res, 200, { data });
    } catch (err) {
      sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}
