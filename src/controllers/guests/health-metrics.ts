import { Counter, Gauge, type Registry } from '../../runtime/prometheus.ts';

type Labels = 'kind' | 'namespace' | 'name' | 'check';

/**
 * Health checks as metrics, one series per guest and check: whether it counts as healthy
 * (1, 0; absent until it ran) and its runs by result, so an alert can tell a service that
 * fails from a controller that cannot reach the guest's network (`unreachable`).
 */
export interface HealthMetrics {
  readonly healthy: Gauge<Labels>;
  readonly runs: Counter<Labels | 'result'>;
}

export function healthMetrics(registry: Registry | undefined): HealthMetrics {
  const registers = registry ? [registry] : [];
  return {
    healthy: new Gauge({ name: 'phoenix_health_check_healthy', help: 'Whether a guest\'s health check counts as healthy (1) or not (0)', labelNames: ['kind', 'namespace', 'name', 'check'] as const, registers }),
    runs: new Counter({ name: 'phoenix_health_check_runs_total', help: 'Health check runs by result: pass, fail, or unreachable (the controller could not reach the guest\'s network)', labelNames: ['kind', 'namespace', 'name', 'check', 'result'] as const, registers }),
  };
}
