import { strict as assert } from 'node:assert';
import { findCondition, type StandardStatus } from '../../src/runtime/conditions.ts';
import { isConflict } from '../../src/runtime/errors.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { KubeClient, writeVerbs } from '../../src/runtime/kube-client.ts';
import { events as eventResource, type KubeObject } from '../../src/runtime/resource.ts';
import { StatusWriter } from '../../src/runtime/status-writer.ts';
import { testCluster } from '../support/cluster.ts';
import { FakeClock } from '../unit/runtime/fake-clock.ts';
import { freshNamespace, installWidgetCrd, widget, widgets, type Widget } from './support.ts';

interface EventObject extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  series?: { count: number; lastObservedTime: string };
  regarding?: { name: string; uid: string };
}

describe('runtime: status writer and events against a real kube-apiserver', function () {
  let client: KubeClient;
  let writes = 0;

  before(async function () {
    this.timeout(30 * 60_000);
    client = new KubeClient((await testCluster()).kc);
    client.onRequest((r) => {
      if (writeVerbs.has(r.verb)) writes++;
    });
    await installWidgetCrd(client);
  });

  after(() => client.close());

  it('hands a reconcile what it wrote itself while the cache still shows the version it replaced', async () => {
    const ns = await freshNamespace(client, 'fresh');
    const created = await client.create(widgets, widget(ns, 'w', { size: 1 }));
    const status = new StatusWriter(client);
    const first = await status.update(widgets, created, { phase: 'reconciling', reason: 'Progressing', message: 'step 1', fields: { vmid: 101 } });
    const second = await status.update(widgets, first.object, { phase: 'reconciling', reason: 'Progressing', message: 'step 2', fields: { vmid: 101, upid: 'UPID:x' } });
    // A cache one or two writes behind: both versions were replaced by this writer.
    assert.equal(status.freshest(created)?.status?.['upid'], 'UPID:x');
    assert.equal(status.freshest(first.object)?.metadata.resourceVersion, second.object.metadata.resourceVersion);
    // The cache catching up, or someone else writing later, wins.
    const later = await client.mergePatch<Widget>(widgets, second.object.metadata, { metadata: { labels: { touched: 'yes' } } });
    assert.equal(status.freshest(later), later);
    assert.equal(status.freshest(created), created, 'once the cache moved on, an old copy is not replaced any more');
  });

  it('writes status through the subresource, only when it changes, moving lastTransitionTime only on a status change', async () => {
    const ns = await freshNamespace(client, 'status');
    let object = await client.create(widgets, widget(ns, 'w', { size: 1 }));
    const clock = new FakeClock(Date.parse('2026-03-01T10:00:00Z'));
    const status = new StatusWriter(client, { clock });
    const conditions = (w: Widget) => (w.status as StandardStatus | undefined)?.conditions;

    const first = await status.update(widgets, object, { phase: 'reconciling', reason: 'Progressing', message: 'creating', fields: { vmid: 101 } });
    assert.equal(first.written, true);
    object = await client.get<Widget>(widgets, 'w', ns);
    assert.equal(object.status?.observedGeneration, object.metadata.generation);
    assert.equal(object.status?.['vmid'], 101);
    assert.equal(object.metadata.generation, 1, 'the status write bumped the generation: it did not go through /status');

    const before = writes;
    assert.equal((await status.update(widgets, object, { phase: 'reconciling', reason: 'Progressing', message: 'creating', fields: { vmid: 101 } })).written, false);
    assert.equal(writes, before, 'an unchanged status was written');

    await clock.advance(60_000);
    await status.update(widgets, object, { phase: 'reconciling', reason: 'Progressing', message: 'booting', fields: { vmid: 101 } });
    object = await client.get<Widget>(widgets, 'w', ns);
    assert.equal(findCondition(conditions(object), 'Reconciling')?.lastTransitionTime, '2026-03-01T10:00:00Z', 'a new message is not a transition');
    assert.equal(findCondition(conditions(object), 'Reconciling')?.message, 'booting');

    await clock.advance(60_000);
    await status.update(widgets, object, { phase: 'ready', reason: 'Succeeded', message: 'running', fields: { vmid: 101, ip: undefined } });
    object = await client.get<Widget>(widgets, 'w', ns);
    assert.equal(findCondition(conditions(object), 'Ready')?.status, 'True');
    assert.equal(findCondition(conditions(object), 'Ready')?.lastTransitionTime, '2026-03-01T10:02:00Z');
    assert.equal(findCondition(conditions(object), 'Stalled')?.lastTransitionTime, '2026-03-01T10:00:00Z', 'Stalled stayed False');
  });

  it('refuses to write a status computed from a stale copy', async () => {
    const ns = await freshNamespace(client, 'stale');
    const stale = await client.create(widgets, widget(ns, 'w'));
    await client.mergePatch(widgets, { name: 'w', namespace: ns }, { spec: { size: 5 } });
    const status = new StatusWriter(client);
    await assert.rejects(status.update(widgets, stale, { phase: 'ready', reason: 'Succeeded', message: '' }), (err: unknown) => isConflict(err));
  });

  it('folds repeats of one event into a single Event with a series count', async () => {
    const ns = await freshNamespace(client, 'events');
    const object = await client.create(widgets, widget(ns, 'w'));
    const clock = new FakeClock();
    const recorder = new EventRecorder({ client, controller: 'runtime-test.phoenix.io/test', instance: 'test-1', clock, seriesFlushMs: 60_000 });
    const before = writes;
    for (let i = 0; i < 50; i++) await recorder.warning(object, 'ConnectFailed', 'Connect', 'proxmox unreachable');
    await recorder.normal(object, 'Created', 'Create', 'created VM 101');
    assert.equal(writes - before, 2, 'repeats wrote to the API before the flush interval');
    // The interval's timer starts the series patch; flush must wait for that write, not skip it.
    await clock.advance(60_000);
    await recorder.flush();

    const list = (await client.list<EventObject>(eventResource, { namespace: ns })).items;
    const failures = list.filter((e) => e.reason === 'ConnectFailed');
    assert.equal(failures.length, 1, `expected one aggregated Event, got ${failures.length}`);
    assert.equal(failures[0]?.series?.count, 50);
    assert.equal(failures[0]?.type, 'Warning');
    assert.equal(failures[0]?.regarding?.uid, object.metadata.uid);
    assert.equal(list.filter((e) => e.reason === 'Created').length, 1);
    assert.ok(writes - before <= 3, `50 repeats cost ${writes - before} writes`);
    recorder.close();
  });
});
