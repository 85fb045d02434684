import { Informer } from '../../../src/runtime/informer.ts';
import type { KubeClient, WatchEvent } from '../../../src/runtime/kube-client.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/resource.ts';
import { FakeClock, settle } from './fake-clock.ts';

/**
 * A started Informer whose API server is the test: it lists `initial`, then `emit` delivers
 * watch events, as a real watch would, so the cache's handlers and indexes see every change.
 */
export async function fedCache<T extends KubeObject>(resource: ResourceType, initial: readonly T[]) {
  let deliver: ((event: WatchEvent<T>) => void) | undefined;
  const client = {
    list: async () => ({ metadata: { resourceVersion: '1' }, items: structuredClone(initial) }),
    watch: (_r: ResourceType, options: { signal?: AbortSignal }, onEvent: (e: WatchEvent<T>) => void) => {
      deliver = onEvent;
      return new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
    },
  } as unknown as KubeClient;
  const informer = new Informer<T>({ client, resource, clock: new FakeClock() });
  informer.start();
  await informer.waitForSync();
  await settle();
  return {
    informer,
    emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) {
      if (!deliver) throw new Error('the watch has not started');
      deliver({ type, object: structuredClone(object) });
    },
  };
}
