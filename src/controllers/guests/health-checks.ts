/**
 * spec.healthChecks: `exec` commands run in the guest through its transport (transport.ts:
 * the guest agent, or pct over SSH), `http` and `tcp` checks run from the controller against
 * the guest's observed address, each every `period`, once the guest is provisioned. Their state
 * (provision/health.ts) feeds the `Healthy` condition, and Ready is False while one is
 * unhealthy; a check the controller cannot run for want of a route to the guest is reported in
 * `Healthy` and moves nothing. When each check last ran is kept in this process only: after a
 * restart every check simply runs again.
 */

import { parseDuration } from '../../runtime/config.ts';
import type { CheckStatus, HealthCheck } from '../../api/provision.ts';
import { defaultThresholds, nextCheckState, restartDue, type ProbeResult } from '../../provision/health.ts';
import { httpCheckUrl, httpProbe, checkAddress, tcpProbe, type NetProbeResult } from '../../provision/net-probe.ts';
import { probeCommand } from '../../provision/guest-runner.ts';
import { outputTail } from '../../provision/output.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestTransport } from './transport.ts';

export interface HealthOutcome {
  readonly healthy: boolean;
  readonly fields: Record<string, unknown>;
  readonly conditions: { type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message: string }[];
  /** The failing checks, for Ready's message. */
  readonly failing: string;
  /** When the next check is due, from now. */
  readonly nextDueMs: number | undefined;
  /** A check whose failure streak asks for the guest to be restarted (`restartAfterFailures`): why. */
  readonly restart?: string;
}

const minPeriodMs = 1_000;

/** Runs the checks that are due; `secrets` are masked in any output kept. */
export async function convergeHealthChecks<O extends GuestObject>(ctx: GuestContext<O>, transport: () => GuestTransport, secrets: readonly string[], addresses: readonly string[]): Promise<HealthOutcome> {
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
    const result = check.exec ? await probe(transport(), check.exec.command, check, secrets) : await netProbe(check, addresses);
    const state = nextCheckState(check.name, before, result, {
      failureThreshold: check.failureThreshold ?? defaultThresholds.failureThreshold,
      successThreshold: check.successThreshold ?? defaultThresholds.successThreshold,
      ...(check.restartAfterFailures !== undefined ? { countFailuresTo: check.restartAfterFailures } : {}),
    });
    states.push(state);
    recordRun(ctx, check.name, result, state.healthy);
    nextDueMs = Math.min(nextDueMs ?? Infinity, period);
  }
  const restartFor = checks.find((check) => {
    const state = states.find((s) => s.name === check.name);
    return state !== undefined && restartDue(state, check.restartAfterFailures);
  });
  let restart: string | undefined;
  if (restartFor) {
    const state = states.find((s) => s.name === restartFor.name)!;
    restart = `health check ${restartFor.name} failed ${state.consecutiveFailures} times in a row (restartAfterFailures: ${restartFor.restartAfterFailures})`;
    // Recorded with the state before the restart is sent: one restart per streak, also across a controller restart.
    states[states.indexOf(state)] = { ...state, restarted: true };
  }
  for (const state of states) {
    const was = previous.get(state.name)?.healthy;
    if (was === true && !state.healthy) await ctx.setup.events.warning(ctx.current, 'Unhealthy', 'HealthCheck', `health check ${state.name} failed ${state.consecutiveFailures} times in a row (exit code ${state.lastExitCode ?? 'none'}): ${state.lastOutput ?? ''}`);
    if (was === false && state.healthy) await ctx.setup.events.normal(ctx.current, 'Healthy', 'HealthCheck', `health check ${state.name} passes again`);
  }
  // A check the controller cannot run (no route to the guest) neither fails nor holds Ready.
  const unreachable = states.filter((s) => s.unreachable !== undefined && !s.healthy && !s.consecutiveFailures);
  const failing = states.filter((s) => !s.healthy && !unreachable.includes(s));
  const failingText = failing.map((s) => `${s.name} (${s.consecutiveFailures ? `failed ${s.consecutiveFailures} in a row${s.lastExitCode !== undefined ? `, exit code ${s.lastExitCode}` : ''}${s.lastOutput ? `: ${s.lastOutput}` : ''}` : 'not passed yet'})`).join('; ');
  const unreachableText = states.filter((s) => s.unreachable !== undefined).map((s) => `${s.name}: the controller cannot reach the guest (${s.unreachable}); the check counts neither way until it can`).join('; ');
  const passing = `${states.length} health check${states.length === 1 ? '' : 's'} passing`;
  const condition = failing.length
    ? { type: 'Healthy', status: 'False' as const, reason: 'CheckFailing', message: [failingText, unreachableText].filter(Boolean).join('; ') }
    : unreachableText
      ? { type: 'Healthy', status: 'Unknown' as const, reason: 'CheckUnreachable', message: unreachableText }
      : { type: 'Healthy', status: 'True' as const, reason: 'ChecksPassing', message: passing };
  return { healthy: !failing.length, fields: { healthChecks: states }, conditions: [condition], failing: failingText, nextDueMs, ...(restart ? { restart } : {}) };
}

function recordRun<O extends GuestObject>(ctx: GuestContext<O>, check: string, result: ProbeResult, healthy: boolean): void {
  const metrics = ctx.deps.healthMetrics;
  if (!metrics) return;
  const labels = { kind: ctx.adapter.kind, namespace: ctx.current.metadata.namespace ?? '', name: ctx.current.metadata.name, check };
  metrics.runs.inc({ ...labels, result: result.unreachable !== undefined ? 'unreachable' : result.ok ? 'pass' : 'fail' });
  metrics.healthy.set(labels, healthy ? 1 : 0);
}

/** An `http` or `tcp` check, from the controller to the guest's address. */
async function netProbe(check: HealthCheck, addresses: readonly string[]): Promise<ProbeResult> {
  const timeoutMs = parseDuration(check.timeout ?? '10s');
  let result: NetProbeResult;
  if (check.http) {
    const target = httpCheckUrl(check.http, addresses);
    if ('unreachable' in target) return { ok: false, unreachable: target.unreachable };
    result = await httpProbe(target.url, check.http.expectedStatus, timeoutMs);
  } else {
    const address = checkAddress(addresses);
    if (address === undefined) return { ok: false, unreachable: 'no address of the guest is known yet (status.ipAddresses is empty)' };
    result = await tcpProbe(address, check.tcp?.port ?? 0, timeoutMs);
  }
  if (result.kind === 'ok') return { ok: true };
  const output = result.output.length > 500 ? `${result.output.slice(0, 500)}…` : result.output;
  return result.kind === 'unreachable' ? { ok: false, unreachable: output } : { ok: false, output };
}

async function probe(api: GuestTransport, command: string, check: HealthCheck, secrets: readonly string[]): Promise<ProbeResult> {
  const timeoutMs = parseDuration(check.timeout ?? '10s');
  try {
    // The guest's `timeout` ends a hung check; the wait here allows it a little longer to say so.
    const result = await api.run(probeCommand(command, Math.max(1, Math.ceil(timeoutMs / 1000))), timeoutMs + 2_000);
    if (!result) return { ok: false, output: `no result within ${Math.ceil(timeoutMs / 1000)} s` };
    const output = outputTail(`${result.stdout}${result.stderr}`, secrets, 5, 500);
    return result.exitCode === 0 ? { ok: true } : { ok: false, exitCode: result.exitCode, ...(output ? { output } : {}) };
  } catch (err) {
    const why = api.unavailable(err);
    if (!why) throw err;
    return { ok: false, output: why };
  }
}
