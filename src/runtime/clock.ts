/**
 * Time as the runtime sees it. Everything that waits (backoff, requeueAfter, resync, leases)
 * goes through a Clock so tests can move time forward instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Milliseconds on a clock that never steps (NTP, a resumed VM): for due times, not for dates. */
  elapsed(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  schedule(fn: () => void, ms: number): () => void;
}

/** setTimeout's longest delay; a longer one fires after 1 ms. A caller that wants longer looks again when it fires. */
const longestTimerMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
  schedule(fn, ms) {
    const timer = setTimeout(fn, Math.min(longestTimerMs, Math.max(0, ms)));
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `clock`, or early (without throwing) when `signal` aborts. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      cancel();
      resolve();
    };
    const cancel = clock.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
