/**
 * The simulated Portainer CE server: its database, the Docker engines behind its
 * environments, auth, and the compose operations the stack handlers share
 * (up, down, name checks). Time comes from the Proxmox simulator's SimClock, chance from
 * its SeededRandom, so runs with the same seed behave the same.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SimClock, type ClockMode } from '../proxmox/clock.ts';
import { SeededRandom } from '../proxmox/random.ts';
import { ComposeError, normalizeStackName, parseCompose, withTag, type ComposeService, type Pair } from './compose.ts';
import { exitContainer, healthAt, settleContainer, startContainer, type SimContainer } from './docker.ts';
import { runDueAutoUpdates } from './git.ts';
import { FaultTable, type PortainerFault } from './faults.ts';
import { PortainerError, conflict, notFound, serverError } from './errors.ts';
import type { EndpointType, PortainerState, SimEndpoint, SimStack, SimUser } from './state.ts';

export interface SimulatorOptions {
  /** Seeds ids, API keys, durations and fault dice. Default 1. */
  seed?: number;
  /** Simulated seconds per real second. Default 1. */
  speed?: number;
  /** `manual`: time moves only when advanced (tests). Default `real`. */
  clock?: ClockMode;
  /** Simulated start time (ms since epoch). Default 2026-01-01T00:00:00Z. */
  startMs?: number;
  /** Reported version; routes newer than it answer 404 as they would. Default 2.21.4. */
  version?: string;
  /** The initial administrator (`admin`) password. */
  adminPassword?: string;
  /** Environments present at start. Default: one local Docker socket environment. */
  environments?: EnvironmentSeed[];
  /** Whole state to start from (what `/_sim/state` returns). */
  state?: PortainerState;
}

export interface EnvironmentSeed {
  name: string;
  /** 1 Docker socket/API, 2 Portainer agent. Default 2 when the URL is tcp://…:9001. */
  type?: EndpointType;
  url?: string;
  publicUrl?: string;
  reachable?: boolean;
  tagIds?: number[];
}

export const DEFAULT_ADMIN_PASSWORD = 'portainer-sim-admin';
export const DEFAULT_VERSION = '2.21.4';

/** Simulated durations (ms, before ±25 % seeded jitter and the speed factor). */
export const DURATIONS = {
  /** One image pull; compose pulls a project's images in parallel. */
  pull: 4000,
  /** Between `compose up` creating the containers and them running. */
  start: 500,
  /** `compose down`: stop (SIGTERM, the process exits) and remove. */
  down: 1500,
};

/** The JWT lifetime: Portainer's default user session timeout. */
export const SESSION_MS = 8 * 3600 * 1000;

export interface RequestCounters {
  total: number;
  /** `GET /stacks/{id}` → count */
  byRoute: Record<string, number>;
  /** `GET /api/stacks/3` → count */
  byPath: Record<string, number>;
}

export interface Principal {
  user: SimUser;
  via: 'api-key' | 'jwt';
}

export class PortainerSimulator {
  readonly clock: SimClock;
  readonly random: SeededRandom;
  readonly faults = new FaultTable<PortainerFault>();
  readonly version: string;
  readonly #jwtSecret = randomBytes(32);
  state: PortainerState;
  counters: RequestCounters = { total: 0, byRoute: {}, byPath: {} };
  /** JWTs issued before this (ms) are refused: the admin's "expire sessions". */
  jwtNotBeforeMs = 0;
  /** Redeploys Portainer's git auto-update made (it makes no API request to count). */
  autoUpdateDeploys = 0;
  readonly #autoUpdating = new Set<number>();
  #jti = 0;

