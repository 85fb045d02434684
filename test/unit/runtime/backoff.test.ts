import { strict as assert } from 'node:assert';
import { backoffDelay, ItemBackoff, itemBackoffPolicy } from '../../../src/runtime/backoff.ts';
import { TokenBucket, defaultRateLimiter } from '../../../src/runtime/rate-limiter.ts';
import { FakeClock } from './fake-clock.ts';

describe('runtime: backoff', () => {
  it('starts at 5 ms and doubles', () => {
    const delays = [0, 1, 2, 3, 4].map((n) => backoffDelay(itemBackoffPolicy, n, () => 0));
    assert.deepEqual(delays, [5, 10, 20, 40, 80]);
  });

  it('is capped at 5 minutes, jitter included, even after very many failures', () => {
    assert.equal(backoffDelay(itemBackoffPolicy, 16, () => 0), 300_000); // 5 ms * 2^16 = 328 s
    assert.equal(backoffDelay(itemBackoffPolicy, 5000, () => 1), 300_000);
  });

  it('adds at most the configured jitter', () => {
    assert.equal(backoffDelay(itemBackoffPolicy, 3, () => 1), 40 * 1.1);
    assert.equal(backoffDelay(itemBackoffPolicy, 3, () => 0.5), 40 * 1.05);
  });

  it('counts failures per key and forgets them on success', () => {
    const backoff = new ItemBackoff(itemBackoffPolicy, () => 0);
    assert.deepEqual([backoff.next('a'), backoff.next('a'), backoff.next('b'), backoff.next('a')], [5, 10, 5, 20]);
    assert.equal(backoff.retries('a'), 3);
    backoff.forget('a');
    assert.equal(backoff.retries('a'), 0);
    assert.equal(backoff.next('a'), 5);
  });
});

describe('runtime: rate limiter', () => {
  it('lets a burst through, then spaces reservations at 1/qps', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(Math.round(bucket.reserve()), 100);
    assert.equal(Math.round(bucket.reserve()), 200);
  });

  it('refills with time, up to the burst', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 2, clock);
    bucket.reserve();
    bucket.reserve();
    await clock.advance(10_000);
    assert.deepEqual([bucket.reserve(), bucket.reserve()], [0, 0]);
    assert.ok(bucket.reserve() > 0);
  });

  it('waits for the longer of the key backoff and the overall limit', () => {
    const clock = new FakeClock();
    const limiter = defaultRateLimiter({ clock, qps: 1, burst: 1, backoff: new ItemBackoff(itemBackoffPolicy, () => 0) });
    assert.equal(limiter.when('a'), 5); // token available, backoff 5 ms
    assert.equal(Math.round(limiter.when('b')), 1000); // key b is fresh, but the bucket is empty
    limiter.forget('a');
    assert.equal(limiter.retries('a'), 0);
  });
});
