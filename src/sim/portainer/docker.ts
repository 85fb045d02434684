/**
 * The Docker side of an environment: containers with a lifecycle driven by simulated
 * time (created → running, crashes, restart back-off, health probes), rendered in the
 * Docker Engine API's shapes (`/containers/json`, `/containers/{id}/json`). Pure: every
 * function takes the time it should answer for.
 */
import type { Healthcheck, PortBinding, RestartPolicy } from './compose.ts';

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead';
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface SimContainer {
  id: string;
  name: string;
  endpointId: number;
  /** `com.docker.compose.project`, or undefined for containers started by hand. */
  project?: string;
  service?: string;
  image: string;
  imageId: string;
  command: string[];
  env: string[];
  labels: Record<string, string>;
  ports: PortBinding[];
  restart: RestartPolicy;
  healthcheck?: Healthcheck;
  createdMs: number;
  state: ContainerState;
  startedMs?: number;
  finishedMs?: number;
  exitCode: number;
  restartCount: number;
  /** The health probe fails from this moment on (admin: "make unhealthy"). */
  probeFailingSinceMs?: number;
  /** The process exits at this moment (admin: "crash"). */
  crashAtMs?: number;
  crashExitCode?: number;
  /** Keep crashing this long after every restart (a crash loop). */
  crashLoopUpMs?: number;
  restartingUntilMs?: number;
  /** `docker stop` was used: restart policies other than `always` stay down. */
  stoppedByUser?: boolean;
}

const RESTART_BACKOFF_START_MS = 100;
const RESTART_BACKOFF_MAX_MS = 60_000;
/** dockerd resets the back-off when a container stayed up this long. */
const RESTART_RESET_AFTER_MS = 10_000;

/** Moves a container through every transition due by `now`. */
export function settleContainer(c: SimContainer, now: number): void {
  for (let guard = 0; guard < 10_000; guard++) {
    if (c.state === 'restarting' && c.restartingUntilMs !== undefined && c.restartingUntilMs <= now) {
      const at = c.restartingUntilMs;
      c.state = 'running';
      c.startedMs = at;
      c.restartCount += 1;
      delete c.restartingUntilMs;
      if (c.crashLoopUpMs !== undefined) c.crashAtMs = at + c.crashLoopUpMs;
      continue;
    }
    if (c.state === 'running' && c.crashAtMs !== undefined && c.crashAtMs <= now) {
      const at = c.crashAtMs;
      delete c.crashAtMs;
      exitContainer(c, at, c.crashExitCode ?? 1, false);
      continue;
    }
    return;
  }
}

/** The process ends; the restart policy decides whether dockerd brings it back. */
export function exitContainer(c: SimContainer, at: number, exitCode: number, byUser: boolean): void {
  const ranMs = at - (c.startedMs ?? at);
  c.finishedMs = at;
  c.exitCode = exitCode;
  c.stoppedByUser = byUser;
  const restarts = !byUser && (c.restart === 'always' || c.restart === 'unless-stopped' || (c.restart === 'on-failure' && exitCode !== 0));
  if (!restarts) {
    c.state = 'exited';
    return;
  }
  const attempt = ranMs >= RESTART_RESET_AFTER_MS ? 0 : c.restartCount;
  c.state = 'restarting';
  c.restartingUntilMs = at + Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_START_MS * 2 ** attempt);
}

export function startContainer(c: SimContainer, at: number): void {
  c.state = 'running';
  c.startedMs = at;
  c.stoppedByUser = false;
  delete c.restartingUntilMs;
  if (c.crashLoopUpMs !== undefined) c.crashAtMs = at + c.crashLoopUpMs;
}

/**
 * Docker's health monitor: the first probe runs one interval after start; failures
 * inside `start_period` do not count; `retries` consecutive failures make it unhealthy.
 * For a stopped container the status is the one it had when it stopped.
 */