  constructor(options: SimulatorOptions = {}) {
    const seed = options.seed ?? 1;
    this.random = new SeededRandom(seed);
    this.clock = new SimClock({ startMs: options.startMs ?? Date.UTC(2026, 0, 1), speed: options.speed ?? 1, mode: options.clock ?? 'real' });
    this.version = options.version ?? DEFAULT_VERSION;
    this.state = options.state ?? {
      instanceId: this.random.uuid(),
      users: [{ id: 1, username: 'admin', password: options.adminPassword ?? DEFAULT_ADMIN_PASSWORD, role: 1 }],
      apiKeys: [], endpoints: [], stacks: [], resourceControls: [], containers: [], pulledImages: {}, registryDigests: {},
      nextId: { endpoint: 1, stack: 1, resourceControl: 1, apiKey: 1 },
    };
    if (!options.state) for (const e of options.environments ?? [{ name: 'local', type: 1, url: 'unix:///var/run/docker.sock' }]) this.addEndpoint(e);
    this.clock.onAdvance(() => {
      this.settle();
      this.runAutoUpdates();
    });
  }

  /** Portainer's git auto-update polls that are due (see git.ts). */
  runAutoUpdates(): void {
    runDueAutoUpdates(this, this.#autoUpdating);
  }

  /** Whether this release has a route that appeared in `since` (e.g. `2.19.0`). */
  atLeast(since: string): boolean {
    const a = this.version.split('.').map(Number);
    const b = since.split('.').map(Number);
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    return true;
  }

  now(): number {
    return this.clock.now();
  }

  nowSeconds(): number {
    return this.clock.nowSeconds();
  }

  settle(): void {
    const now = this.now();
    for (const c of this.state.containers) settleContainer(c, now);
  }

  count(method: string, route: string, path: string): void {
    this.counters.total++;
    const r = `${method} ${route}`;
    const p = `${method} ${path}`;
    this.counters.byRoute[r] = (this.counters.byRoute[r] ?? 0) + 1;
    this.counters.byPath[p] = (this.counters.byPath[p] ?? 0) + 1;
  }

  /** A duration with ±25 % seeded jitter. */
  jitter(ms: number): number {
    return Math.round(ms * (0.75 + this.random.next() * 0.5));
  }

  // ---- auth ------------------------------------------------------------------------

  /** Creates an access token; only its digest is kept, as Portainer does. */
  createApiKey(userId: number, description: string): string {
    const bytes = Buffer.from(Array.from({ length: 32 }, () => this.random.byte()));
    const raw = `ptr_${bytes.toString('base64')}`;
    this.state.apiKeys.push({
      id: this.state.nextId.apiKey++, userId, description, digest: digest(raw), prefix: raw.slice(0, 7),
      dateCreated: this.nowSeconds(), lastUsed: 0,
    });
    return raw;
  }

  revokeApiKeys(): void {
    this.state.apiKeys = [];
  }

  userByApiKey(raw: string): SimUser | undefined {
    const d = digest(raw);
    const key = this.state.apiKeys.find((k) => k.digest === d);
    if (!key) return undefined;
    // Portainer writes LastUsed at most once a minute.
    if (this.nowSeconds() - key.lastUsed > 60) key.lastUsed = this.nowSeconds();
    return this.state.users.find((u) => u.id === key.userId);
  }

  login(username: string, password: string): SimUser | undefined {
    return this.state.users.find((u) => u.username.toLowerCase() === username.toLowerCase() && u.password === password);
  }

  issueJwt(user: SimUser): string {
    const nowMs = this.now();
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = b64url(JSON.stringify({
      id: user.id, username: user.username, role: user.role, scope: 'default', forceChangePassword: false,
      exp: Math.floor((nowMs + SESSION_MS) / 1000), jti: `${this.state.instanceId.slice(0, 8)}-${++this.#jti}`, iat: Math.floor(nowMs / 1000),
    }));
    const sig = createHmac('sha256', this.#jwtSecret).update(`${header}.${payload}`).digest('base64url');
    return `${header}.${payload}.${sig}`;
  }

  /** The user a JWT names, or undefined for a bad signature, expiry or revocation. */
  userByJwt(token: string): SimUser | 'unknown-user' | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = createHmac('sha256', this.#jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: { id?: number; exp?: number; iat?: number };
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return undefined;
    }
    if (claims.exp === undefined || claims.exp * 1000 <= this.now()) return undefined;
    if ((claims.iat ?? 0) * 1000 < this.jwtNotBeforeMs) return undefined;
    return this.state.users.find((u) => u.id === claims.id) ?? 'unknown-user';
  }

  // ---- environments ----------------------------------------------------------------

  addEndpoint(seed: EnvironmentSeed): SimEndpoint {
    const url = seed.url ?? 'unix:///var/run/docker.sock';
    const e: SimEndpoint = {
      id: this.state.nextId.endpoint++, name: seed.name, type: seed.type ?? (/^tcp:\/\/.*:9001$/.test(url) ? 2 : 1), url,
      publicUrl: seed.publicUrl ?? '', groupId: 1, tagIds: seed.tagIds ?? [], reachable: seed.reachable ?? true,
      dockerVersion: '27.5.1', totalCpu: 4, totalMemory: 8 * 1024 ** 3, createdMs: this.now(),
    };
    this.state.endpoints.push(e);
    this.state.pulledImages[String(e.id)] = [];
    return e;
  }

  endpoint(id: number): SimEndpoint | undefined {
    return this.state.endpoints.find((e) => e.id === id);
  }

  /** The environment a handler needs, or Portainer's 404. */
  requireEndpoint(id: number, message = 'Unable to find an environment with the specified identifier inside the database'): SimEndpoint {
    const e = this.endpoint(id);
    if (!e) throw notFound(message);
    return e;
  }

  containersOf(endpointId: number): SimContainer[] {
    this.settle();
    return this.state.containers.filter((c) => c.endpointId === endpointId);
  }

  /** What `docker compose` says when the engine cannot be reached. */
  unreachableError(e: SimEndpoint): PortainerError {
    const host = e.url.replace(/^[a-z]+:\/\//, '');
    const text = e.type === 2
      ? `Error response from daemon: dial tcp ${host}: connect: connection refused`
      : `Cannot connect to the Docker daemon at ${e.url}. Is the docker daemon running?`;
    return serverError(text);
  }

  // ---- stacks ----------------------------------------------------------------------

  stack(id: number): SimStack | undefined {
    return this.state.stacks.find((s) => s.id === id);
  }

  requireStack(id: number): SimStack {
    const s = this.stack(id);
    if (!s) throw notFound('Unable to find a stack with the specified identifier inside the database');
    return s;
  }

  /**
   * checkUniqueStackNameInDocker: a Portainer stack with that name on the environment,
   * or any container there carrying it as compose project label, is a clash.
   */
  assertUniqueName(endpoint: SimEndpoint, name: string, exceptStackId = 0): void {
    const clash = this.state.stacks.some((s) => s.endpointId === endpoint.id && s.id !== exceptStackId && s.name.toLowerCase() === name.toLowerCase())
      || this.containersOf(endpoint.id).some((c) => c.labels['com.docker.compose.project'] === name);
    if (clash) throw conflict(`A stack with the normalized name '${name}' already exists`, 'A stack already exists with this name');
  }

  normalizeName(name: string): string {
    return normalizeStackName(name);
  }

  projectPath(stackId: number): string {
    return `/data/compose/${stackId}`;
  }

  /**
   * `docker compose up -d` for a project: pull what is missing (all images with
   * `pullImage`), then create and start containers whose definition changed, keeping
   * the others. Orphans (services no longer in the file) stay unless `prune`.
   * Returns when compose would return, with simulated time spent on pulls and starts.
   */
  async composeUp(spec: { stackId: number; project: string; endpoint: SimEndpoint; content: string; env: readonly Pair[]; pullImage?: boolean; prune?: boolean }): Promise<void> {
    const { endpoint, project } = spec;
    const file = `${this.projectPath(spec.stackId)}/docker-compose.yml`;
    let services: ComposeService[];
    try {
      services = parseCompose(spec.content, spec.env, file).services;
    } catch (err) {
      if (err instanceof ComposeError) throw serverError(err.message);
      throw err;
    }
    if (!endpoint.reachable) throw this.unreachableError(endpoint);

    const pulled = (this.state.pulledImages[String(endpoint.id)] ??= []);
    const images = [...new Set(services.map((s) => s.image))];
    const toPull = images.filter((i) => spec.pullImage || !pulled.includes(i));
    for (const image of toPull) {
      const f = this.faults.take('pull-failure', (x) => withTag(x.image) === image && (x.endpointId === undefined || x.endpointId === endpoint.id));
      if (f) {
        const repo = image.replace(/:[^:/]+$/, '');
        throw serverError(f.message ?? `Error response from daemon: pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
      }
    }
    if (toPull.length > 0) await this.clock.sleep(Math.max(...toPull.map(() => this.jitter(DURATIONS.pull))));
    for (const image of toPull) if (!pulled.includes(image)) pulled.push(image);
    if (!endpoint.reachable) throw this.unreachableError(endpoint);

    const now = this.now();
    const existing = this.containersOf(endpoint.id).filter((c) => c.labels['com.docker.compose.project'] === project);
    const toStart: SimContainer[] = [];
    for (const s of services) {
      for (let n = 1; n <= s.replicas; n++) {
        const name = s.containerName ?? `${project}-${s.name}-${n}`;
        const current = existing.find((c) => c.service === s.name && c.labels['com.docker.compose.container-number'] === String(n));
        const imageId = this.imageId(s.image);
        if (current && current.labels['com.docker.compose.config-hash'] === s.configHash && current.imageId === imageId) {
          if (current.state !== 'running' && current.state !== 'restarting') toStart.push(current);
          continue;
        }
        if (current) this.removeContainer(current);
        const byName = this.state.containers.find((c) => c.endpointId === endpoint.id && c.name === name);
        if (byName) throw serverError(`Error response from daemon: Conflict. The container name "/${name}" is already in use by container "${byName.id}". You have to remove (or rename) that container to be able to reuse that name.`);
        const c = this.newContainer(endpoint, project, s, n, name, spec.stackId, now);
        this.state.containers.push(c);
        toStart.push(c);
      }
      // Replicas beyond the new count go away, as compose scales down.
      for (const c of existing.filter((x) => x.service === s.name && Number(x.labels['com.docker.compose.container-number']) > s.replicas)) this.removeContainer(c);
    }
    if (spec.prune) {
      const names = new Set(services.map((s) => s.name));
      for (const c of existing.filter((x) => x.service !== undefined && !names.has(x.service))) this.removeContainer(c);
    }
    if (toStart.length === 0) return;
    await this.clock.sleep(this.jitter(DURATIONS.start));
    const startAt = this.now();
    for (const c of toStart) {
      if (!this.state.containers.includes(c)) continue;
      const clash = this.portClash(c);
      if (clash) {
        throw serverError(`Error response from daemon: driver failed programming external connectivity on endpoint ${c.name} (${c.id}): Bind for ${clash.hostIp}:${clash.published} failed: port is already allocated`);
      }
      startContainer(c, startAt);
    }
  }

  /** `docker compose down`: stops and removes the project's containers. */
  async composeDown(endpoint: SimEndpoint, project: string): Promise<void> {
    if (!endpoint.reachable) throw this.unreachableError(endpoint);
    const containers = this.containersOf(endpoint.id).filter((c) => c.labels['com.docker.compose.project'] === project);
    if (containers.length === 0) return;
    await this.clock.sleep(this.jitter(DURATIONS.down));
    for (const c of containers) this.removeContainer(c);
  }

  removeContainer(c: SimContainer): void {
    this.state.containers = this.state.containers.filter((x) => x !== c);
  }

  /** The content-addressed id of an image as pulled now (changes when the registry's digest does). */
  imageId(image: string): string {
    const d = this.state.registryDigests[image] ?? 'initial';
    return `sha256:${createHash('sha256').update(`${image}@${d}`).digest('hex')}`;
  }

  portClash(c: SimContainer): { hostIp: string; published: number } | undefined {
    for (const p of c.ports) {
      if (p.published === undefined) continue;
      const taken = this.state.containers.some((o) => o !== c && o.endpointId === c.endpointId && (o.state === 'running' || o.state === 'restarting' || o.state === 'paused')
        && o.ports.some((q) => q.published === p.published && q.protocol === p.protocol && (q.hostIp === p.hostIp || q.hostIp === '0.0.0.0' || p.hostIp === '0.0.0.0')));
      if (taken) return { hostIp: p.hostIp, published: p.published };
    }
    return undefined;
  }

  newContainer(endpoint: SimEndpoint, project: string, s: ComposeService, n: number, name: string, stackId: number, now: number): SimContainer {
    const dir = this.projectPath(stackId);
    const labels: Record<string, string> = {
      ...s.labels,
      'com.docker.compose.config-hash': s.configHash,
      'com.docker.compose.container-number': String(n),
      'com.docker.compose.depends_on': s.dependsOn.map((d) => `${d}:service_started:false`).join(','),
      'com.docker.compose.image': this.imageId(s.image),
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project': project,
      'com.docker.compose.project.config_files': `${dir}/docker-compose.yml`,
      'com.docker.compose.project.working_dir': dir,
      'com.docker.compose.service': s.name,
      'com.docker.compose.version': '2.29.7',
    };
    const c: SimContainer = {
      id: this.random.hex(64), name, endpointId: endpoint.id, project, service: s.name, image: s.image, imageId: this.imageId(s.image),
      command: s.command, env: Object.entries(s.environment).map(([k, v]) => `${k}=${v}`), labels, ports: s.ports, restart: s.restart,
      createdMs: now, state: 'created', exitCode: 0, restartCount: 0,
    };
    if (s.healthcheck) c.healthcheck = s.healthcheck;
    return c;
  }

  // ---- rendering -------------------------------------------------------------------

  resourceControlJson(stack: SimStack): Record<string, unknown> {
    return {
      Id: stack.resourceControlId, ResourceId: `${stack.endpointId}_${stack.name}`, SubResourceIds: [], Type: 6,
      UserAccesses: [], TeamAccesses: [], Public: false, AdministratorsOnly: true, System: false,
    };
  }

  /** portainer.Stack as Go's encoding/json writes it: untagged fields keep their Go names. */
  stackJson(s: SimStack): Record<string, unknown> {
    return {
      Id: s.id, Name: s.name, Type: 2, EndpointId: s.endpointId, SwarmId: '', EntryPoint: s.entryPoint ?? 'docker-compose.yml', Env: s.env,
      ResourceControl: this.resourceControlJson(s), Status: s.status, ProjectPath: this.projectPath(s.id),
      CreationDate: s.creationDate, CreatedBy: s.createdBy, UpdateDate: s.updateDate, UpdatedBy: s.updatedBy,
      AdditionalFiles: s.git ? [] : null, AutoUpdate: this.autoUpdateJson(s), Option: s.prune === null ? null : { Prune: s.prune }, GitConfig: this.gitConfigJson(s),
      FromAppTemplate: s.fromAppTemplate, Namespace: '',
      // Dropped from portainer.Stack after 2.17 (it only mattered for Kubernetes stacks).
      ...(this.atLeast('2.19.0') ? {} : { IsComposeFormat: false }),
    };
  }

  /** gittypes.RepoConfig (untagged, so Go names); the password is blanked as Portainer does. */
  gitConfigJson(s: SimStack): Record<string, unknown> | null {
    const g = s.git;
    if (!g) return null;
    return {
      URL: g.url, ReferenceName: g.referenceName, ConfigFilePath: g.configFilePath,
      Authentication: g.auth ? { Username: g.auth.username, Password: '', GitCredentialID: 0 } : null, ConfigHash: g.configHash,
      // Not in the 2.17 RepoConfig.
      ...(this.atLeast('2.19.0') ? { TLSSkipVerify: g.tlsSkipVerify } : {}),
    };
  }

  autoUpdateJson(s: SimStack): Record<string, unknown> | null {
    const a = s.autoUpdate;
    if (!a) return null;
    return {
      Interval: a.interval, Webhook: a.webhook, JobID: a.jobId,
      // 2.17's StackAutoUpdate had neither.
      ...(this.atLeast('2.19.0') ? { ForceUpdate: a.forceUpdate, ForcePullImage: a.forcePullImage } : {}),
    };
  }

  endpointJson(e: SimEndpoint, excludeSnapshots = false): Record<string, unknown> {
    const tls = e.type === 2;
    return {
      Id: e.id, Name: e.name, Type: e.type, URL: e.url, GroupId: e.groupId, PublicURL: e.publicUrl, Gpus: [],
      TLSConfig: { TLS: tls, TLSSkipVerify: tls }, AzureCredentials: { ApplicationID: '', TenantID: '', AuthenticationKey: '' },
      TagIds: e.tagIds, Status: e.reachable ? 1 : 2, Snapshots: excludeSnapshots ? [] : [this.snapshotJson(e)],
      UserAccessPolicies: {}, TeamAccessPolicies: {}, EdgeID: '', EdgeKey: '', EdgeCheckinInterval: 0,
      Kubernetes: {
        Snapshots: [], Flags: { IsServerMetricsDetected: false, IsServerStorageDetected: false },
        Configuration: {
          UseLoadBalancer: false, UseServerMetrics: false, EnableResourceOverCommit: true, ResourceOverCommitPercentage: 20, StorageClasses: null,
          IngressClasses: null, RestrictDefaultNamespace: false, IngressAvailabilityPerNamespace: true, AllowNoneIngressClass: false,
        },
      },
      ComposeSyntaxMaxVersion: '',
      SecuritySettings: {
        allowBindMountsForRegularUsers: true, allowPrivilegedModeForRegularUsers: true, allowVolumeBrowserForRegularUsers: false,
        allowHostNamespaceForRegularUsers: true, allowDeviceMappingForRegularUsers: true, allowStackManagementForRegularUsers: true,
        allowContainerCapabilitiesForRegularUsers: true, allowSysctlSettingForRegularUsers: true, enableHostManagementFeatures: false,
      },
      LastCheckInDate: 0, QueryDate: 0, UserTrusted: false, PostInitMigrations: { MigrateIngresses: true },
      Edge: { AsyncMode: false, PingInterval: 0, SnapshotInterval: 0, CommandInterval: 0 },
      Agent: { Version: e.type === 2 ? this.version : '' },
    };
  }

  /** Portainer's DockerSnapshot, computed from the engine now (real ones refresh every 5 min). */
  snapshotJson(e: SimEndpoint): Record<string, unknown> {
    const now = this.now();
    const cs = this.containersOf(e.id);
    const running = cs.filter((c) => c.state === 'running');
    return {
      Time: Math.floor(now / 1000), DockerVersion: e.dockerVersion, Swarm: false, TotalCPU: e.totalCpu, TotalMemory: e.totalMemory,
      RunningContainerCount: running.length, StoppedContainerCount: cs.length - running.length,
      HealthyContainerCount: running.filter((c) => healthAt(c, now)?.status === 'healthy').length,
      UnhealthyContainerCount: running.filter((c) => healthAt(c, now)?.status === 'unhealthy').length,
      VolumeCount: 0, ImageCount: (this.state.pulledImages[String(e.id)] ?? []).length, ServiceCount: 0,
      StackCount: new Set(cs.map((c) => c.project).filter((p) => p !== undefined)).size, NodeCount: 1, GpuUseAll: false, GpuUseList: [],
      DockerSnapshotRaw: {},
    };
  }

  /** Stops a container as `docker stop` would (used by the Docker proxy and the admin). */
  stopContainer(c: SimContainer): void {
    settleContainer(c, this.now());
    if (c.state === 'running' || c.state === 'paused' || c.state === 'restarting') exitContainer(c, this.now(), 0, true);
  }
}

function digest(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
