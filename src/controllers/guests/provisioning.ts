/**
 * spec.provision: the steps that run inside a running guest, in order, each once per content
 * (see provision/plan.ts for which steps run, provision/guest-runner.ts for the guest side).
 *
 * Crash safety, in the order things happen: a new run is recorded in status as `Starting`, with
 * its run id, before anything is sent to the guest; the run is started with the runner's
 * `start`, which makes the run's `started` directory atomically and starts nothing when it is
 * already there, so sending it again after a restart cannot start the step twice; the agent's
 * pid is then recorded with phase `Running`, and from there on the run is only polled, by a
 * command that reads its exit file and log. A failed run is retried with the guest's
 * backoff (status.retry, see GuestContext.failed), and after `stepAttempts` runs of the same
 * content it stays Stalled until its content changes: never retried in a loop.
 */

import { randomBytes } from 'node:crypto';
import type { ReconcileResult } from '../../runtime/controller.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { parseDuration } from '../../runtime/config.ts';
import type { StepStatus } from '../../api/provision.ts';
import { planSteps, progressText, type DesiredStep, type StepPlan } from '../../provision/plan.ts';
import { resolveStep, secretValues, type KeyLookup, type ResolvedStep } from '../../provision/step-inputs.ts';
import { stepHash } from '../../provision/step-hash.ts';
import { outputTail } from '../../provision/output.ts';
import { envFile, filesManifest, parseRunStatus, partName, prepareCommand, runDir, runId, runner, startCommand, statusCommand, type RunStatus } from '../../provision/guest-runner.ts';
import { secretText } from '../secrets.ts';
import { taskPollDelayMs } from '../tasks.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestTransport } from './transport.ts';

/**
 * Runs of one content before the step is Stalled and not run again until it changes: a script
 * that failed three times in a row (5 s and 10 s apart) fails for a reason a retry won't fix.
 */
export const stepAttempts = 3;

/** How long a short command in the guest (mkdir, the runner's start or status) may take. */
const shortCommandMs = 10_000;

export interface ProvisionOutcome {
  /** The status fields and the Provisioned condition the converged guest carries. */
  readonly fields: Record<string, unknown>;
  readonly conditions: { type: string; status: 'True' | 'False'; reason: string; message: string }[];
  /** Every Secret value the steps read, to mask in anything else recorded (health-check output). */
  readonly secrets: string[];
  /** Set when the steps cannot be applied at all (a converted template's changed steps): converged otherwise, and Stalled with this. */
  readonly stalled?: { readonly reason: string; readonly message: string };
}

interface Desired {
  readonly resolved: ResolvedStep;
  readonly hash: string;
}

/** The ConfigMaps and Secrets (by name) the steps (and a VM's user-data snippet) read: their changes wake the guest. */
export function provisionReferences(spec: GuestObject['spec']): { secrets: Set<string>; configMaps: Set<string> } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const add = (source: { configMapKeyRef?: { name: string }; secretKeyRef?: { name: string } }) => {
    if (source.configMapKeyRef) configMaps.add(source.configMapKeyRef.name);
    if (source.secretKeyRef) secrets.add(source.secretKeyRef.name);
  };
  // A VM's cloud-init user-data snippet reads one too (cloud-init-snippets.ts).
  const snippet = 'cloudInit' in spec ? spec.cloudInit?.userDataSnippet : undefined;
  if (snippet) add(snippet.source);
  for (const step of spec.provision ?? []) {
    add(step.script);
    for (const file of step.files ?? []) add(file.source);
    for (const env of step.env ?? []) add(env);
  }
  return { secrets, configMaps };
}

/** Reads a ConfigMap or Secret key from the caches (a missing one is a TerminalError naming it). */
export function keyLookup<O extends GuestObject>(ctx: GuestContext<O>): KeyLookup {
  const namespace = ctx.current.metadata.namespace ?? '';
  return (kind, name, key) => {
    if (kind === 'Secret') {
      const value = secretText(ctx.shared.secretCache, namespace, name, key);
      return { value, resourceVersion: ctx.shared.secretCache.get(`${namespace}/${name}`)?.metadata.resourceVersion ?? '' };
    }
    const cm = ctx.shared.configMapCache.get(`${namespace}/${name}`);
    if (!cm) throw new TerminalError('ConfigMapNotFound', `ConfigMap ${namespace}/${name} does not exist`);
    const value = cm.data?.[key] ?? (cm.binaryData?.[key] !== undefined ? Buffer.from(cm.binaryData[key]!, 'base64').toString('utf8') : undefined);
    if (value === undefined) throw new TerminalError('ConfigMapKeyNotFound', `ConfigMap ${namespace}/${name} has no key "${key}"`);
    return { value, resourceVersion: cm.metadata.resourceVersion ?? '' };
  };
}

