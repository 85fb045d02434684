import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The heap's size is only comparable after a full collection; mocha does not expose gc().
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes of V8 heap that what `build` returns keeps alive (measured after full collections). */
export async function retainedBytes(build: () => unknown | Promise<unknown>): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = await build();
  gc();
  const after = process.memoryUsage().heapUsed;
  // Read after measuring, so the collection cannot free it first.
  if (kept === Symbol.for('never')) throw new Error('unreachable');
  return after - before;
}
