import { strict as assert } from 'node:assert';
import { setFlagsFromString } from 'node:v8';
import { KubeApiError } from '../../../src/runtime/errors.ts';
import { Informer } from '../../../src/runtime/informer.ts';
import type { KubeClient, WatchEvent, WatchOptions } from '../../../src/runtime/kube-client.ts';
import type { KubeList, KubeObject, ResourceType } from '../../../src/runtime/resource.ts';
import { FakeClock, settle } from './fake-clock.ts';
import { retainedBytes } from './retained-heap.ts';
import { fedCache } from './fed-cache.ts';

setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

const resource: ResourceType = { group: 'x.io', version: 'v1', plural: 'things', kind: 'Thing', namespaced: true };
const thing = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

type WatchScript = (onEvent: (e: WatchEvent<KubeObject>) => void, options: WatchOptions) => Promise<void>;

/** Plays the API server's part from a script: successive lists, and successive watch behaviours. */
function scriptedClient(lists: Array<KubeList<KubeObject>>, watches: WatchScript[]) {
  const calls = { lists: 0, watchVersions: [] as string[] };
  const client = {
    list: async () => {
      const next = lists[calls.lists++];
      if (!next) throw new Error('unexpected list');
      return structuredClone(next);
    },
    watch: (_r: ResourceType, options: WatchOptions, onEvent: (e: WatchEvent<KubeObject>) => void) => {
      calls.watchVersions.push(options.resourceVersion);
      const script = watches.shift() ?? hangUntilAborted;
      return script(onEvent, options);
    },
  } as unknown as KubeClient;
  return { client, calls };
}

const hangUntilAborted: WatchScript = (_onEvent, options) =>
  new Promise((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));