export interface StepsPlan {
  readonly desired: readonly Desired[];
  readonly summary: DesiredStep[];
  /** Every Secret value the steps read. */
  readonly secrets: string[];
  readonly plan: StepPlan;
}

/**
 * The steps as the spec wants them now (their inputs read from the caches) and which runs next
 * by the records in status: no call to the guest, so it also serves a stopped guest and a
 * template (src/provision/chain.ts).
 */
export function stepsPlan<O extends GuestObject>(ctx: GuestContext<O>): StepsPlan {
  const lookup = keyLookup(ctx);
  const desired: Desired[] = (ctx.spec.provision ?? []).map((step) => {
    const resolved = resolveStep(step, lookup, step.timeout ? parseDuration(step.timeout) : undefined);
    return { resolved, hash: stepHash(resolved) };
  });
  const summary: DesiredStep[] = desired.map((d) => ({ name: d.resolved.name, hash: d.hash }));
  return { desired, summary, secrets: desired.flatMap((d) => secretValues(d.resolved)), plan: planSteps(summary, ctx.status.provision ?? []) };
}

/**
 * A template cannot run, so its steps cannot either: once converted, a change to them is
 * reported (Stalled, TemplateCannotRun) and never applied. The records stay those of the runs
 * the template holds, which is what its clones inherit.
 */
export function templateProvisioning<O extends GuestObject>(ctx: GuestContext<O>, doneSuffix = ' before the conversion to a template'): ProvisionOutcome {
  const { summary, plan } = stepsPlan(ctx);
  const recorded = ctx.status.provision ?? [];
  const provisioned = progressText(summary, recorded);
  if (plan.action === 'done') {
    const conditions = summary.length ? [succeeded(summary.length, doneSuffix)] : [];
    return { fields: { provisioned: summary.length ? provisioned : undefined }, conditions, secrets: [] };
  }
  const changed = summary.filter((step, i) => recorded[i]?.name !== step.name || recorded[i]?.hash !== step.hash || recorded[i]?.phase !== 'Succeeded').map((s) => s.name);
  const dropped = recorded.filter((r) => !summary.some((s) => s.name === r.name)).map((r) => r.name);
  const what = [changed.length ? `step${changed.length === 1 ? '' : 's'} ${changed.join(', ')} changed or added` : '', dropped.length ? `${dropped.join(', ')} removed` : ''].filter(Boolean).join('; ');
  const message = `this guest is a template, which cannot run, so Phoenix cannot run its steps (${what || 'the steps changed'}) and did not apply the change. It holds the steps it ran before its conversion (${recorded.map((r) => r.name).join(', ') || 'none'}), and its clones inherit those. To change it: put the steps back, or clone it into a new template whose own steps add what is new, or delete and re-create it`;
  return { fields: { provisioned }, conditions: [notProvisioned('TemplateCannotRun', message)], secrets: [], stalled: { reason: 'TemplateCannotRun', message } };
}

/**
 * Runs or follows the next step. A ReconcileResult while provisioning is under way (or waits);
 * the outcome to converge with once every step succeeded for its current content.
 */
export async function convergeProvisioning<O extends GuestObject>(ctx: GuestContext<O>, transport: () => GuestTransport): Promise<ReconcileResult | ProvisionOutcome> {
  const steps = ctx.spec.provision ?? [];
  const recorded = ctx.status.provision ?? [];
  if (!steps.length && !recorded.some((r) => r.phase === 'Starting' || r.phase === 'Running')) {
    return { fields: { provision: undefined, provisioned: undefined }, conditions: [], secrets: [] };
  }
  const { desired, summary, secrets, plan } = stepsPlan(ctx);
  // Masked in logs and events too, wherever an error might carry one.
  for (const value of secrets) ctx.setup.redactor.addSecret(value);
  // Resolved only once there is work inside: a guest with no steps needs no transport.
  const api = plan.action === 'done' ? undefined : transport();
  try {
    if (plan.action === 'settle') return await settle(ctx, api!, plan.index, plan.record, secrets);
    if (plan.action === 'done') {
      const fields = { provision: plan.records.length ? plan.records : undefined, provisioned: progressText(summary, plan.records) };
      const conditions = steps.length ? [succeeded(steps.length)] : [];
      return { fields, conditions, secrets };
    }
    const step = desired[plan.index]!;
    const current = plan.current;
    const inside = api!;
    if (current?.phase === 'Running') return await poll(ctx, inside, plan.index, summary, plan.records, current, secrets);
    if (current?.phase === 'Starting') return await start(ctx, inside, plan.index, summary, plan.records, current, step, secrets);
    if (current?.phase === 'Failed' && current.attempts >= stepAttempts) return await stallStep(ctx, summary, plan.records, current);
    const attempt = (current?.attempts ?? 0) + 1;
    const record: StepStatus = { name: step.resolved.name, hash: step.hash, phase: 'Starting', runId: runId(step.hash, attempt, randomBytes(3).toString('hex')), attempts: attempt, startTime: new Date().toISOString() };
    const records = [...plan.records.slice(0, plan.index), record];
    // New content is no retry of an earlier failure: its backoff does not hold this run up.
    const fresh = current === undefined && ctx.status.retry?.operation.startsWith('provision ') ? { retry: undefined } : {};
    // Recorded before the guest hears of it: a restart from here resumes this very run.
    await ctx.progress('Provisioning', `step ${plan.index + 1}/${steps.length} ${record.name}: starting${attempt > 1 ? ` (attempt ${attempt})` : ''}`, { provision: records, provisioned: progressText(summary, records), ...fresh }, [underWay(record.name)]);
    return await start(ctx, inside, plan.index, summary, records, record, step, secrets);
  } catch (err) {
    const why = api?.unavailable(err);
    if (!why) throw err;
    await ctx.progress(api!.waitReason, `provisioning waits for the guest: ${why}`, { provisioned: progressText(summary, recorded) });
    return { requeueAfter: 5_000 };
  }
}

