import { systemClock, type Clock } from './clock.ts';
import { defaultReadyGraceMs, nextStatus, type ConditionUpdate, type PhaseChange, type StandardStatus } from './conditions.ts';
import { jsonEqual } from './deep-equal.ts';
import type { KubeClient } from './kube-client.ts';
import { defaultRedactor, type Redactor } from './redact.ts';
import type { KubeObject, ResourceType } from './resource.ts';

export interface StatusUpdate extends PhaseChange {
  /** Kind-specific status fields (vmid, node, ipAddresses...). `undefined` removes a field. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Kind-specific conditions (RestartRequired…), set alongside the standard three. */
  readonly conditions?: readonly Omit<ConditionUpdate, 'observedGeneration'>[];
  /** Kind-specific conditions that no longer apply (their subject left the spec): removed. */
  readonly removeConditions?: readonly string[];
}

export interface StatusWriteResult<T> {
  /** False when the status already said exactly this, and nothing was sent. */
  readonly written: boolean;
  readonly object: T;
}

/**
 * Writes the standard status (observedGeneration, Ready / Reconciling / Stalled, kind fields)
 * through the status subresource, and only when it differs from what the object already has, so
 * a converged object costs no writes however often it is reconciled.
 */
const maxRemembered = 10_000;

export class StatusWriter {
  private readonly client: KubeClient;
  private readonly clock: Clock;
  private readonly redactor: Redactor;
  /** How long the controller's own trouble may last before a converged object's Ready turns False. */
  readonly readyGraceMs: number;

  /**
   * Objects this writer wrote that the cache may not show yet, by UID, with every
   * resourceVersion they replaced. A reconcile that starts before the watch delivers the write
   * would otherwise act on the status from before it (a task it already submitted, a password
   * it already wrote) and repeat the work before its own stale write is refused.
   */
  readonly #written = new Map<string, { replaced: Set<string>; object: KubeObject }>();

  constructor(client: KubeClient, options: { clock?: Clock; redactor?: Redactor; readyGraceMs?: number } = {}) {
    this.client = client;
    this.clock = options.clock ?? systemClock;
    this.redactor = options.redactor ?? defaultRedactor;
    this.readyGraceMs = options.readyGraceMs ?? defaultReadyGraceMs;
  }

  /**
   * The newer of `cached` and what this writer last wrote for it. resourceVersions are opaque,
   * so the only comparison made is equality: a cached copy whose version this writer replaced
   * is stale; any other version is the cache catching up or someone else writing later.
   */
  freshest<T extends KubeObject>(cached: T | undefined): T | undefined {
    const uid = cached?.metadata.uid;
    if (!cached || !uid) return cached;
    const entry = this.#written.get(uid);
    if (!entry) return cached;
    const version = cached.metadata.resourceVersion ?? '';
    if (entry.replaced.has(version)) return entry.object as T;
    this.#written.delete(uid);
    return cached;
  }

  /**
   * The cache now holds `object`. Once it shows anything but a version this writer replaced, the
   * copy kept for `freshest` is not needed any more: dropped now, rather than kept (a whole object
   * each) until the object's next reconcile looks it up.
   */
  seen(object: KubeObject): void {
    const uid = object.metadata.uid;
    const entry = uid ? this.#written.get(uid) : undefined;
    if (entry && !entry.replaced.has(object.metadata.resourceVersion ?? '')) this.#written.delete(uid!);
  }

  /** How many written objects are kept until the cache shows them. */
  get remembered(): number {
    return this.#written.size;
  }

  #remember(before: KubeObject, after: KubeObject): void {
    const uid = after.metadata.uid;
    if (!uid) return;
    const replaced = this.#written.get(uid)?.replaced ?? new Set<string>();
    if (before.metadata.resourceVersion) replaced.add(before.metadata.resourceVersion);
    this.#written.delete(uid);
    this.#written.set(uid, { replaced, object: after });
    // Objects deleted before the cache caught up are never looked up again; forget the oldest.
    if (this.#written.size > maxRemembered) this.#written.delete(this.#written.keys().next().value!);
  }

  /** The status `object` would have after `update`, without writing it. */
  desired(object: KubeObject, update: StatusUpdate): StandardStatus {
    const current = (object.status ?? undefined) as StandardStatus | undefined;
    // Condition messages are public (kubectl describe, Argo CD): they must not carry secrets.
    const change = { ...update, message: this.redactor.text(update.message) };
    const extra = (update.conditions ?? []).map((c) => ({ ...c, message: this.redactor.text(c.message) }));
    const status = nextStatus(current, object.metadata.generation, change, update.fields ?? {}, new Date(this.clock.now()), extra, this.readyGraceMs, update.removeConditions);
    for (const [key, value] of Object.entries(status)) if (value === undefined) delete status[key];
    return status;
  }

  async update<T extends KubeObject>(resource: ResourceType, object: T, update: StatusUpdate): Promise<StatusWriteResult<T>> {
    const status = this.desired(object, update);
    if (jsonEqual(object.status ?? {}, status)) return { written: false, object };
    // The resourceVersion makes this a compare-and-swap: a status computed from a stale copy is
    // refused with 409 (and the reconcile retried) instead of overwriting newer conditions.
    const patch = {
      metadata: { resourceVersion: object.metadata.resourceVersion },
      status: mergePatchOf((object.status ?? {}) as Record<string, unknown>, status),
    };
    const written = await this.client.mergePatch<T>(resource, object.metadata, patch, 'status');
    this.#remember(object, written);
    return { written: true, object: written };
  }
}

/** Top-level status fields to send: changed ones in full (lists are replaced whole), removed ones as null. */
/**
 * A JSON merge patch (RFC 7386) from `current` to `next`. Nested objects are patched key by key,
 * because a merge patch merges them: sending a smaller object would keep the removed keys (and
 * the status would differ, and be written, on every reconcile). Lists are replaced whole.
 */
export function mergePatchOf(current: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    const was = current[key];
    if (value === undefined) {
      if (was !== undefined) patch[key] = null;
      continue;
    }
    if (jsonEqual(was, value)) continue;
    patch[key] = isPlainObject(was) && isPlainObject(value) ? mergePatchOf(was, value) : value;
  }
  for (const key of Object.keys(current)) if (!(key in next) && current[key] !== undefined) patch[key] = null;
  return patch;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
