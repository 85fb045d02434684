/**
 * A health check's state after one more run. A check starts unhealthy (readiness means the
 * service answered at least once), turns healthy after `successThreshold` passes in a row and
 * unhealthy again after `failureThreshold` failures in a row. Counters stop at their threshold,
 * so a steady check leaves its status unchanged and costs no status write.
 */

import type { CheckStatus } from '../api/provision.ts';

export interface ProbeResult {
  readonly ok: boolean;
  readonly exitCode?: number;
  /** Already masked. */
  readonly output?: string;
}

export interface Thresholds {
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

export const defaultThresholds: Thresholds = { failureThreshold: 3, successThreshold: 1 };

export function nextCheckState(name: string, previous: CheckStatus | undefined, result: ProbeResult, thresholds: Thresholds): CheckStatus {
  const wasHealthy = previous?.healthy ?? false;
  if (result.ok) {
    const successes = Math.min(thresholds.successThreshold, (previous?.consecutiveSuccesses ?? 0) + 1);
    return { name, healthy: wasHealthy || successes >= thresholds.successThreshold, consecutiveFailures: 0, consecutiveSuccesses: successes };
  }
  const failures = Math.min(thresholds.failureThreshold, (previous?.consecutiveFailures ?? 0) + 1);
  return {
    name,
    healthy: wasHealthy && failures < thresholds.failureThreshold,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    ...(result.exitCode !== undefined ? { lastExitCode: result.exitCode } : {}),
    ...(result.output !== undefined ? { lastOutput: result.output } : {}),
  };
}