const succeeded = (count: number, suffix = '') => ({ type: 'Provisioned', status: 'True' as const, reason: 'StepsSucceeded', message: `${count} step${count === 1 ? '' : 's'} succeeded${suffix}` });
const notProvisioned = (reason: string, message: string) => ({ type: 'Provisioned', status: 'False' as const, reason, message });
const underWay = (step: string) => notProvisioned('StepRunning', `step ${step} is running`);

function replaced(records: readonly StepStatus[], index: number, record: StepStatus): StepStatus[] {
  return [...records.slice(0, index), record, ...records.slice(index + 1)];
}

async function runStatus(api: GuestTransport, record: StepStatus): Promise<RunStatus & { output: string }> {
  const result = await api.run(statusCommand(runDir(record.name, record.runId ?? '')), shortCommandMs);
  if (!result) return { state: 'running', output: '' };
  const status = parseRunStatus(result.stdout);
  if (status) return status;
  // No runner (exit 127: the file is missing) means this run was never started in this guest.
  if (result.exitCode === 127) return { state: 'absent', output: '' };
  // Anything else (the transport's own failure, such as lxc-attach's) says nothing about the run:
  // taking it for a lost run would start the step again while it may still run.
  throw new RetryableError('RunStatusUnreadable', `could not read the status of step ${record.name}'s run ${record.runId ?? ''} (exit code ${result.exitCode}): ${result.stderr.trim().slice(0, 500) || 'no output'}`);
}

async function start<O extends GuestObject>(ctx: GuestContext<O>, api: GuestTransport, index: number, summary: DesiredStep[], records: StepStatus[], record: StepStatus, step: Desired, secrets: string[]): Promise<ReconcileResult> {
  const dir = runDir(record.name, record.runId ?? '');
  // After a restart the run may already be under way: its files are never rewritten then.
  const before = await runStatus(api, record);
  let pid: number | undefined;
  if (before.state === 'absent') {
    const prepared = await api.run(prepareCommand(dir), shortCommandMs);
    if (!prepared || prepared.exitCode !== 0) return stepFailed(ctx, index, summary, records, { ...record, phase: 'Failed', exitCode: prepared?.exitCode ?? -1, endTime: new Date().toISOString() }, `could not create ${dir} in the guest: ${prepared?.stderr.trim() || 'no answer'}`, secrets);
    const { resolved } = step;
    await api.write(runner.text, () => runner.path);
    await api.write(resolved.script.value, () => `${dir}/script`);
    await api.write(envFile(resolved.env.map((e) => ({ name: e.name, value: e.value.value }))), () => `${dir}/env`);
    for (const [i, file] of resolved.files.entries()) await api.write(file.content.value, (part) => partName(dir, i, part));
    await api.write(filesManifest(resolved.files), () => `${dir}/files`);
    pid = await api.start(startCommand(dir, resolved.interpreter, resolved.user, resolved.timeoutSeconds));
    await ctx.setup.events.normal(ctx.current, 'StepStarted', 'Provision', `step ${record.name} started${record.attempts > 1 ? ` (attempt ${record.attempts})` : ''}`);
  }
  const running: StepStatus = { ...record, phase: 'Running', ...(pid !== undefined ? { pid } : {}) };
  const next = replaced(records, index, running);
  await ctx.progress('Provisioning', `step ${index + 1}/${summary.length} ${record.name}: running`, { provision: next, provisioned: progressText(summary, next) }, [underWay(record.name)]);
  return { requeueAfter: 500 };
}

