import { hostname } from 'node:os';
import { durationMs } from './duration.ts';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { logLevels, type LogFormat, type LogLevel } from './logging.ts';
import { leaderElectionDefaults } from './leader-election.ts';
import { defaultReadyGraceMs } from './conditions.ts';

export interface RuntimeConfig {
  /** Path to a kubeconfig; absent means in-cluster when running in a pod, else the default loading rules. */
  readonly kubeconfig?: string;
  /** Namespaces to watch; empty means all. */
  readonly namespaces: readonly string[];
  /**
   * Namespaces holding Secrets that cluster-scoped objects (PhoenixHypervisor) reference, read in
   * addition to `namespaces` when those are restricted. Default: the controller's own namespace.
   */
  readonly credentialsNamespaces: readonly string[];
  /** Workers for every kind `concurrency` does not name; undefined: each kind's own default (else 1). */
  readonly defaultConcurrency: number | undefined;
  /** Workers per kind, e.g. { PhoenixVM: 4 }. */
  readonly concurrency: Readonly<Record<string, number>>;
  readonly resyncPeriodMs: number;
  /** host:port, or "0" to disable. */
  readonly metricsAddress: string;
  readonly probeAddress: string;
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly namespace: string;
    readonly name: string;
    readonly identity: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  /** Overall retry rate limit shared by all keys of a controller. */
  readonly queueQps: number;
  readonly queueBurst: number;
  readonly shutdownTimeoutMs: number;
  /** How long the controller's own trouble may last before a converged object's Ready turns False. */
  readonly readyGracePeriodMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export const configUsage = `Options (each also read from the environment variable shown; flags win):
  --kubeconfig PATH                 KUBECONFIG; default: in-cluster in a pod, else ~/.kube/config
  --namespaces NS[,NS...]           PHOENIX_NAMESPACES; namespaces to watch (default: all)
  --credentials-namespaces NS[,NS...]
                                    PHOENIX_CREDENTIALS_NAMESPACES; where hypervisor Secrets live, read
                                    besides --namespaces (default: POD_NAMESPACE, else phoenix-system)
  --concurrency N | KIND=N          PHOENIX_CONCURRENCY; workers per kind, repeatable (default: 8 for
                                    guests, whose reconciles mostly wait on Proxmox; 1 for others)
  --resync-period DURATION          PHOENIX_RESYNC_PERIOD; replay every cached object (default 10m)
  --metrics-bind-address ADDR       PHOENIX_METRICS_BIND_ADDRESS; /metrics (default :8080, 0 = off)
  --health-probe-bind-address ADDR  PHOENIX_HEALTH_PROBE_BIND_ADDRESS; /healthz, /readyz (default :8081, 0 = off)
  --leader-elect                    PHOENIX_LEADER_ELECT=true; run only while holding a Lease
  --leader-election-namespace NS    POD_NAMESPACE (default: default)
  --leader-election-id NAME         PHOENIX_LEADER_ELECTION_ID (default phoenix-controller-leader)
  --leader-election-identity ID     POD_NAME (default hostname_uuid)
  --lease-duration DURATION         PHOENIX_LEASE_DURATION (default 15s)
  --renew-deadline DURATION         PHOENIX_RENEW_DEADLINE (default 10s)
  --retry-period DURATION           PHOENIX_RETRY_PERIOD (default 2s)
  --queue-qps N, --queue-burst N    PHOENIX_QUEUE_QPS, PHOENIX_QUEUE_BURST; retry rate limit (10, 100)
  --shutdown-timeout DURATION       PHOENIX_SHUTDOWN_TIMEOUT; wait for reconciles in flight (default 30s)
  --ready-grace-period DURATION     PHOENIX_READY_GRACE_PERIOD; how long the controller's own trouble
                                    (a restart, an unreachable endpoint, a failed read) shows only as
                                    Synced=False before a converged object's Ready turns False (default 2m)
  --log-level error|warn|info|debug PHOENIX_LOG_LEVEL (default info)
  --log-format json|text|auto       PHOENIX_LOG_FORMAT (default auto: text on a TTY, else JSON)
Durations: 500ms, 15s, 10m, 1h30m.`;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A flag's duration, or a ConfigError that says what a duration looks like. */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw new ConfigError(`invalid duration '${text}' (use e.g. 500ms, 15s, 10m, 1h30m)`);
  return ms;
}

function positiveInteger(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${what} must be a positive integer (got '${text}')`);
  return value;
}

function positiveNumber(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${what} must be a positive number (got '${text}')`);
  return value;
}