export function healthAt(c: SimContainer, now: number): { status: HealthStatus; failingStreak: number } | undefined {
  const hc = c.healthcheck;
  if (!hc || c.startedMs === undefined) return hc ? { status: 'starting', failingStreak: 0 } : undefined;
  const at = c.state === 'running' || c.state === 'paused' ? now : Math.min(now, c.finishedMs ?? now);
  const interval = Math.max(1, hc.intervalMs);
  const probes = Math.floor((at - c.startedMs) / interval);
  if (probes <= 0) return { status: 'starting', failingStreak: 0 };
  const failFrom = c.probeFailingSinceMs;
  if (failFrom === undefined || failFrom > at) return { status: 'healthy', failingStreak: 0 };
  // Probe k runs at startedMs + k·interval; count the failing ones outside the grace period.
  // A probe running at the very moment the failure starts still passed.
  const firstFailing = Math.max(1, Math.floor((Math.max(failFrom, c.startedMs + hc.startPeriodMs) - c.startedMs) / interval) + 1);
  const failures = Math.max(0, probes - firstFailing + 1);
  const everHealthy = firstFailing > 1;
  if (failures >= Math.max(1, hc.retries)) return { status: 'unhealthy', failingStreak: failures };
  return { status: everHealthy ? 'healthy' : 'starting', failingStreak: failures };
}

/** go-units HumanDuration, which `docker ps` uses for the Status column. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

export function statusText(c: SimContainer, now: number): string {
  switch (c.state) {
    case 'created': return 'Created';
    case 'dead': return 'Dead';
    case 'restarting': return `Restarting (${c.exitCode}) ${humanDuration(now - (c.finishedMs ?? now))} ago`;
    case 'exited': return `Exited (${c.exitCode}) ${humanDuration(now - (c.finishedMs ?? now))} ago`;
    case 'paused': return `Up ${humanDuration(now - (c.startedMs ?? now))} (Paused)`;
    case 'running': {
      const h = healthAt(c, now);
      const suffix = h === undefined ? '' : h.status === 'starting' ? ' (health: starting)' : ` (${h.status})`;
      return `Up ${humanDuration(now - (c.startedMs ?? now))}${suffix}`;
    }
  }
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const iso = (ms: number | undefined) => (ms === undefined ? ZERO_TIME : new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z'));

function portsJson(c: SimContainer): unknown[] {
  return c.ports.map((p) => (p.published === undefined
    ? { PrivatePort: p.target, Type: p.protocol }
    : { IP: p.hostIp, PrivatePort: p.target, PublicPort: p.published, Type: p.protocol }));
}

function networkName(c: SimContainer): string {
  return c.project === undefined ? 'bridge' : `${c.project}_default`;
}

function networksJson(c: SimContainer): Record<string, unknown> {
  const running = c.state === 'running' || c.state === 'paused';
  const n = parseInt(c.id.slice(0, 2), 16) % 250 + 2;
  return {
    [networkName(c)]: {
      IPAMConfig: null, Links: null, Aliases: null, MacAddress: running ? `02:42:ac:12:00:${n.toString(16).padStart(2, '0')}` : '',
      NetworkID: c.id.slice(10, 42).padEnd(64, '0'), EndpointID: running ? c.id.slice(20) + c.id.slice(0, 20) : '',
      Gateway: running ? '172.18.0.1' : '', IPAddress: running ? `172.18.0.${n}` : '', IPPrefixLen: running ? 16 : 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DriverOpts: null,
    },
  };
}

/** An item of `GET /containers/json`. */
export function summaryJson(c: SimContainer, now: number): Record<string, unknown> {
  return {
    Id: c.id, Names: [`/${c.name}`], Image: c.image, ImageID: c.imageId,
    Command: c.command.join(' '), Created: Math.floor(c.createdMs / 1000), Ports: portsJson(c), Labels: { ...c.labels },
    State: c.state, Status: statusText(c, now), HostConfig: { NetworkMode: networkName(c) },
    NetworkSettings: { Networks: networksJson(c) }, Mounts: [],
  };
}

