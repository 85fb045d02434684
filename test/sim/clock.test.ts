import { strict as assert } from 'node:assert';
import { SimClock } from '../../src/sim/proxmox/clock.ts';

describe('simulator: clock', () => {
  it('waits for a sleeper due further out than a Node timer can wait without re-arming every millisecond', async () => {
    // At speed 0.001 (a frozen simulator) one simulated hour is 41 real days, past setTimeout's
    // 2^31 - 1 ms; Node fires such a timer after 1 ms, and it would re-arm again and again.
    const clock = new SimClock({ startMs: 0, speed: 0.001 });
    const overflows: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning);
    };
    process.on('warning', onWarning);
    try {
      let woke = false;
      void clock.sleep(3_600_000).then(() => (woke = true));
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(overflows.map((w) => w.message), []);
      assert.equal(woke, false);
      assert.equal(clock.pendingSleeps(), 1);
    } finally {
      clock.releaseAll();
      process.off('warning', onWarning);
    }
  });
});
