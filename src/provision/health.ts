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
  /**
   * The controller could not reach the guest's network (http/tcp checks): why. The run says
   * nothing about the service, so it counts neither way and the check keeps its state.
   */
  readonly unreachable?: string;
}

export interface Thresholds {
  readonly failureThreshold: number;
  readonly successThreshold: number;
  /** Failures are counted up to this (at least the failure threshold): `restartAfterFailures` needs them. */
  readonly countFailuresTo?: number;
}

export const defaultThresholds: Thresholds = { failureThreshold: 3, successThreshold: 1 };

export function nextCheckState(name: string, previous: CheckStatus | undefined, result: ProbeResult, thresholds: Thresholds): CheckStatus {
  const wasHealthy = previous?.healthy ?? false;
  if (result.unreachable !== undefined) {
    const { unreachable: _, ...kept } = previous ?? { name, healthy: false, consecutiveFailures: 0, consecutiveSuccesses: 0 };
    return { ...kept, name, unreachable: result.unreachable };
  }
  if (result.ok) {
    const successes = Math.min(thresholds.successThreshold, (previous?.consecutiveSuccesses ?? 0) + 1);
    // A pass ends the failure streak, and with it the restart made for it.
    return { name, healthy: wasHealthy || successes >= thresholds.successThreshold, consecutiveFailures: 0, consecutiveSuccesses: successes };
  }
  const failures = Math.min(Math.max(thresholds.failureThreshold, thresholds.countFailuresTo ?? 0), (previous?.consecutiveFailures ?? 0) + 1);
  return {
    name,
    healthy: wasHealthy && failures < thresholds.failureThreshold,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    ...(result.exitCode !== undefined ? { lastExitCode: result.exitCode } : {}),
    ...(result.output !== undefined ? { lastOutput: result.output } : {}),
    ...(previous?.restarted ? { restarted: true } : {}),
  };
}

/**
 * Whether a check's failure streak calls for a restart now (`restartAfterFailures`): once the
 * streak is that long, and only once per streak (`restarted` stays set until a pass).
 */
export function restartDue(state: CheckStatus, restartAfterFailures: number | undefined): boolean {
  return restartAfterFailures !== undefined && state.unreachable === undefined && !state.restarted && (state.consecutiveFailures ?? 0) >= restartAfterFailures;
}
