import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { ItemBackoff, itemBackoffPolicy } from '../../../src/runtime/backoff.ts';
import { Controller, type ReconcileContext, type ReconcileResult } from '../../../src/runtime/controller.ts';
import { RetryableError, TerminalError } from '../../../src/runtime/errors.ts';
import { createLogger, silentLogger } from '../../../src/runtime/logging.ts';
import { RuntimeMetrics } from '../../../src/runtime/metrics.ts';
import { defaultRateLimiter } from '../../../src/runtime/rate-limiter.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/resource.ts';
import { WorkQueue } from '../../../src/runtime/work-queue.ts';
import { FakeClock } from './fake-clock.ts';

const resource: ResourceType = { group: 'runtime-test.phoenix.io', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };

/** A controller over an in-memory cache, whose reconcile outcomes the test scripts. */
function harness(outcomes: Array<() => ReconcileResult | void>) {
  const clock = new FakeClock();
  const object: KubeObject = { apiVersion: 'runtime-test.phoenix.io/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'ns', generation: 1 } };
  const queue = new WorkQueue({ clock, rateLimiter: defaultRateLimiter({ clock, backoff: new ItemBackoff(itemBackoffPolicy, () => 0) }) });
  const calls: number[] = [];
  const metrics = new RuntimeMetrics({ processMetrics: false });
  const controller = new Controller({
    name: 'Widget',
    resource,
    informer: { get: (key: string) => (key === 'ns/w' ? object : undefined) },
    queue,
    clock,
    logger: silentLogger(),
    metrics,
    concurrency: 2,
    reconciler: {
      async reconcile(ctx: ReconcileContext<KubeObject>) {
        calls.push(clock.now());
        assert.equal(ctx.object, object);
        const next = outcomes.shift();
        if (!next) return;
        return next();
      },
    },
  });
  controller.start();
  return { clock, queue, calls, controller, metrics, start: clock.now() };
}

const fail = () => {
  throw new Error('boom');
};

describe('runtime: controller (controllable clock)', () => {
  it('retries a failing reconcile after 5, 10, 20 ms, then resets the backoff after a success', async () => {
    const h = harness([fail, fail, fail, () => {}, fail]);
    h.queue.add('ns/w');
    await h.clock.advance(0);
    await h.clock.advance(5);
    await h.clock.advance(10);
    await h.clock.advance(20);
    assert.deepEqual(h.calls.map((t) => t - h.start), [0, 5, 15, 35]);
    h.queue.add('ns/w'); // a fresh change after the success
    await h.clock.advance(0);
    await h.clock.advance(5);
    assert.deepEqual(h.calls.map((t) => t - h.start), [0, 5, 15, 35, 35, 40], 'backoff did not restart at 5 ms');
    await h.controller.stop(1000);
  });

  it('honours requeueAfter exactly, without backoff', async () => {
    const h = harness([() => ({ requeueAfter: 30_000 }), () => ({ requeueAfter: 30_000 })]);
    h.queue.add('ns/w');
    await h.clock.advance(29_999);
    assert.equal(h.calls.length, 1);
    await h.clock.advance(1);
    assert.equal(h.calls.length, 2);
    await h.clock.advance(30_000);
    assert.equal(h.calls.length, 3);
    await h.clock.advance(3_600_000);
    assert.equal(h.calls.length, 3, 'reconciled again although the last result asked for nothing');
    await h.controller.stop(1000);
  });

  it('does not retry a terminal error', async () => {
    const h = harness([
      () => {
        throw new TerminalError('InvalidSpec', 'spec.cores must be positive');
      },
    ]);
    h.queue.add('ns/w');
    await h.clock.advance(3_600_000);
    assert.equal(h.calls.length, 1);
    assert.equal(h.clock.pending, 0, 'a retry was scheduled');
    const text = await h.metrics.registry.metrics();
    // controller-runtime counts a terminal error as an error, and once more among terminal errors.
    assert.match(text, /controller_runtime_reconcile_total\{controller="Widget",result="error"\} 1/);
    assert.match(text, /controller_runtime_terminal_reconcile_errors_total\{controller="Widget"\} 1/);
    await h.controller.stop(1000);
  });
});

describe('runtime: controller logs and shutdown', () => {
  function controllerWith(reconcile: (ctx: ReconcileContext<KubeObject>) => Promise<void>, logger = silentLogger()) {
    const clock = new FakeClock();
    const object: KubeObject = { metadata: { name: 'w', namespace: 'ns', generation: 7 } };
    const queue = new WorkQueue({ clock, rateLimiter: defaultRateLimiter({ clock }) });
    const controller = new Controller({ name: 'Widget', resource, informer: { get: () => object }, queue, clock, logger, concurrency: 1, reconciler: { reconcile } });
    controller.start();
    return { controller, queue, clock };
  }

  it('puts kind, object, generation and a fresh reconcile id on every reconcile line', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const { controller, queue, clock } = controllerWith(async ({ log }) => void log.info('working'), createLogger({ format: 'json', stream }));
    queue.add('ns/w');
    await clock.advance(0);
    queue.add('ns/w');
    await clock.advance(0);
    await controller.stop(100);
    const working = lines.filter((l) => l['message'] === 'working');
    assert.equal(working.length, 2);
    for (const line of working) {
      assert.equal(line['kind'], 'Widget');
      assert.equal(line['object'], 'ns/w');
      assert.equal(line['generation'], 7);
      assert.match(String(line['reconcileID']), /^[0-9a-f]{12}$/);
    }
    assert.notEqual(working[0]?.['reconcileID'], working[1]?.['reconcileID']);
  });

  function logOf(reconcile: () => Promise<void>, level: 'info' | 'debug') {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { lines, ...controllerWith(reconcile, createLogger({ format: 'json', stream, level })) };
  }

  it('logs an expected, retried failure as one warn line without a stack; the stack only at debug', async () => {
    const locked = () => Promise.reject(new RetryableError('StorageLockTimeout', "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"));
    const atInfo = logOf(locked, 'info');
    atInfo.queue.add('ns/w');
    await atInfo.clock.advance(0);
    await atInfo.controller.stop(100);
    const failures = atInfo.lines.filter((l) => /reconcile failed/.test(String(l['message'])));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.['level'], 'warn');
    assert.equal(failures[0]?.['reason'], 'StorageLockTimeout');
    assert.match(String(failures[0]?.['error']), /^can't lock file/);
    assert.ok(atInfo.lines.every((l) => l['stack'] === undefined && !JSON.stringify(l).includes('    at ')), 'a stack at info');

    const atDebug = logOf(locked, 'debug');
    atDebug.queue.add('ns/w');
    await atDebug.clock.advance(0);
    await atDebug.controller.stop(100);
    assert.ok(atDebug.lines.some((l) => l['level'] === 'debug' && /at /.test(String(l['stack']))), 'no stack at debug');
  });

  it('logs a bug (a TypeError) at error with its stack', async () => {
    const bug = logOf(async () => {
      (undefined as unknown as { spec: { cores: number } }).spec.cores;
    }, 'info');
    bug.queue.add('ns/w');
    await bug.clock.advance(0);
    await bug.controller.stop(100);
    const line = bug.lines.find((l) => l['level'] === 'error');
    assert.ok(line, 'no error line');
    assert.match(JSON.stringify(line), /TypeError/);
    assert.match(JSON.stringify(line), /at /);
  });

  it('lets a reconcile in flight finish on stop, and takes no new work', async () => {
    let release!: () => void;
    const finishing = new Promise<void>((resolve) => (release = resolve));
    const finished: string[] = [];
    const { controller, queue, clock } = controllerWith(async ({ request, signal }) => {
      await finishing;
      finished.push(`${request.name} aborted=${signal.aborted}`);
    });
    queue.add('ns/w');
    await clock.advance(0);
    const stopped = controller.stop(60_000);
    queue.add('ns/other');
    release();
    await stopped;
    assert.deepEqual(finished, ['w aborted=false']);
  });

  it('aborts a reconcile that outlives the shutdown deadline', async () => {
    let aborted = false;
    const { controller, queue, clock } = controllerWith(
      ({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve()), { once: true })),
    );
    queue.add('ns/w');
    await clock.advance(0);
    await controller.stop(50);
    assert.equal(aborted, true);
  });
});
