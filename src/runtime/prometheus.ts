/**
 * Counters, gauges and histograms in the Prometheus text exposition format (version 0.0.4),
 * and the process metrics worth having. Phoenix's own, instead of prom-client: loading
 * prom-client cost the controller about 10 MiB of resident memory (it loads its Pushgateway with
 * node:zlib, its cluster aggregator, tdigest and the OpenTelemetry API), a seventh of the idle
 * target. The text follows https://prometheus.io/docs/instrumenting/exposition_formats/; the
 * names, labels and HELP texts are the ones docs/runtime.md lists.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export type Labels<L extends string> = Partial<Record<L, string | number>>;

interface Config<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  /** The registries that export it; none keeps it unexported (a controller built without metrics). */
  readonly registers?: readonly Registry[];
}

/** `\` and newline escaped everywhere; `"` too inside a label value. */
const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (value: string): string => escapeHelp(value).replace(/"/g, '\\"');

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** `{a="x",b="y"}`, in the metric's label order, or nothing without labels. */
function formatLabels(names: readonly string[], labels: Labels<string>, extra = ''): string {
  const parts: string[] = [];
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined) parts.push(`${name}="${escapeLabel(String(value))}"`);
  }
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  /** One entry per label set, keyed by its formatted labels. */
  protected readonly series = new Map<string, S>();

  constructor(config: Config<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    for (const registry of config.registers ?? []) registry.register(this);
  }

  protected key(labels: Labels<L>): string {
    for (const name of Object.keys(labels)) {
      if (!(this.labelNames as readonly string[]).includes(name)) throw new Error(`${this.name}: unknown label "${name}"`);
    }
    return formatLabels(this.labelNames, labels);
  }

  protected entry(labels: Labels<L>, create: () => S): S {
    const key = this.key(labels);
    let entry = this.series.get(key);
    if (entry === undefined) this.series.set(key, (entry = create()));
    return entry;
  }

  /** Drops one series (e.g. when the object it describes is gone). */
  remove(labels: Labels<L>): void {
    this.series.delete(this.key(labels));
  }

  reset(): void {
    this.series.clear();
  }

  /** Called before each exposition, to refresh values sampled at scrape time. */
  collect(): void {}

  protected abstract samples(): string[];

  render(): string {
    this.collect();
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join('\n');
  }
}

interface Value { value: number }

/** Both forms prom-client takes: `inc(labels, by)`, `inc(by)`, `inc(labels)` and `inc()`. */
function args<L extends string>(a?: Labels<L> | number, b?: number): [Labels<L>, number | undefined] {
  return typeof a === 'number' ? [{}, a] : [a ?? {}, b];
}

/** A metric with one number per series, which a `collect` hook may refresh at each scrape. */
abstract class ValueMetric<L extends string, Self> extends Metric<L, Value> {
  readonly #collect: ((this: Self) => void) | undefined;

  constructor(config: Config<L> & { collect?: (this: Self) => void }) {
    super(config);
    this.#collect = config.collect;
  }

  protected get hasCollect(): boolean {
    return this.#collect !== undefined;
  }

  override collect(): void {
    this.#collect?.call(this as unknown as Self);
  }

  protected samples(): string[] {
    return [...this.series].map(([key, { value }]) => `${this.name}${key} ${formatValue(value)}`);
  }
}

export class Counter<L extends string = string> extends ValueMetric<L, Counter<L>> {
  readonly type = 'counter';

  constructor(config: Config<L> & { collect?: (this: Counter<L>) => void }) {
    super(config);
    // Without labels the one series exists from the start, at 0.
    if (this.labelNames.length === 0) this.inc(0);
  }

  inc(labels?: Labels<L> | number, by?: number): void {
    const [l, amount = 1] = args(labels, by);
    if (!(amount >= 0)) throw new Error(`${this.name}: a counter only goes up (got ${amount})`);
    this.entry(l, () => ({ value: 0 })).value += amount;
  }

