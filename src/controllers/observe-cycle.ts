/**
 * Observation cycles. Every guest observed with period P is observed at the multiples of P
 * since the epoch, so all guests sharing a period observe in the same window: the first
 * observation of a cycle reads `/cluster/resources` once, the others reuse that snapshot,
 * and a change made outside Phoenix at any moment is seen at the next boundary, within one
 * period. Guests observed at arbitrary phases could not promise both: a snapshot shared across
 * phases may predate the change, and a fresh one per guest costs a cluster read per guest.
 */

/** The shortest period honoured: shorter ones (even 0) would observe in a loop. */
export const minObservePeriodMs = 100;

/**
 * Timers can fire a little before the wall clock reaches the boundary they were set for (the
 * timer runs on a monotonic clock, `Date.now()` may be adjusted); an observation that close
 * to a boundary belongs to the cycle that starts there, rather than observing twice.
 */
function slackMs(periodMs: number): number {
  return Math.min(1000, periodMs / 20);
}

/** When the cycle that `now` belongs to started. */
export function cycleStart(now: number, periodMs: number): number {
  if (!(periodMs > 0)) throw new RangeError(`observe period must be positive, got ${periodMs}`);
  return Math.floor((now + slackMs(periodMs)) / periodMs) * periodMs;
}

/** How long from `now` until the next cycle starts: the delay before the next observation. */
export function untilNextCycle(now: number, periodMs: number): number {
  return cycleStart(now, periodMs) + periodMs - now;
}

/**
 * The earliest moment a shared snapshot may have been requested and still count for the cycle
 * `now` belongs to. A snapshot requested a little before the boundary (within the slack) counts,
 * matching `cycleStart`.
 */
export function freshSince(now: number, periodMs: number): number {
  return cycleStart(now, periodMs) - slackMs(periodMs);
}