function record(informer: Informer<KubeObject>) {
  const log: string[] = [];
  informer.addHandler({
    onAdd: (o) => log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onUpdate: (_p, o, resync) => log.push(`${resync ? 'resync' : 'update'} ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  return log;
}

describe('runtime: informer recovery (scripted API, controllable clock)', () => {
  it('relists on 410 Gone and delivers what changed meanwhile as update, delete and add', async () => {
    const clock = new FakeClock();
    const { client, calls } = scriptedClient(
      [
        { metadata: { resourceVersion: '10' }, items: [thing('a', '1'), thing('b', '1')] },
        { metadata: { resourceVersion: '20' }, items: [thing('a', '12'), thing('c', '15')] },
      ],
      [
        async (onEvent) => {
          onEvent({ type: 'MODIFIED', object: thing('a', '11') });
          throw new KubeApiError(410, 'Expired', 'too old resource version');
        },
      ],
    );
    const informer = new Informer<KubeObject>({ client, resource, clock });
    const log = record(informer);
    informer.start();
    await settle();
    assert.deepEqual(log, ['add a@1', 'add b@1', 'update a@11', 'delete b', 'update a@12', 'add c@15']);
    assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['a', 'c']);
    assert.deepEqual(calls.watchVersions, ['10', '20']);
    await informer.stop();
  });

  it('caches listed and watched objects without managedFields', async () => {
    const clock = new FakeClock();
    const managed = (name: string, rv: string): KubeObject => ({ metadata: { ...thing(name, rv).metadata, managedFields: [{ manager: 'kubectl', operation: 'Apply' }] } as KubeObject['metadata'] });
    const { client } = scriptedClient(
      [{ metadata: { resourceVersion: '10' }, items: [managed('a', '1')] }],
      [async (onEvent, options) => {
        onEvent({ type: 'ADDED', object: managed('b', '11') });
        return hangUntilAborted(onEvent, options);
      }],
    );
    const informer = new Informer<KubeObject>({ client, resource, clock });
    informer.start();
    await settle();
    assert.deepEqual(informer.list().map((o) => [o.metadata.name, 'managedFields' in o.metadata]).sort(), [['a', false], ['b', false]]);
    // Deleting the field would have made each metadata a hash table, 430 bytes more per object.
    assert.deepEqual(informer.list().map((o) => hasFastProperties(o.metadata)), [true, true]);
    await informer.stop();
  });

  it('shares the strings that cached objects hold alike instead of keeping each list item\'s copy', async () => {
    const count = 4_000;
    // Each listed item brings its own copy of the same 1,000-character message (the client clones every list).
    const message = `PhoenixHypervisor absent does not exist; ${'x'.repeat(958)}`;
    const items = Array.from({ length: count }, (_, i) => ({ ...thing(`g-${i}`, String(i)), status: { message } }));
    let informer: Informer<KubeObject> | undefined;
    const retained = await retainedBytes(async () => {
      const { client } = scriptedClient([{ metadata: { resourceVersion: '10' }, items }], []);
      informer = new Informer<KubeObject>({ client, resource, clock: new FakeClock() });
      informer.start();
      await settle();
      return informer;
    });
    assert.equal(informer!.size, count);
    // The messages alone would be 4 MB in 4,000 copies; the objects, names and keys are about 1.5 MB.
    assert.ok(retained < 2_500_000, `the cache keeps ${retained} bytes`);
    await informer!.stop();
  });

  it('keeps its indexes current as objects gain, share, move and lose index values', async () => {
    const labelled = (name: string, rv: string, ...values: string[]): KubeObject => ({ metadata: { ...thing(name, rv).metadata, labels: Object.fromEntries(values.map((v) => [v, 'x'])) } });
    const { informer, emit } = await fedCache<KubeObject>(resource, [labelled('a', '1', 'red'), labelled('b', '1', 'red', 'blue')]);
    informer.addIndex('label', (o) => Object.keys(o.metadata.labels ?? {}));
    const find = (value: string) => informer.byIndex('label', value).map((o) => o.metadata.name).sort();
    assert.deepEqual([find('red'), find('blue'), find('green')], [['a', 'b'], ['b'], []]);
    emit('MODIFIED', labelled('a', '2', 'green'));
    assert.deepEqual([find('red'), find('green')], [['b'], ['a']]);
    emit('ADDED', labelled('c', '1', 'green', 'green2'));
    emit('DELETED', labelled('a', '3', 'green'));
    assert.deepEqual([find('green'), find('green2')], [['c'], ['c']]);
    emit('MODIFIED', labelled('b', '2'));
    emit('MODIFIED', labelled('c', '2', 'red'));
    assert.deepEqual([find('red'), find('blue'), find('green')], [['c'], [], []]);
    await informer.stop();
  });

  it('leaves out of an index an object its function throws on, and goes on applying events', async () => {
    const { informer, emit } = await fedCache<KubeObject>(resource, [thing('a', '1')]);
    informer.addIndex('first-label', (o) => [Object.keys(o.metadata.labels!)[0]!]);
    emit('ADDED', { metadata: { ...thing('b', '2').metadata, labels: { red: 'x' } } });
    emit('MODIFIED', { metadata: { ...thing('a', '3').metadata, labels: { blue: 'x' } } });
    assert.deepEqual(informer.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort(), ['a@3', 'b@2']);
    assert.deepEqual([informer.byIndex('first-label', 'red').length, informer.byIndex('first-label', 'blue').length], [1, 1]);
    await informer.stop();
  });

  it('costs an index value held by one object no more than its key', async () => {
    const count = 4_000;
    const { informer } = await fedCache<KubeObject>(resource, Array.from({ length: count }, (_, i) => thing(`g-${i}`, '1')));
    const retained = await retainedBytes(() => {
      informer.addIndex('unique', (o) => [`vmid/${o.metadata.name}`]);
      return informer;
    });
    // The map and the 4,000 value strings: about 0.47 MB; a Set for each entry made it 1.1 MB.
    assert.ok(retained < 750_000, `the index takes ${retained} bytes`);
    await informer.stop();
  });

  it('treats an in-stream ERROR 410 like an HTTP 410', async () => {
    const clock = new FakeClock();
    const { client, calls } = scriptedClient(
      [
        { metadata: { resourceVersion: '10' }, items: [thing('a', '1')] },
        { metadata: { resourceVersion: '30' }, items: [] },
      ],
      [async (onEvent) => onEvent({ type: 'ERROR', object: { code: 410, reason: 'Expired', message: 'gone' } as unknown as KubeObject })],
    );
    const informer = new Informer<KubeObject>({ client, resource, clock });
    const log = record(informer);
    informer.start();
    await settle();
    assert.equal(calls.lists, 2);
    assert.deepEqual(log, ['add a@1', 'delete a']);
    await informer.stop();
  });

  it('resumes a failed watch from the last version seen, after a backoff that grows', async () => {
    const clock = new FakeClock();
    const connectionReset: WatchScript = async () => {
      throw new Error('ECONNRESET');
    };
    const { client, calls } = scriptedClient(
      [{ metadata: { resourceVersion: '10' }, items: [] }],
      [
        async (onEvent) => {
          onEvent({ type: 'ADDED', object: thing('a', '11') });
          onEvent({ type: 'BOOKMARK', object: thing('', '14') });
          throw new Error('socket hang up');
        },
        connectionReset,
        connectionReset,
      ],
    );
    const informer = new Informer<KubeObject>({ client, resource, clock, reconnectBackoff: { baseMs: 1000, maxMs: 30_000, jitter: 0 } });
    informer.start();
    await settle();
    assert.equal(calls.watchVersions.length, 1);
    await clock.advance(999);
    assert.equal(calls.watchVersions.length, 1, 'reconnected before the backoff');
    await clock.advance(1);
    assert.equal(calls.watchVersions.length, 2);
    await clock.advance(2000);
    assert.equal(calls.watchVersions.length, 3, 'the second wait should be 2 s');
    await clock.advance(4000);
    assert.deepEqual(calls.watchVersions, ['10', '14', '14', '14'], 'should resume from the bookmark, never relist');
    assert.equal(calls.lists, 1);
    assert.ok(informer.get('ns/a'));
    await informer.stop();
  });

  it('replays the cache to handlers every resync period', async () => {
    const clock = new FakeClock();
    const { client } = scriptedClient([{ metadata: { resourceVersion: '10' }, items: [thing('a', '1')] }], []);
    const informer = new Informer<KubeObject>({ client, resource, clock, resyncPeriodMs: 60_000 });
    const log = record(informer);
    informer.start();
    await settle();
    await clock.advance(120_000);
    assert.deepEqual(log, ['add a@1', 'resync a@1', 'resync a@1']);
    await informer.stop();
  });
});
