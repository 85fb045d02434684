import type { Counter } from '../../../runtime/prometheus.ts';
import type { ReconcileResult } from '../../../runtime/controller.ts';
import type { ControllerSetup } from '../../../runtime/manager.ts';
import { RetryableError } from '../../../runtime/errors.ts';
import type { StatusUpdate } from '../../../runtime/status-writer.ts';
import { phoenixHypervisors, type PhoenixHypervisor } from '../../../api/objects.ts';
import { isProxmoxError } from '../../../clients/proxmox/errors.ts';
import type { Connection } from '../connections.ts';
import { hostProblems, hostReads, planHost, readsAnything } from '../../../hosts/host.ts';
import { describeCall, withCreated, withStaged, type CreatedItems, type Difference, type HostStep, type StagedNetwork } from '../../../hosts/plan.ts';
import { HostApi } from './host-api.ts';
import { finishedTask, runningTask, taskPollDelayMs } from '../../tasks.ts';
import { stampDrift, type DriftRecord } from '../../drift-records.ts';
import { parseUpid } from '../../../proxmox/upid.ts';
import { secrets } from '../../../runtime/resource.ts';
import { TerminalError } from '../../../runtime/errors.ts';
import { secretText, type SecretObject } from '../../secrets.ts';
import type { PasswordSource } from '../../../hosts/users.ts';
import type { SpecProblem } from '../../../hosts/plan.ts';
import { ReconcileContext } from '../../reconcile-context.ts';
import type { SpecValidator } from '../../../api/validation.ts';
import { byCodeUnits } from '../../../runtime/order.ts';