  /** The current value of one series (for tests and collectors). */
  get(labels: Labels<L> = {}): number {
    return this.series.get(this.key(labels))?.value ?? 0;
  }
}

export class Gauge<L extends string = string> extends ValueMetric<L, Gauge<L>> {
  readonly type = 'gauge';

  constructor(config: Config<L> & { collect?: (this: Gauge<L>) => void }) {
    super(config);
    if (this.labelNames.length === 0 && !this.hasCollect) this.set(0);
  }

  set(labels: Labels<L> | number, value?: number): void {
    const [l, v] = args(labels, value);
    this.entry(l, () => ({ value: 0 })).value = v ?? 0;
  }

  inc(labels?: Labels<L> | number, by?: number): void {
    const [l, amount = 1] = args(labels, by);
    this.entry(l, () => ({ value: 0 })).value += amount;
  }

  dec(labels?: Labels<L> | number, by?: number): void {
    const [l, amount = 1] = args(labels, by);
    this.entry(l, () => ({ value: 0 })).value -= amount;
  }

  get(labels: Labels<L> = {}): number | undefined {
    return this.series.get(this.key(labels))?.value;
  }
}

interface Observations { readonly labels: Labels<string>; readonly counts: number[]; sum: number; count: number }

export class Histogram<L extends string = string> extends Metric<L, Observations> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(config: Config<L> & { buckets: readonly number[] }) {
    super(config);
    if ((this.labelNames as readonly string[]).includes('le')) throw new Error(`${this.name}: "le" is reserved in a histogram`);
    this.buckets = [...config.buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels<L> | number, value?: number): void {
    const [l, v = 0] = args(labels, value);
    const entry = this.entry(l, () => ({ labels: { ...l }, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    // Counted in the first bucket that holds it; the exposition adds them up.
    const i = this.buckets.findIndex((upper) => v <= upper);
    if (i >= 0) entry.counts[i]! += 1;
    entry.sum += v;
    entry.count += 1;
  }

  protected samples(): string[] {
    const lines: string[] = [];
    for (const [key, entry] of this.series) {
      let cumulative = 0;
      this.buckets.forEach((upper, i) => {
        cumulative += entry.counts[i]!;
        lines.push(`${this.name}_bucket${formatLabels(this.labelNames, entry.labels, `le="${formatValue(upper)}"`)} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${formatLabels(this.labelNames, entry.labels, 'le="+Inf"')} ${entry.count}`);
      lines.push(`${this.name}_sum${key} ${formatValue(entry.sum)}`, `${this.name}_count${key} ${entry.count}`);
    }
    return lines;
  }
}

type AnyMetric = Metric<string, unknown>;

export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  readonly #metrics = new Map<string, AnyMetric>();

  register(metric: { readonly name: string }): void {
    if (this.#metrics.has(metric.name)) throw new Error(`a metric named ${metric.name} is already registered`);
    this.#metrics.set(metric.name, metric as AnyMetric);
  }

  removeSingleMetric(name: string): void {
    this.#metrics.delete(name);
  }

  getSingleMetric(name: string): AnyMetric | undefined {
    return this.#metrics.get(name);
  }

  async getSingleMetricAsString(name: string): Promise<string> {
    return this.#metrics.get(name)?.render() ?? '';
  }

  /** The whole exposition, families apart by a blank line. */
  async metrics(): Promise<string> {
    return `${[...this.#metrics.values()].map((m) => m.render()).join('\n\n')}\n`;
  }
}

/** `VmRSS:   1234 kB` → bytes, from /proc/self/status (Linux; absent elsewhere). */
function procStatus(): Map<string, number> {
  const values = new Map<string, number>();
  try {
    for (const [, key, kb] of readFileSync('/proc/self/status', 'utf8').matchAll(/^(\w+):\s+(\d+) kB$/gm)) values.set(key!, Number(kb) * 1024);
  } catch {
    // Not Linux: the gauges fall back to what Node itself reports.
  }
  return values;
}

function maxFds(): number | undefined {
  try {
    const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return limit === undefined ? undefined : Number(limit);
  } catch {
    return undefined;
  }
}

/**
 * The process and Node.js metrics stock dashboards read, under prom-client's (and Go's
 * process collector's) names: CPU, resident and virtual memory, file descriptors, start time,
 * V8's heap by space, external memory, active resources, and the Node.js version.
 */
export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const startTime = Math.round((Date.now() - performance.now()) / 1000);
  // A counter only goes up: each adds what was used since the last scrape.
  const cpuCounter = (name: string, help: string, seconds: (usage: NodeJS.CpuUsage) => number) => {
    let counted = 0;
    new Counter({ name, help, registers, collect() {
      const now = seconds(process.cpuUsage()) / 1e6;
      this.inc(Math.max(0, now - counted));
      counted = Math.max(counted, now);
    } });
  };
  cpuCounter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', (u) => u.user);
  cpuCounter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', (u) => u.system);
  cpuCounter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (u) => u.user + u.system);
  new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.', registers, collect() { this.set(startTime); } });
  let status = new Map<string, number>();
  new Gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', registers, collect() {
    status = procStatus();
    this.set(status.get('VmRSS') ?? process.memoryUsage.rss());
  } });
  new Gauge({ name: 'process_virtual_memory_bytes', help: 'Virtual memory size in bytes.', registers, collect() { const v = status.get('VmSize'); if (v !== undefined) this.set(v); } });
  new Gauge({ name: 'process_heap_bytes', help: 'Process heap size in bytes.', registers, collect() { const v = status.get('VmData'); if (v !== undefined) this.set(v); } });
  new Gauge({ name: 'process_open_fds', help: 'Number of open file descriptors.', registers, collect() {
    // readdirSync opens one descriptor of its own to read the directory.
    try { this.set(readdirSync('/proc/self/fd').length - 1); } catch { /* not Linux */ }
  } });
  const limit = maxFds();
  new Gauge({ name: 'process_max_fds', help: 'Maximum number of open file descriptors.', registers, collect() { if (limit !== undefined) this.set(limit); } });
  let memory = process.memoryUsage();
  new Gauge({ name: 'nodejs_heap_size_total_bytes', help: 'Process heap size from Node.js in bytes.', registers, collect() { memory = process.memoryUsage(); this.set(memory.heapTotal); } });
  new Gauge({ name: 'nodejs_heap_size_used_bytes', help: 'Process heap size used from Node.js in bytes.', registers, collect() { this.set(memory.heapUsed); } });
  new Gauge({ name: 'nodejs_external_memory_bytes', help: 'Node.js external memory size in bytes.', registers, collect() { this.set(memory.external); } });
  new Gauge({ name: 'nodejs_array_buffers_bytes', help: 'Memory allocated for ArrayBuffers and Buffers, in bytes (part of the external memory).', registers, collect() { this.set(memory.arrayBuffers); } });
  const spaces = { total: 'space_size', used: 'space_used_size', available: 'space_available_size' } as const;
  for (const [what, field] of Object.entries(spaces)) {
    new Gauge({ name: `nodejs_heap_space_size_${what}_bytes`, help: `Process heap space size ${what} from Node.js in bytes.`, labelNames: ['space'], registers, collect() {
      for (const space of getHeapSpaceStatistics()) this.set({ space: space.space_name.replace(/_space$/, '') }, space[field]);
    } });
  }
  new Gauge({ name: 'nodejs_active_resources', help: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', labelNames: ['type'], registers, collect() {
    this.reset();
    for (const type of process.getActiveResourcesInfo()) this.inc({ type });
  } });
  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({ name: 'nodejs_version_info', help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'], registers })
    .set({ version: process.version, major: major!, minor: minor!, patch: patch! }, 1);
}