async function poll<O extends GuestObject>(ctx: GuestContext<O>, api: GuestTransport, index: number, summary: DesiredStep[], records: StepStatus[], record: StepStatus, secrets: string[]): Promise<ReconcileResult> {
  const status = await runStatus(api, record);
  const endTime = new Date().toISOString();
  if (status.state !== 'exited') {
    if (status.state === 'lost') return stepFailed(ctx, index, summary, records, { ...record, phase: 'Failed', exitCode: -1, endTime }, 'ended without an exit code: the guest restarted while it ran', secrets);
    if (status.state !== 'absent') return { requeueAfter: taskPollDelayMs(record.startTime, Date.now()) };
    return stepFailed(ctx, index, summary, records, { ...record, phase: 'Failed', exitCode: -1, endTime }, `the run's directory ${runDir(record.name, record.runId ?? '')} is gone from the guest (rolled back or reinstalled?)`, secrets);
  }
  const output = outputTail(status.output, secrets);
  const ended: StepStatus = { ...record, exitCode: status.exitCode, endTime, ...(output ? { outputTail: output } : { outputTail: undefined }) };
  if (status.exitCode !== 0) return stepFailed(ctx, index, summary, records, { ...ended, phase: 'Failed' }, `exited with code ${status.exitCode}${output ? `; last output:\n${output}` : ''}`, secrets);
  const next = replaced(records, index, { ...ended, phase: 'Succeeded' });
  await ctx.setup.events.normal(ctx.current, 'StepSucceeded', 'Provision', `step ${record.name} succeeded`);
  // The last step's success is said at once: a template-to-be goes on to its shutdown from here.
  const all = progressText(summary, next) === `${summary.length}/${summary.length}` ? [succeeded(summary.length)] : undefined;
  await ctx.progress('Provisioning', `step ${index + 1}/${summary.length} ${record.name}: succeeded`, { provision: next, provisioned: progressText(summary, next), retry: undefined }, all);
  return { requeueAfter: 100 };
}

async function stepFailed<O extends GuestObject>(ctx: GuestContext<O>, index: number, summary: DesiredStep[], records: StepStatus[], record: StepStatus, why: string, secrets: string[]): Promise<ReconcileResult> {
  const next = replaced(records, index, record);
  // `why` holds only masked output and paths; masked again in case a path came from a Secret.
  const text = outputTail(`step ${record.name} (attempt ${record.attempts}) ${why}`, secrets, 40, 3000);
  await ctx.setup.events.warning(ctx.current, 'StepFailed', 'Provision', text);
  if (record.attempts >= stepAttempts) return stallStep(ctx, summary, next, record);
  // The step's own attempts count (a restart or another operation's failure in between does not reset them).
  return ctx.failed(`provision ${record.name}`, 'StepFailed', text, { provision: next, provisioned: progressText(summary, next) }, { conditions: [notProvisioned('StepFailed', text)], attempts: record.attempts, stallAfter: stepAttempts });
}

/** The step's last run failed and it has had its attempts: Stalled, and not run again until its content changes. */
async function stallStep<O extends GuestObject>(ctx: GuestContext<O>, summary: DesiredStep[], records: StepStatus[], record: StepStatus): Promise<ReconcileResult> {
  const message = `step ${record.name} failed ${record.attempts} times (last exit code ${record.exitCode ?? 'unknown'}); Phoenix does not run it again until the step or what it reads changes. Last output: ${record.outputTail ?? '(none)'}`;
  await ctx.write({ phase: 'stalled', reason: 'StepFailed', message, fields: { provision: records, provisioned: progressText(summary, records), retry: undefined }, conditions: [notProvisioned('StepFailed', message)] });
  return { requeueAfter: ctx.nextCycle() };
}

/** A run the spec no longer wants as it is: followed to its end (never started anew), then the plan is made again. */
async function settle<O extends GuestObject>(ctx: GuestContext<O>, api: GuestTransport, index: number, record: StepStatus, secrets: string[]): Promise<ReconcileResult> {
  const status = await runStatus(api, record);
  const recorded = ctx.status.provision ?? [];
  if (status.state === 'running' || status.state === 'started' || status.state === 'already-started') {
    await ctx.progress('Provisioning', `step ${record.name} changed while it ran; waiting for the run in progress to end before running the new content`);
    return { requeueAfter: taskPollDelayMs(record.startTime, Date.now()) };
  }
  const exitCode = status.state === 'exited' ? status.exitCode : -1;
  const output = status.state === 'exited' ? outputTail(status.output, secrets) : '';
  const ended: StepStatus = { ...record, phase: exitCode === 0 ? 'Succeeded' : 'Failed', exitCode, endTime: new Date().toISOString(), ...(output ? { outputTail: output } : {}) };
  await ctx.progress('Provisioning', `the superseded run of step ${record.name} ended (exit code ${exitCode})`, { provision: replaced(recorded, index, ended) });
  return { requeueAfter: 100 };
}
