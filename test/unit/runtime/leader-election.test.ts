import { strict as assert } from 'node:assert';
import { KubeApiError } from '../../../src/runtime/errors.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import { LeaderElector } from '../../../src/runtime/leader-election.ts';
import type { KubeObject } from '../../../src/runtime/resource.ts';
import { FakeClock, settle } from './fake-clock.ts';

/**
 * One Lease with the API server's optimistic locking, and a switch to make it unreachable.
 * With `notify`, watches of it receive every change, as the API server would send them.
 */
function leaseStore(notify = false) {
  let stored: KubeObject | undefined;
  let version = 0;
  const state = { reachable: true, hanging: false };
  const watchers = new Set<(event: { type: string; object: KubeObject }) => void>();
  const check = () => {
    if (!state.reachable) throw new Error('connect ECONNREFUSED');
  };
  const client = {
    get: async () => {
      check();
      if (!stored) throw new KubeApiError(404, 'NotFound', 'lease not found');
      return structuredClone(stored);
    },
    create: async (_r: unknown, object: KubeObject) => {
      check();
      if (stored) throw new KubeApiError(409, 'AlreadyExists', 'exists');
      stored = { ...structuredClone(object), metadata: { ...object.metadata, resourceVersion: String(++version) } };
      return structuredClone(stored);
    },
    replace: async (_r: unknown, object: KubeObject) => {
      check();
      if (state.hanging) await new Promise(() => undefined);
      if (object.metadata.resourceVersion !== stored?.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', 'stale');
      stored = { ...structuredClone(object), metadata: { ...object.metadata, resourceVersion: String(++version) } };
      for (const watcher of watchers) watcher({ type: 'MODIFIED', object: structuredClone(stored) });
      return structuredClone(stored);
    },
    // Without `notify` the watch stays silent: the retry loop must be correct on its own.
    watch: (_r: unknown, options: { signal?: AbortSignal }, onEvent: (event: { type: string; object: KubeObject }) => void) =>
      new Promise<void>((resolve) => {
        if (notify) watchers.add(onEvent);
        options.signal?.addEventListener('abort', () => (watchers.delete(onEvent), resolve()), { once: true });
      }),
  } as unknown as KubeClient;
  return { client, state, holder: () => (stored?.spec as { holderIdentity?: string | null } | undefined)?.holderIdentity };
}

function elector(client: KubeClient, clock: FakeClock, identity: string): LeaderElector {
  return new LeaderElector({ client, clock, identity, namespace: 'ns', name: 'lease' });
}

/** Advances the clock in retry-period steps until `done()` or `limitMs` has passed; returns the time taken. */
async function advanceUntil(clock: FakeClock, done: () => boolean, limitMs: number): Promise<number> {
  const start = clock.now();
  while (!done() && clock.now() - start < limitMs) await clock.advance(100);
  return clock.now() - start;
}

/** Leads for 10 s, then breaks renewals; says how long after that it stopped holding, and why. */
async function leadUntilRenewalsBreak(clock: FakeClock, breakRenewals: (state: { reachable: boolean; hanging: boolean }) => void) {
  const { client, state } = leaseStore();
  const a = elector(client, clock, 'a');
  const stop = new AbortController();
  await a.acquire(stop.signal);
  let outcome: string | undefined;
  void a.hold(stop.signal).then((o) => (outcome = o));
  await clock.advance(10_000);
  assert.equal(outcome, undefined);
  breakRenewals(state);
  const waited = await advanceUntil(clock, () => outcome !== undefined, 30_000);
  return { outcome, waited, isLeader: a.isLeader };
}

describe('runtime: leader election (controllable clock)', () => {
  it('lets one of two candidates lead, and the other take over 15 s after the last renewal', async () => {
    const clock = new FakeClock();
    const { client, holder } = leaseStore();
    const a = elector(client, clock, 'a');
    const b = elector(client, clock, 'b');
    const aStop = new AbortController();
    const bStop = new AbortController();
    assert.equal(await a.acquire(aStop.signal), true);
    let bLeads = false;
    void b.acquire(bStop.signal).then((ok) => (bLeads = ok));
    const aHolding = a.hold(aStop.signal);
    await clock.advance(60_000);
    assert.equal(bLeads, false, 'b took a lease a was renewing');
    assert.equal(holder(), 'a');

    // a dies without a word: it stops renewing.
    aStop.abort();
    assert.equal(await aHolding, 'stopped');
    const waited = await advanceUntil(clock, () => bLeads, 30_000);
    assert.equal(holder(), 'b');
    assert.ok(waited >= 13_000 && waited <= 15_100, `b took over ${waited} ms after a's last renewal`);
    bStop.abort();
  });

  it('gives up leadership when it cannot renew for the whole renew deadline', async () => {
    const { outcome, waited, isLeader } = await leadUntilRenewalsBreak(new FakeClock(), (state) => (state.reachable = false));
    assert.equal(outcome, 'lost');
    assert.equal(isLeader, false);
    // The last good renewal was at most one retry period before the outage began.
    assert.ok(waited <= 10_000 && waited >= 8_000, `gave up ${waited} ms after the API became unreachable`);
  });

  it('gives up leadership at the renew deadline when renewals hang, though its timers fire a millisecond early', async () => {
    // Node's timers run on libuv's loop time, which can be a millisecond ahead of Date.now().
    class EarlyTimers extends FakeClock {
      override schedule(fn: () => void, ms: number): () => void {
        return super.schedule(fn, ms - 1);
      }
    }
    const { outcome, waited } = await leadUntilRenewalsBreak(new EarlyTimers(), (state) => (state.hanging = true));
    assert.equal(outcome, 'lost');
    // The last good renewal was at most one retry period (2 s) before the renewals began to hang.
    assert.ok(waited <= 10_000, `gave up ${waited} ms after renewals began to hang`);
  });

  it('hands over at once on release', async () => {
    const clock = new FakeClock();
    const { client, holder } = leaseStore();
    const a = elector(client, clock, 'a');
    const b = elector(client, clock, 'b');
    await a.acquire(new AbortController().signal);
    let bLeads = false;
    void b.acquire(new AbortController().signal).then((ok) => (bLeads = ok));
    await settle();
    await a.release();
    const waited = await advanceUntil(clock, () => bLeads, 30_000);
    assert.equal(holder(), 'b');
    assert.ok(waited <= 2_000, `take-over after release took ${waited} ms`);
  });

  it('takes a released Lease at once when its watch reports the release', async () => {
    const clock = new FakeClock();
    const { client, holder } = leaseStore(true);
    const a = elector(client, clock, 'a');
    const b = elector(client, clock, 'b');
    await a.acquire(new AbortController().signal);
    let bLeads = false;
    void b.acquire(new AbortController().signal).then((ok) => (bLeads = ok));
    await clock.advance(500); // b is waiting for its next retry, 1.5 s away
    await a.release();
    await settle();
    assert.equal(bLeads, true, 'b waited for its retry although the watch reported the release');
    assert.equal(holder(), 'b');
  });
});
