import { strict as assert } from 'node:assert';
import { Counter, Gauge, Histogram, Registry, registerProcessMetrics } from '../../../src/runtime/prometheus.ts';

describe('runtime: Prometheus text exposition', () => {
  it('writes counters and gauges with HELP, TYPE, labels in declared order, families apart by a blank line', async () => {
    const registry = new Registry();
    const requests = new Counter({ name: 'requests_total', help: 'Requests', labelNames: ['code', 'method'], registers: [registry] });
    const depth = new Gauge({ name: 'depth', help: 'Depth', labelNames: ['name'], registers: [registry] });
    requests.inc({ method: 'GET', code: '200' });
    requests.inc({ method: 'GET', code: '200' }, 2);
    requests.inc({ method: 'PUT', code: 404 });
    depth.set({ name: 'a' }, 3);
    depth.inc({ name: 'a' });
    depth.dec({ name: 'b' }, 2);
    assert.equal(await registry.metrics(), [
      '# HELP requests_total Requests',
      '# TYPE requests_total counter',
      'requests_total{code="200",method="GET"} 3',
      'requests_total{code="404",method="PUT"} 1',
      '',
      '# HELP depth Depth',
      '# TYPE depth gauge',
      'depth{name="a"} 4',
      'depth{name="b"} -2',
      '',
    ].join('\n'));
  });

  it('shows a metric without labels at 0 from the start, and a labelled one with no series as HELP and TYPE only', async () => {
    const registry = new Registry();
    new Counter({ name: 'plain_total', help: 'Plain', registers: [registry] });
    new Counter({ name: 'labelled_total', help: 'Labelled', labelNames: ['x'], registers: [registry] });
    assert.equal(await registry.metrics(), '# HELP plain_total Plain\n# TYPE plain_total counter\nplain_total 0\n\n# HELP labelled_total Labelled\n# TYPE labelled_total counter\n');
  });

  it('escapes label values and help text as the exposition format asks', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'back\\slash\nnewline', labelNames: ['v'], registers: [registry] });
    g.set({ v: 'a"b\\c\nd' }, 1);
    assert.equal(await registry.getSingleMetricAsString('g'), '# HELP g back\\\\slash\\nnewline\n# TYPE g gauge\ng{v="a\\"b\\\\c\\nd"} 1');
  });

  it('writes histograms as cumulative buckets with le last, +Inf, _sum and _count', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'work_seconds', help: 'Work', labelNames: ['name'], buckets: [0.1, 1, 1e-8], registers: [registry] });
    h.observe({ name: 'q' }, 0.05);
    h.observe({ name: 'q' }, 0.5);
    h.observe({ name: 'q' }, 0.5);
    h.observe({ name: 'q' }, 7);
    assert.equal(await registry.getSingleMetricAsString('work_seconds'), [
      '# HELP work_seconds Work',
      '# TYPE work_seconds histogram',
      'work_seconds_bucket{name="q",le="1e-8"} 0',
      'work_seconds_bucket{name="q",le="0.1"} 1',
      'work_seconds_bucket{name="q",le="1"} 3',
      'work_seconds_bucket{name="q",le="+Inf"} 4',
      'work_seconds_sum{name="q"} 8.05',
      'work_seconds_count{name="q"} 4',
    ].join('\n'));
  });

  it('drops a removed series, refuses a counter going down, an unknown label and a name registered twice', async () => {
    const registry = new Registry();
    const ready = new Gauge({ name: 'ready', help: 'Ready', labelNames: ['name'], registers: [registry] });
    ready.set({ name: 'a' }, 1);
    ready.set({ name: 'b' }, 0);
    ready.remove({ name: 'a' });
    assert.equal(await registry.getSingleMetricAsString('ready'), '# HELP ready Ready\n# TYPE ready gauge\nready{name="b"} 0');
    const c = new Counter({ name: 'c_total', help: 'C', labelNames: ['x'] });
    assert.throws(() => c.inc({ x: '1' }, -1), /only goes up/);
    assert.throws(() => c.inc({ y: '1' } as never), /unknown label "y"/);
    assert.throws(() => new Gauge({ name: 'ready', help: 'again', registers: [registry] }), /already registered/);
  });

  it('samples a collected gauge at each exposition', async () => {
    const registry = new Registry();
    let n = 0;
    new Gauge({ name: 'sampled', help: 'Sampled', registers: [registry], collect() { this.set(++n); } });
    assert.match(await registry.metrics(), /^sampled 1$/m);
    assert.match(await registry.metrics(), /^sampled 2$/m);
  });

  it('exports the process metrics dashboards read: CPU, resident memory, heap by space, file descriptors', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const text = await registry.metrics();
    for (const family of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes']) {
      assert.match(text, new RegExp(`^${family} [0-9.e+]+$`, 'm'), family);
    }
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
    assert.ok(rss > 10 * 1048576 && rss < 4096 * 1048576, `resident memory ${rss}`);
    assert.match(text, /^nodejs_heap_space_size_used_bytes\{space="old"\} \d+$/m);
    assert.match(text, /^process_open_fds \d+$/m);
    // Counters never go down between scrapes.
    const cpu = (t: string) => Number(/^process_cpu_seconds_total (\S+)$/m.exec(t)?.[1]);
    for (let i = 0; i < 1e6; i++) Math.sqrt(i);
    assert.ok(cpu(await registry.metrics()) >= cpu(text));
  });
});