/** The schema check and the host checks both parse the firewall rules: each problem once. */
function unique(problems: readonly SpecProblem[]): SpecProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}: ${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What the connection check found: written with every host status, so it is never lost. */
export interface ConnectionFacts {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly allNodes: readonly string[];
  readonly onlineNodes: readonly string[];
}

type Status = NonNullable<PhoenixHypervisor['status']>;
type TaskRecord = NonNullable<Status['task']>;
type PasswordRecord = NonNullable<Status['userPasswords']>[number];

/** Proxmox lets only a ticket session change a password (`allowtoken: 0`); Phoenix has a token. */
const tokenMayNot = /not available with API token/;

export interface HostConfigOptions {
  /** How often a hypervisor without host configuration is checked (version, nodes). */
  readonly checkPeriodMs: number;
  /** How often managed host configuration is observed for drift; at most checkPeriodMs. */
  readonly observePeriodMs: number;
  readonly driftCorrections?: Counter<'kind' | 'option'>;
  /** The schema check, for a spec stored before the CRD had today's rules. */
  readonly validator?: SpecValidator;
}

const hostConfigReasonList = ['Configuring', 'Downloading', 'HostConfigRefused', 'RejectedByProxmox', 'HostTaskFailed', 'TaskSucceeded', 'TaskLost', 'HostChanged', 'HostConfigFailed', 'PasswordNotChanged'] as const;
type HostConfigReason = (typeof hostConfigReasonList)[number];

/**
 * Why a connected hypervisor is not Ready while it applies host configuration: the reasons this
 * module writes. A guest then waits only for the host items it uses (status.hostPending).
 * Every Ready reason written here is typed against it, so a new one cannot be left out.
 */
export const hostConfigReasons: ReadonlySet<string> = new Set(hostConfigReasonList);

/** Ready's reason as host configuration writes it: applying configuration, connected, or an invalid spec (then guests wait for everything). */
type HostReadyReason = HostConfigReason | 'Connected' | 'InvalidSpec';

const differenceText = (d: Difference) => `${d.field}: ${d.observed} → ${d.desired}`;

/**
 * One reconcile of a hypervisor's host configuration: follow a running task, read the parts
 * the spec manages, plan, and carry out at most one step. Ready stays False until nothing is
 * left to do, so guests (which wait for a Ready hypervisor) are created on a host that has
 * its pools, storages and settings.
 */
export class HostConfigRun extends ReconcileContext<PhoenixHypervisor> {
  private readonly facts: ConnectionFacts;
  private readonly options: HostConfigOptions;
  private readonly api: HostApi;

  /** `signals`: the reconcile's; no request leaves once shutdown begins or the lease is lost. */
  constructor(setup: ControllerSetup<PhoenixHypervisor>, hv: PhoenixHypervisor, connection: Connection, facts: ConnectionFacts, options: HostConfigOptions, signals: { signal: AbortSignal; stopping: AbortSignal }) {
    super(setup, phoenixHypervisors, 'PhoenixHypervisor', hv);
    this.facts = facts;
    this.options = options;
    this.api = new HostApi(connection.client.scoped(signals.stopping, signals.signal));
  }

  observePeriodMs(): number {
    return this.options.observePeriodMs;
  }

  private get created(): CreatedItems {
    return (this.status.created ?? {}) as CreatedItems;
  }

  /** `status.stagedNetwork` as a map from node to the interfaces Phoenix staged there. */
  private get staged(): StagedNetwork {
    return Object.fromEntries((this.status.stagedNetwork ?? []).map((s) => [s.node, s.interfaces]));
  }

  /** Every status write carries the connection facts too, so host configuration never drops them. */
  override async write(update: StatusUpdate & { reason: HostReadyReason }): Promise<void> {
    await super.write({ ...update, fields: { ...this.facts.fields, ...update.fields } });
  }

  private hostCondition(status: 'True' | 'False', reason: string, message: string) {
    return [{ type: 'HostConfigured', status, reason, message }];
  }

  /** Converged at this very generation: any difference found now was made outside Phoenix. */
  private convergedAtThisGeneration(): boolean {
    const ready = this.status.conditions?.find((c) => c.type === 'Ready');
    const host = this.status.conditions?.find((c) => c.type === 'HostConfigured');
    const settled = host?.status === 'True' || host?.reason === 'PasswordNotChanged';
    return ready?.status === 'True' && settled && this.status.observedGeneration === this.current.metadata.generation;
  }

  async reconcile(): Promise<ReconcileResult> {
    const spec = this.current.spec;
    const period = { requeueAfter: this.observePeriodMs() };
    const created = this.created;
    const staged = this.staged;
    const reads = hostReads(spec, created, staged);
    if (!readsAnything(reads)) {
      // A host that once had configuration keeps its condition, saying there is none now.
      const had = this.status.conditions?.some((c) => c.type === 'HostConfigured');
      await this.write({ phase: 'ready', reason: 'Connected', message: this.facts.message, fields: { hostPending: undefined }, ...(had ? { conditions: this.hostCondition('True', 'NothingToConfigure', 'the spec declares no host configuration') } : {}) });
      return { requeueAfter: this.options.checkPeriodMs };
    }
    const passwords: Record<string, PasswordSource> = {};
    const problems = unique([...(this.options.validator?.validate('PhoenixHypervisor', spec) ?? []), ...hostProblems(spec, this.facts.allNodes), ...this.readPasswords(passwords)]);
    if (problems.length) {
      const message = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      // Without a valid spec nothing can be planned: guests wait for the whole host (no hostPending).
      await this.write({ phase: 'stalled', reason: 'InvalidSpec', message, fields: { hostPending: undefined }, conditions: this.hostCondition('False', 'InvalidSpec', message) });
      return period;
    }
    const observe = this.mode === 'Observe';
    const task = this.status.task;
    if (task && !observe) {
      const outcome = await this.pollTask(task);
      if (outcome) return outcome;
    }

    const observed = await this.api.observe(reads, this.facts.onlineNodes);
    const applied = Object.fromEntries((this.status.userPasswords ?? []).map((p) => [p.userid, p.resourceVersion]));
    const steps = planHost(spec, observed, created, { passwords, applied }, staged);
    if (observe) return this.observeOnly(steps);

    const safe = steps.filter((s) => s.safe);
    const refused = steps.filter((s) => !s.safe);
    // What is not done yet, for guests: each waits only for the items it uses.
    const pending = [...new Set(steps.filter((s) => s.call || !s.safe).map((s) => s.item))].sort();
    if (!safe.length) {
      if (refused.length) {
        const message = refused.map((s) => s.refusal ?? s.why).join('; ');
        await this.write({ phase: 'stalled', reason: 'HostConfigRefused', message, fields: { hostPending: pending }, conditions: this.hostCondition('False', 'HostConfigRefused', message) });
        return period;
      }
      const refusedPasswords = (this.status.userPasswords ?? []).filter((p) => !p.applied).map((p) => p.userid);
      if (refusedPasswords.length) {
        // Guests do not need these passwords: Ready stays True, the condition says what is left.
        const message = `Proxmox refused to change the password of ${refusedPasswords.join(', ')}: it accepts password changes only from a ticket session, not from an API token. Set it with \`pveum passwd\` (Phoenix sets a password when it creates a user, and tries again when the Secret changes)`;
        await this.write({ phase: 'ready', reason: 'Connected', message: `${this.facts.message}; host configuration applied except passwords`, fields: { hostPending: undefined }, conditions: this.hostCondition('False', 'PasswordNotChanged', message) });
        return period;
      }
      await this.write({ phase: 'ready', reason: 'Connected', message: `${this.facts.message}; host configuration applied`, fields: { hostPending: undefined }, conditions: this.hostCondition('True', 'Converged', 'the host matches the spec') });
      return period;
    }

    const fields: Record<string, unknown> = { hostPending: pending };
    if (this.convergedAtThisGeneration()) {
      const differences = safe.flatMap((s) => s.differences);
      if (differences.length) {
        const options = differences.map((d) => d.field.replace(/\[[^\]]*\]/g, ''));
        fields['drift'] = await this.reportCorrectedDrift(this.options.driftCorrections, driftRecords(differences, true, this.status.drift), options);
      }
    }
    return this.apply(safe[0]!, safe.length - 1 + refused.length, fields);
  }

  /** Carries out one step, records what it created, and asks to be called again to re-observe. */
  private async apply(step: HostStep, remaining: number, fields: Record<string, unknown>): Promise<ReconcileResult> {
    let created = this.created;
    let upid: string | undefined;
    if (step.stages) {
      // Recorded before the call: a crash right after staging must find the change marked as
      // Phoenix's (and reload it), not as someone else's (which would stall the node).
      fields['stagedNetwork'] = stagedList(withStaged(this.staged, step));
      await this.write({ phase: 'reconciling', reason: 'Configuring', message: step.why, fields, conditions: this.hostCondition('False', 'Configuring', step.why) });
    }
    if (step.call) {
      try {
        upid = await this.api.call(step.call);
      } catch (err) {
        if (step.password && isProxmoxError(err, 'Forbidden') && tokenMayNot.test(err.message)) return this.passwordRefused(step, fields);
        if (isProxmoxError(err, 'InvalidParameter')) {
          const detail = Object.entries(err.fieldErrors).map(([k, v]) => `${k}: ${v}`).join('; ') || err.message;
          const message = `${step.item}: Proxmox refused to ${step.why} (${describeCall(step.call)}): ${detail}`;
          await this.setup.events.warning(this.current, 'RejectedByProxmox', 'Update', message);
          await this.write({ phase: 'stalled', reason: 'RejectedByProxmox', message, fields, conditions: this.hostCondition('False', 'RejectedByProxmox', message) });
          return { requeueAfter: this.observePeriodMs() };
        }
        if (isProxmoxError(err, 'Conflict')) throw new RetryableError('HostChanged' satisfies HostConfigReason, `${step.item} changed while Phoenix was updating it; reading it again`);
        if (isProxmoxError(err, 'Forbidden')) throw new RetryableError('InsufficientPrivileges', `the API token may not ${step.why}: ${err.message}`, { cause: err });
        if (isProxmoxError(err)) throw new RetryableError('HostConfigFailed' satisfies HostConfigReason, `${step.item}: could not ${step.why}: ${err.message}`, { cause: err });
        throw err;
      }
    }
    if (step.records) created = withCreated(created, step.records, true);
    if (step.forgets) created = withCreated(created, step.forgets, false);
    if (created !== this.created) fields['created'] = created;
    if (step.unstages !== undefined) fields['stagedNetwork'] = stagedList(withStaged(this.staged, step));
    if (step.password) fields['userPasswords'] = withPassword(this.status.userPasswords, { ...step.password, applied: true });
    if (step.forgets?.kind === 'users' && this.status.userPasswords?.some((p) => p.userid === step.forgets?.id)) {
      fields['userPasswords'] = (this.status.userPasswords ?? []).filter((p) => p.userid !== step.forgets?.id);
    }
    if (step.call && !fields['drift']) await this.setup.events.normal(this.current, 'HostConfigured', 'Update', step.why);
    if (upid) {
      const node = parseUpid(upid)?.node ?? this.facts.onlineNodes[0] ?? '';
      fields['task'] = runningTask(upid, step.call?.method === 'DELETE' ? 'delete' : 'configure', node);
      fields['taskItem'] = step.item;
    }
    const more = remaining ? ` (${remaining} more to do)` : '';
    const reason = step.download ? 'Downloading' : 'Configuring';
    await this.write({ phase: 'reconciling', reason, message: `${step.why}${more}`, fields, conditions: this.hostCondition('False', reason, `${step.why}${more}`) });
    return { requeueAfter: upid ? 500 : 50 };
  }

  /**
   * Reads the password Secrets of the users the spec lists. The values are registered with
   * the redactor first, so no log, event or condition can carry them; a missing Secret or key
   * is a spec problem naming the field (and never the value).
   */
  private readPasswords(into: Record<string, PasswordSource>): SpecProblem[] {
    const problems: SpecProblem[] = [];
    const users = this.current.spec.users ?? [];
    if (!users.some((u) => u.passwordSecretRef)) return problems;
    const cache = this.setup.cache<SecretObject>(secrets);
    for (const [i, user] of users.entries()) {
      const ref = user.passwordSecretRef;
      if (!ref) continue;
      try {
        const value = secretText(cache, ref.namespace, ref.name, ref.key ?? 'password');
        this.setup.redactor.addSecret(value);
        into[user.userid] = { value, resourceVersion: cache.get(`${ref.namespace}/${ref.name}`)?.metadata.resourceVersion ?? '' };
      } catch (err) {
        if (!(err instanceof TerminalError)) throw err;
        problems.push({ field: `spec.users[${i}].passwordSecretRef`, message: err.message });
      }
    }
    return problems;
  }

  /**
   * Proxmox refused a password change to the API token. Retrying cannot help, so the Secret
   * version is recorded as not applied (it is tried again when the Secret changes) and the
   * condition says what to do; the value itself appears nowhere.
   */
  private async passwordRefused(step: HostStep, fields: Record<string, unknown>): Promise<ReconcileResult> {
    const userid = step.password!.userid;
    const message = `${step.item}: Proxmox refused to ${step.why}: it accepts password changes (PUT /access/password) only from a ticket session, not from an API token. Set the password with \`pveum passwd ${userid}\`; Phoenix tries again when the Secret changes`;
    await this.setup.events.warning(this.current, 'PasswordNotChanged', 'Update', message);
    fields['userPasswords'] = withPassword(this.status.userPasswords, { ...step.password!, applied: false });
    await this.write({ phase: 'reconciling', reason: 'PasswordNotChanged', message, fields, conditions: this.hostCondition('False', 'PasswordNotChanged', message) });
    return { requeueAfter: 50 };
  }

  /** Follows the task in status; returns a result while it runs or when it failed. */
  private async pollTask(task: TaskRecord): Promise<ReconcileResult | undefined> {
    const item = this.status.taskItem ?? task.operation;
    let state;
    try {
      state = await this.api.task(task.upid, task.node ?? this.facts.onlineNodes[0] ?? '');
    } catch (err) {
      if (!isProxmoxError(err, 'NotFound', 'InvalidParameter')) throw err;
      await this.write({ phase: 'reconciling', reason: 'TaskLost', message: `task ${task.upid} for ${item} is no longer known to Proxmox; observing the host again`, fields: { task: undefined, taskItem: undefined } });
      return undefined;
    }
    if (state.status === 'running') {
      const reason = item.startsWith('download ') ? 'Downloading' : 'Configuring';
      await this.write({ phase: 'reconciling', reason, message: `waiting for ${item} (task ${task.upid})`, conditions: this.hostCondition('False', reason, `waiting for ${item}`) });
      return { requeueAfter: taskPollDelayMs(task.startTime, Date.now()) };
    }
    const { ok, exit, finished } = finishedTask(task, state);
    if (ok) {
      await this.write({ phase: 'reconciling', reason: 'TaskSucceeded', message: `${item}: ${exit}`, fields: { task: undefined, taskItem: undefined, lastTask: finished } });
      return undefined;
    }
    const message = `${item}: the Proxmox task failed: ${exit}. Phoenix tries again at the next observation, in ${Math.round(this.observePeriodMs() / 1000)} s`;
    await this.setup.events.warning(this.current, 'TaskFailed', 'Update', message);
    await this.write({ phase: 'stalled', reason: 'HostTaskFailed', message, fields: { task: undefined, taskItem: undefined, lastTask: finished }, conditions: this.hostCondition('False', 'HostTaskFailed', message) });
    return { requeueAfter: this.observePeriodMs() };
  }

  /** Observe mode: report every difference, write nothing to Proxmox. */
  private async observeOnly(steps: readonly HostStep[]): Promise<ReconcileResult> {
    const differences = steps.flatMap((s) => s.differences);
    const drift = driftRecords(differences, false, this.status.drift);
    const message = differences.length ? `${differences.length} differences from the spec (Observe: nothing changed): ${differences.map(differenceText).join('; ')}` : 'the host matches the spec';
    await this.write({
      phase: 'ready',
      reason: 'Connected',
      message: `${this.facts.message}; observing host configuration: ${differences.length} differences`,
      fields: { drift: drift.length ? drift : undefined, hostPending: undefined },
      conditions: this.hostCondition(differences.length ? 'False' : 'True', differences.length ? 'Observed' : 'Converged', message),
    });
    return { requeueAfter: this.observePeriodMs() };
  }
}

/** The record as status holds it; an emptied list stays `[]` (status is a merge patch). */
function stagedList(staged: StagedNetwork): { node: string; interfaces: string[] }[] {
  return Object.entries(staged).map(([node, interfaces]) => ({ node, interfaces: [...interfaces] })).sort((a, b) => byCodeUnits(a.node, b.node));
}

function withPassword(records: readonly PasswordRecord[] = [], record: PasswordRecord): PasswordRecord[] {
  return [...records.filter((r) => r.userid !== record.userid), record].sort((a, b) => byCodeUnits(a.userid, b.userid));
}

/** Differences as status records; one already recorded keeps its time, so re-observing writes nothing. */
function driftRecords(differences: readonly Difference[], corrected: boolean, previous: readonly DriftRecord[] = []): DriftRecord[] {
  return stampDrift(differences.map((d) => ({ field: d.field, observed: d.observed, desired: d.desired, corrected })), previous);
}
