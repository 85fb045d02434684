// qemu-server's POST /config with background_delay (src/PVE/API2/Qemu.pm `update_vm_api`):
// the early checks answer at once, then the API waits for the `qmconfig` worker for up to the
// delay and answers null (ended OK or with warnings), the UPID (still running), or
// `failed to update VM <vmid>: <status>` (failed). The worker checks the digest and lock again.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';
import type { RawResponse } from './support/api-client.ts';

const path = '/nodes/pve/qemu/101/config';

describe('simulator: qemu config writes with background_delay', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  async function vm(): Promise<string> {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 101, config: { name: 'vm', memory: 1024, cores: 1 } });
    return ((await f.call('GET', path)).body?.data as { digest: string }).digest;
  }

  /** Sends a request whose answer waits on simulated time, stepping the manual clock until it comes; with the simulated ms it took. */
  async function stepping(request: Promise<RawResponse>, stepMs = 100): Promise<{ res: RawResponse; tookMs: number }> {
    const started = f.sim.clock.now();
    let answered = false;
    void request.finally(() => (answered = true));
    while (!answered) {
      await new Promise((r) => setTimeout(r, 5));
      if (!answered) f.sim.admin.advance(stepMs);
    }
    return { res: await request, tookMs: f.sim.clock.now() - started };
  }

  const qmconfigs = () => f.sim.admin.tasks().filter((t) => t.type === 'qmconfig');
  const config = async () => (await f.call('GET', path)).body?.data as Record<string, unknown>;

  it('a quick change answers null once its task has ended, not after the whole delay', async () => {
    const digest = await vm();
    const { res, tookMs } = await stepping(f.call('POST', path, { cores: 2, digest, background_delay: 5 }));
    assert.deepEqual([res.status, res.body?.data], [200, null]);
    assert.ok(tookMs < 1_000, `answered after ${tookMs} ms of a 500 ms task`);
    assert.equal((await config())['cores'], 2);
    assert.deepEqual(qmconfigs().map((t) => [t.status, t.exitstatus]), [['stopped', 'OK']]);
  });

  it('a change whose task outlasts the delay answers its UPID after the delay, and the task goes on', async () => {
    const digest = await vm();
    f.sim.admin.injectFault({ kind: 'slow-task', taskType: 'qmconfig', ms: 10_000, count: 1 });
    const { res, tookMs } = await stepping(f.call('POST', path, { cores: 2, digest, background_delay: 2 }));
    assert.equal(res.status, 200);
    assert.match(String(res.body?.data), /^UPID:pve:[0-9A-F]+:[0-9A-F]+:[0-9A-F]+:qmconfig:101:/);
    assert.ok(tookMs >= 2_000 && tookMs < 2_500, `answered after ${tookMs} ms, the delay being 2 s`);
    assert.equal((await config())['cores'], 1, 'not applied yet');
    assert.equal((await f.finish(res.body?.data))['exitstatus'], 'OK');
    assert.equal((await config())['cores'], 2);
  });

  it('a task that failed within the delay is a 500 naming the VM and the task\'s exit status', async () => {
    const digest = await vm();
    f.sim.admin.injectFault({ kind: 'task-failure', taskType: 'qmconfig', message: 'hotplug problem - unable to apply', count: 1 });
    const { res } = await stepping(f.call('POST', path, { cores: 2, digest, background_delay: 5 }));
    assert.deepEqual([res.status, res.reason, res.body?.data], [500, 'failed to update VM 101: hotplug problem - unable to apply', null]);
    assert.deepEqual(qmconfigs().map((t) => t.exitstatus), ['hotplug problem - unable to apply']);
  });

  it('a task that ended with warnings is not an error: null (PVE::UPID::status_is_error)', async () => {
    const digest = await vm();
    f.sim.admin.injectFault({ kind: 'task-failure', taskType: 'qmconfig', warnings: 1, count: 1 });
    const { res } = await stepping(f.call('POST', path, { cores: 2, digest, background_delay: 5 }));
    assert.deepEqual([res.status, res.body?.data], [200, null]);
    assert.deepEqual(qmconfigs().map((t) => t.exitstatus), ['WARNINGS: 1']);
  });

  it('the digest, the lock, SSH keys and the delete list are checked before the task: a 500 at once, and no task', async () => {
    await vm();
    const stale = await f.call('POST', path, { cores: 2, digest: '0'.repeat(40), background_delay: 5 });
    assert.deepEqual([stale.status, stale.reason], [500, 'checksum mismatch (file change by other user?)']);
    const badKey = await f.call('POST', path, { sshkeys: encodeURIComponent('not a key'), background_delay: 5 });
    assert.deepEqual([badKey.status, badKey.reason], [500, 'SSH public key validation error']);
    const unknown = await f.call('POST', path, { delete: 'nonsense', background_delay: 5 });
    assert.deepEqual([unknown.status, unknown.body?.errors], [400, { delete: "unknown option 'nonsense'" }]);
    f.sim.simulator.state.guests.find((g) => g.vmid === 101)!.config['lock'] = 'backup';
    const locked = await f.call('POST', path, { cores: 2, background_delay: 5 });
    assert.deepEqual([locked.status, locked.reason], [500, 'VM is locked (backup)']);
    assert.deepEqual(qmconfigs(), []);
  });

  it('the worker checks the digest again: of two writes sent with the same digest, the second task fails', async () => {
    const digest = await vm();
    const first = await f.call('POST', path, { cores: 2, digest });
    const second = stepping(f.call('POST', path, { cores: 4, digest, background_delay: 5 }));
    assert.equal((await f.finish(first.body?.data))['exitstatus'], 'OK');
    const { res } = await second;
    assert.deepEqual([res.status, res.reason], [500, 'failed to update VM 101: checksum mismatch (file change by other user?)']);
    assert.equal((await config())['cores'], 2, 'the first write holds; the stale one was not applied over it');
    const [one, two] = qmconfigs();
    assert.ok(two!.starttime >= one!.starttime && (two!.endtime ?? 0) >= (one!.endtime ?? 0), 'the second task waited for the first\'s config lock');
  });

  it('a task waits for the config lock of the one before it, and gives up after 10 s with lock_file_full\'s message', async () => {
    await vm();
    f.sim.admin.injectFault({ kind: 'slow-task', taskType: 'qmconfig', ms: 15_000, count: 1 });
    const first = await f.call('POST', path, { cores: 2 });
    const { res, tookMs } = await stepping(f.call('POST', path, { memory: 2048, background_delay: 30 }));
    assert.deepEqual([res.status, res.reason], [500, "failed to update VM 101: can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout"]);
    assert.ok(tookMs >= 10_000 && tookMs < 10_500, `gave up after ${tookMs} ms`);
    assert.equal((await f.finish(first.body?.data))['exitstatus'], 'OK');
    assert.deepEqual([(await config())['cores'], String((await config())['memory'])], [2, '1024']);
  });
});
