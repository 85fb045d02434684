import assert from 'node:assert/strict';
import { configWaitSeconds } from '../../../src/controllers/guests/guest-api.ts';

describe('how long a VM config write asks Proxmox to wait for its task', () => {
  it('asks what Proxmox\'s GUI asks, 5 s, with the default 30 s client timeout', () => assert.equal(configWaitSeconds(30_000), 5));
  it('never more than a quarter of a shorter client timeout', () => {
    assert.equal(configWaitSeconds(12_000), 3);
    assert.equal(configWaitSeconds(4_000), 1);
  });
  it('asks no wait (the UPID at once) when even 1 s would be more than a quarter of the timeout', () => {
    assert.equal(configWaitSeconds(3_999), undefined);
    assert.equal(configWaitSeconds(1_500), undefined);
  });
  it('stays at 5 s with a longer timeout: a slow task is followed as a task anyway', () => assert.equal(configWaitSeconds(600_000), 5));
});