/** Turns flags and environment into a RuntimeConfig. Pure: the caller passes both in. */
export function parseRuntimeConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RuntimeConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' },
        namespaces: { type: 'string' },
        'credentials-namespaces': { type: 'string' },
        concurrency: { type: 'string', multiple: true },
        'resync-period': { type: 'string' },
        'metrics-bind-address': { type: 'string' },
        'health-probe-bind-address': { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'leader-election-namespace': { type: 'string' },
        'leader-election-id': { type: 'string' },
        'leader-election-identity': { type: 'string' },
        'lease-duration': { type: 'string' },
        'renew-deadline': { type: 'string' },
        'retry-period': { type: 'string' },
        'queue-qps': { type: 'string' },
        'queue-burst': { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        'ready-grace-period': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
      },
    });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const v = parsed.values;
  const concurrencySpecs = v.concurrency ?? (env['PHOENIX_CONCURRENCY'] ? env['PHOENIX_CONCURRENCY'].split(',') : []);
  let defaultConcurrency: number | undefined;
  const concurrency: Record<string, number> = {};
  for (const spec of concurrencySpecs) {
    const eq = spec.indexOf('=');
    if (eq < 0) defaultConcurrency = positiveInteger(spec, '--concurrency');
    else concurrency[spec.slice(0, eq).trim()] = positiveInteger(spec.slice(eq + 1), `--concurrency ${spec.slice(0, eq)}`);
  }
  const logLevel = v['log-level'] ?? env['PHOENIX_LOG_LEVEL'] ?? 'info';
  if (!logLevels.includes(logLevel as LogLevel)) throw new ConfigError(`--log-level must be one of ${logLevels.join(', ')}`);
  const logFormat = v['log-format'] ?? env['PHOENIX_LOG_FORMAT'] ?? 'auto';
  if (!['json', 'text', 'auto'].includes(logFormat)) throw new ConfigError('--log-format must be json, text or auto');
  const list = (text: string) => [...new Set(text.split(',').map((ns) => ns.trim()).filter(Boolean))];
  const namespaces = list(v.namespaces ?? env['PHOENIX_NAMESPACES'] ?? '');
  const credentialsNamespaces = list(v['credentials-namespaces'] ?? env['PHOENIX_CREDENTIALS_NAMESPACES'] ?? env['POD_NAMESPACE'] ?? 'phoenix-system');
  const duration = (flag: string | undefined, envName: string, fallbackMs: number) => {
    const text = flag ?? env[envName];
    return text === undefined ? fallbackMs : parseDuration(text);
  };
  const leaderElection = {
    enabled: v['leader-elect'] ?? env['PHOENIX_LEADER_ELECT'] === 'true',
    namespace: v['leader-election-namespace'] ?? env['POD_NAMESPACE'] ?? 'default',
    name: v['leader-election-id'] ?? env['PHOENIX_LEADER_ELECTION_ID'] ?? 'phoenix-controller-leader',
    identity: v['leader-election-identity'] ?? env['POD_NAME'] ?? `${hostname()}_${randomUUID()}`,
    leaseDurationMs: duration(v['lease-duration'], 'PHOENIX_LEASE_DURATION', leaderElectionDefaults.leaseDurationMs),
    renewDeadlineMs: duration(v['renew-deadline'], 'PHOENIX_RENEW_DEADLINE', leaderElectionDefaults.renewDeadlineMs),
    retryPeriodMs: duration(v['retry-period'], 'PHOENIX_RETRY_PERIOD', leaderElectionDefaults.retryPeriodMs),
  };
  if (leaderElection.renewDeadlineMs >= leaderElection.leaseDurationMs) throw new ConfigError('--renew-deadline must be shorter than --lease-duration');
  if (leaderElection.retryPeriodMs >= leaderElection.renewDeadlineMs) throw new ConfigError('--retry-period must be shorter than --renew-deadline');
  const kubeconfig = v.kubeconfig ?? env['KUBECONFIG'];
  return {
    ...(kubeconfig ? { kubeconfig } : {}),
    namespaces,
    credentialsNamespaces,
    defaultConcurrency,
    concurrency,
    resyncPeriodMs: duration(v['resync-period'], 'PHOENIX_RESYNC_PERIOD', 10 * 60_000),
    metricsAddress: v['metrics-bind-address'] ?? env['PHOENIX_METRICS_BIND_ADDRESS'] ?? ':8080',
    probeAddress: v['health-probe-bind-address'] ?? env['PHOENIX_HEALTH_PROBE_BIND_ADDRESS'] ?? ':8081',
    leaderElection,
    queueQps: positiveNumber(v['queue-qps'] ?? env['PHOENIX_QUEUE_QPS'] ?? '10', '--queue-qps'),
    queueBurst: positiveInteger(v['queue-burst'] ?? env['PHOENIX_QUEUE_BURST'] ?? '100', '--queue-burst'),
    shutdownTimeoutMs: duration(v['shutdown-timeout'], 'PHOENIX_SHUTDOWN_TIMEOUT', 30_000),
    readyGracePeriodMs: duration(v['ready-grace-period'], 'PHOENIX_READY_GRACE_PERIOD', defaultReadyGraceMs),
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
  };
}

/** ":8080" → all interfaces; "127.0.0.1:0" → any free port on loopback; "0" → disabled. */
export function parseBindAddress(address: string): { host?: string; port: number } | undefined {
  if (address === '0' || address === '') return undefined;
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw new ConfigError(`invalid bind address '${address}' (use host:port or :port)`);
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid port in '${address}'`);
  return host ? { host, port } : { port };
}
