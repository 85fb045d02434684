import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from './clock.ts';
import { microTime } from './kube-time.ts';
import type { KubeClient } from './kube-client.ts';
import { silentLogger, type Logger } from './logging.ts';
import { defaultRedactor, type Redactor } from './redact.ts';
import { events as eventResource, type KubeObject } from './resource.ts';

/** Where Events about cluster-scoped objects (PhoenixHypervisor) go, as kubectl and client-go put them. */
export const clusterScopedEventNamespace = 'default';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** reportingController, e.g. "hypervisor.phoenix.io/phoenix-controller". */
  readonly controller: string;
  /** reportingInstance: this replica's identity. */
  readonly instance: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly redactor?: Redactor;
  /** Repeats of one event are folded into its series and written at most this often. */
  readonly seriesFlushMs?: number;
  /** Forget an event this long after its last occurrence (a later repeat starts a new Event). */
  readonly seriesExpiryMs?: number;
  /** Most distinct events remembered at once (oldest forgotten first). */
  readonly maxTracked?: number;
}

interface Tracked {
  readonly name: string;
  readonly namespace: string;
  count: number;
  /** Occurrences not yet written to the API. */
  pendingRepeats: number;
  lastSeen: number;
  lastWritten: number;
  created: Promise<boolean>;
  flushTimer?: () => void;
  /** The series patch in flight, so a flush waits for a write a timer already started. */
  writing?: Promise<void>;
}


/**
 * Records events.k8s.io/v1 Events. An event identical to one recorded recently (same object,
 * type, reason, action and note) does not create a new Event: it raises the count of the first
 * one's `series`, and those counts are written in one patch per flush interval, so an object
 * failing in a hot loop costs one Event and a patch a minute, not a write per failure. Recording
 * never throws: an Event that cannot be written is logged and dropped.
 */
export class EventRecorder {
  private readonly options: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly redactor: Redactor;
  private readonly tracked = new Map<string, Tracked>();

  constructor(options: EventRecorderOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.redactor = options.redactor ?? defaultRedactor;
  }

  normal(regarding: KubeObject, reason: string, action: string, note: string): Promise<void> {
    return this.record(regarding, 'Normal', reason, action, note);
  }

  warning(regarding: KubeObject, reason: string, action: string, note: string): Promise<void> {
    return this.record(regarding, 'Warning', reason, action, note);
  }

  async record(regarding: KubeObject, type: EventType, reason: string, action: string, rawNote: string): Promise<void> {
    const note = truncate(this.redactor.text(rawNote), 1024);
    const identity = [regarding.metadata.uid ?? regarding.metadata.name, type, reason, action, note].join('\u0000');
    const now = this.clock.now();
    this.expire(now);
    const existing = this.tracked.get(identity);
    if (existing && (await existing.created)) {
      existing.count++;
      existing.pendingRepeats++;
      existing.lastSeen = now;
      // Refresh the map order so eviction removes the least recently seen.
      this.tracked.delete(identity);
      this.tracked.set(identity, existing);
      this.scheduleFlush(existing);
      return;
    }
    const namespace = regarding.metadata.namespace || clusterScopedEventNamespace;
    const name = `${regarding.metadata.name}.${randomBytes(8).toString('hex')}`;
    const entry: Tracked = { name, namespace, count: 1, pendingRepeats: 0, lastSeen: now, lastWritten: now, created: Promise.resolve(false) };
    entry.created = this.create(entry, regarding, type, reason, action, note, now);
    this.tracked.set(identity, entry);
    const max = this.options.maxTracked ?? 4096;
    while (this.tracked.size > max) {
      const oldest = this.tracked.keys().next().value as string;
      this.forget(oldest);
    }
    await entry.created;
  }

  /** Writes every pending series count now (graceful shutdown). */
  async flush(): Promise<void> {
    // writeSeries returns the patch in flight when nothing is pending, so this also waits for those.
    await Promise.all([...this.tracked.values()].map((t) => this.writeSeries(t)));
  }

  close(): void {
    for (const key of [...this.tracked.keys()]) this.forget(key);
  }

  private async create(entry: Tracked, regarding: KubeObject, type: EventType, reason: string, action: string, note: string, now: number): Promise<boolean> {
    try {
      await this.options.client.create(eventResource, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: entry.name, namespace: entry.namespace },
        eventTime: microTime(now),
        reportingController: this.options.controller,
        reportingInstance: this.options.instance,
        type,
        reason,
        action,
        note,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.metadata.name,
          namespace: regarding.metadata.namespace,
          uid: regarding.metadata.uid,
          resourceVersion: regarding.metadata.resourceVersion,
        },
      });
      return true;
    } catch (err) {
      this.log.warn('could not record event', { reason, error: (err as Error).message });
      return false;
    }
  }

  private scheduleFlush(entry: Tracked): void {
    if (entry.flushTimer) return;
    const interval = this.options.seriesFlushMs ?? 60_000;
    const wait = Math.max(0, entry.lastWritten + interval - this.clock.now());
    entry.flushTimer = this.clock.schedule(() => {
      delete entry.flushTimer;
      void this.writeSeries(entry);
    }, wait);
  }

  private writeSeries(entry: Tracked): Promise<void> {
    entry.flushTimer?.();
    delete entry.flushTimer;
    if (entry.pendingRepeats === 0) return entry.writing ?? Promise.resolve();
    entry.pendingRepeats = 0;
    entry.lastWritten = this.clock.now();
    const previous = entry.writing ?? Promise.resolve();
    // Chained so two patches of one series never race and an older count never lands last.
    const writing = previous.then(() => this.patchSeries(entry));
    entry.writing = writing;
    void writing.then(() => {
      if (entry.writing === writing) delete entry.writing;
    });
    return writing;
  }

  private async patchSeries(entry: Tracked): Promise<void> {
    try {
      await this.options.client.mergePatch(eventResource, entry, {
        series: { count: entry.count, lastObservedTime: microTime(entry.lastSeen) },
      });
    } catch (err) {
      this.log.warn('could not update event series', { event: entry.name, error: (err as Error).message });
    }
  }

  private expire(now: number): void {
    const expiry = this.options.seriesExpiryMs ?? 10 * 60_000;
    for (const [key, entry] of this.tracked) {
      if (now - entry.lastSeen <= expiry) break; // ordered by lastSeen
      if (entry.pendingRepeats > 0) void this.writeSeries(entry);
      this.forget(key);
    }
  }

  private forget(key: string): void {
    const entry = this.tracked.get(key);
    entry?.flushTimer?.();
    this.tracked.delete(key);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
