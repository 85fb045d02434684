import { strict as assert } from 'node:assert';
import { ItemBackoff, itemBackoffPolicy } from '../../../src/runtime/backoff.ts';
import { Controller, type ReconcileContext, type ReconcileResult } from '../../../src/runtime/controller.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';
import { silentLogger } from '../../../src/runtime/logging.ts';
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
    assert.match(text, /phoenix_reconcile_total\{controller="Widget",result="terminal"\} 1/);
    await h.controller.stop(1000);
  });
});
