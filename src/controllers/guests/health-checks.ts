/**
 * spec.healthChecks: commands run in the guest (through its transport, see transport.ts) once it is provisioned,
 * each every `period`. Their state (provision/health.ts) feeds the `Healthy` condition, and
 * Ready is False while one is unhealthy. When each check last ran is kept in this process only:
 * after a restart every check simply runs again.
 */

import { parseDuration } from '../../runtime/config.ts';
import type { CheckStatus, HealthCheck } from '../../api/provision.ts';
import { defaultThresholds, nextCheckState } from '../../provision/health.ts';
import { probeCommand } from '../../provision/guest-runner.ts';
import { outputTail } from '../../provision/output.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestTransport } from './transport.ts';

export interface HealthOutcome {
  readonly healthy: boolean;
  readonly fields: Record<string, unknown>;
  readonly conditions: { type: string; status: 'True' | 'False'; reason: string; message: string }[];
  /** The failing checks, for Ready's message. */
  readonly failing: string;
  /** When the next check is due, from now. */
  readonly nextDueMs: number | undefined;
}

const minPeriodMs = 1_000;

/** Runs the checks that are due; `secrets` are masked in any output kept. */
export async function convergeHealthChecks<O extends GuestObject>(ctx: GuestContext<O>, transport: () => GuestTransport, secrets: readonly string[]): Promise<HealthOutcome> {
  const checks = ctx.spec.healthChecks ?? [];
  if (!checks.length) return { healthy: true, fields: { healthChecks: undefined }, conditions: [], failing: '', nextDueMs: undefined };
  const previous = new Map((ctx.status.healthChecks ?? []).map((c) => [c.name, c]));
  const now = Date.now();
  const states: CheckStatus[] = [];
  let nextDueMs: number | undefined;
  for (const check of checks) {
    const period = Math.max(minPeriodMs, parseDuration(check.period ?? '30s'));
    const key = `${ctx.key}/${check.name}`;
    const last = ctx.shared.lastProbes.get(key);
    const before = previous.get(check.name);
    if (before && last !== undefined && now - last < period) {
      states.push(before);
      nextDueMs = Math.min(nextDueMs ?? Infinity, period - (now - last));
      continue;
    }
    ctx.shared.lastProbes.set(key, now);
    const result = await probe(transport(), check, secrets);
    states.push(nextCheckState(check.name, before, result, { failureThreshold: check.failureThreshold ?? defaultThresholds.failureThreshold, successThreshold: check.successThreshold ?? defaultThresholds.successThreshold }));
    nextDueMs = Math.min(nextDueMs ?? Infinity, period);
  }
  for (const state of states) {
    const was = previous.get(state.name)?.healthy;
    if (was === true && !state.healthy) await ctx.setup.events.warning(ctx.current, 'Unhealthy', 'HealthCheck', `health check ${state.name} failed ${state.consecutiveFailures} times in a row (exit code ${state.lastExitCode ?? 'none'}): ${state.lastOutput ?? ''}`);
    if (was === false && state.healthy) await ctx.setup.events.normal(ctx.current, 'Healthy', 'HealthCheck', `health check ${state.name} passes again`);
  }
  const failing = states.filter((s) => !s.healthy);
  const failingText = failing.map((s) => `${s.name} (${s.consecutiveFailures ? `failed ${s.consecutiveFailures} in a row, exit code ${s.lastExitCode ?? 'none'}${s.lastOutput ? `: ${s.lastOutput}` : ''}` : 'not passed yet'})`).join('; ');
  const condition = failing.length
    ? { type: 'Healthy', status: 'False' as const, reason: 'CheckFailing', message: failingText }
    : { type: 'Healthy', status: 'True' as const, reason: 'ChecksPassing', message: `${states.length} health check${states.length === 1 ? '' : 's'} passing` };
  return { healthy: !failing.length, fields: { healthChecks: states }, conditions: [condition], failing: failingText, nextDueMs };
}

async function probe(api: GuestTransport, check: HealthCheck, secrets: readonly string[]): Promise<{ ok: boolean; exitCode?: number; output?: string }> {
  const timeoutMs = parseDuration(check.timeout ?? '10s');
  try {
    // The guest's `timeout` ends a hung check; the wait here allows it a little longer to say so.
    const result = await api.run(probeCommand(check.exec.command, Math.max(1, Math.ceil(timeoutMs / 1000))), timeoutMs + 2_000);
    if (!result) return { ok: false, output: `no result within ${Math.ceil(timeoutMs / 1000)} s` };
    const output = outputTail(`${result.stdout}${result.stderr}`, secrets, 5, 500);
    return result.exitCode === 0 ? { ok: true } : { ok: false, exitCode: result.exitCode, ...(output ? { output } : {}) };
  } catch (err) {
    const why = api.unavailable(err);
    if (!why) throw err;
    return { ok: false, output: why };
  }
}