/** `GET /containers/{id}/json`. */
export function inspectJson(c: SimContainer, now: number): Record<string, unknown> {
  const health = healthAt(c, now);
  const state: Record<string, unknown> = {
    Status: c.state, Running: c.state === 'running' || c.state === 'paused' || c.state === 'restarting', Paused: c.state === 'paused',
    Restarting: c.state === 'restarting', OOMKilled: false, Dead: c.state === 'dead',
    Pid: c.state === 'running' || c.state === 'paused' ? 1000 + (parseInt(c.id.slice(0, 4), 16) % 30000) : 0,
    ExitCode: c.state === 'running' || c.state === 'created' ? 0 : c.exitCode, Error: '',
    StartedAt: iso(c.startedMs), FinishedAt: iso(c.state === 'running' ? undefined : c.finishedMs),
  };
  if (health) state['Health'] = { Status: health.status, FailingStreak: health.failingStreak, Log: [] };
  const config: Record<string, unknown> = {
    Hostname: c.id.slice(0, 12), Domainname: '', User: '', Tty: false, OpenStdin: false, Env: [...c.env], Cmd: c.command.length > 0 ? [...c.command] : null,
    Image: c.image, Labels: { ...c.labels },
  };
  if (c.healthcheck) {
    config['Healthcheck'] = {
      Test: c.healthcheck.test, Interval: c.healthcheck.intervalMs * 1e6, Timeout: c.healthcheck.timeoutMs * 1e6,
      Retries: c.healthcheck.retries, StartPeriod: c.healthcheck.startPeriodMs * 1e6,
    };
  }
  const portBindings: Record<string, unknown> = {};
  for (const p of c.ports) if (p.published !== undefined) portBindings[`${p.target}/${p.protocol}`] = [{ HostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp, HostPort: String(p.published) }];
  return {
    Id: c.id, Created: iso(c.createdMs), Path: c.command[0] ?? '', Args: c.command.slice(1), State: state, Image: c.imageId,
    Name: `/${c.name}`, RestartCount: c.restartCount, Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    HostConfig: { NetworkMode: networkName(c), PortBindings: portBindings, RestartPolicy: { Name: c.restart, MaximumRetryCount: 0 } },
    Mounts: [], Config: config, NetworkSettings: { Networks: networksJson(c) },
  };
}

export interface ContainerFilters {
  label: string[];
  status: string[];
  health: string[];
  name: string[];
  id: string[];
}

const STATUS_VALUES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH_VALUES = ['starting', 'healthy', 'unhealthy', 'none'];

/** Filter values Docker refuses, with the daemon's message. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

/**
 * The `filters` query parameter: `{"label":["a=b"]}`, or the older
 * `{"label":{"a=b":true}}` form the daemon still accepts.
 */
export function parseFilters(raw: string | null): ContainerFilters {
  const out: ContainerFilters = { label: [], status: [], health: [], name: [], id: [] };
  if (raw === null || raw === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new FilterError(`invalid filter: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new FilterError('invalid filter: filters must be a JSON object');
  for (const [key, value] of Object.entries(parsed)) {
    const values = Array.isArray(value) ? value.map(String) : value !== null && typeof value === 'object' ? Object.keys(value) : [String(value)];
    if (!(key in out)) throw new FilterError(`invalid filter '${key}'`);
    if (key === 'status') for (const v of values) if (!STATUS_VALUES.includes(v)) throw new FilterError(`invalid filter 'status=${v}'`);
    if (key === 'health') for (const v of values) if (!HEALTH_VALUES.includes(v)) throw new FilterError(`Unrecognised filter value for health: ${v}`);
    out[key as keyof ContainerFilters].push(...values);
  }
  return out;
}

export function matchesFilters(c: SimContainer, f: ContainerFilters, now: number): boolean {
  for (const l of f.label) {
    const eq = l.indexOf('=');
    if (eq < 0 ? !(l in c.labels) : c.labels[l.slice(0, eq)] !== l.slice(eq + 1)) return false;
  }
  if (f.status.length > 0 && !f.status.includes(c.state)) return false;
  if (f.health.length > 0) {
    const h = healthAt(c, now)?.status ?? 'none';
    if (!f.health.includes(h)) return false;
  }
  if (f.name.length > 0 && !f.name.some((n) => new RegExp(n.replace(/^\//, '')).test(c.name))) return false;
  if (f.id.length > 0 && !f.id.some((id) => c.id.startsWith(id))) return false;
  return true;
}
