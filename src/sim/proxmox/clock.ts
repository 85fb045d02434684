/**
 * The simulator's time. In `real` mode simulated time runs at `speed` times wall-clock
 * time (speed 10: a 5 s task takes 0.5 s); in `manual` mode it stands still until a
 * test advances it, so tests never sleep to synchronise. Both modes can be advanced
 * (for ticket expiry and the like).
 */
export type ClockMode = 'real' | 'manual';

interface Sleeper {
  readonly due: number;
  readonly resolve: () => void;
  timer?: ReturnType<typeof setTimeout>;
}

const longestTimerMs = 2 ** 31 - 1;

export class SimClock {
  readonly mode: ClockMode;
  #speed: number;
  #base: number;
  #realBase: number;
  #sleepers: Sleeper[] = [];
  #realSleepers: Sleeper[] = [];
  #listeners: Array<() => void> = [];

  constructor(options: { startMs: number; speed?: number; mode?: ClockMode }) {
    this.mode = options.mode ?? 'real';
    this.#speed = options.speed ?? 1;
    this.#base = options.startMs;
    this.#realBase = performance.now();
  }

  get speed(): number {
    return this.#speed;
  }

  /** Simulated milliseconds since the epoch. */
  now(): number {
    if (this.mode === 'manual') return this.#base;
    return this.#base + (performance.now() - this.#realBase) * this.#speed;
  }

  /** Unix seconds, as Proxmox uses them in UPIDs and tickets. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  setSpeed(speed: number): void {
    this.#base = this.now();
    this.#realBase = performance.now();
    this.#speed = speed;
    for (const s of this.#sleepers) this.#arm(s);
  }

  advance(ms: number): void {
    this.#base += ms;
    this.#wake();
    for (const l of this.#listeners) l();
  }

  /** Called after every advance, so the simulator can finish due tasks eagerly. */
  onAdvance(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Resolves once `ms` of simulated time have passed. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = { due: this.now() + ms, resolve };
      this.#sleepers.push(sleeper);
      this.#arm(sleeper);
    });
  }

  /**
   * Resolves after `ms` of wall-clock time, whatever the speed or mode: for what happens
   * outside Proxmox's time, such as an answer held past a client's (wall-clock) timeout.
   */
  sleepReal(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper: Sleeper = { due: Number.NaN, resolve };
      sleeper.timer = setTimeout(() => {
        this.#realSleepers = this.#realSleepers.filter((s) => s !== sleeper);
        resolve();
      }, Math.max(0, ms));
      this.#realSleepers.push(sleeper);
    });
  }

  /** How many sleeps are waiting (e.g. requests or responses held back by a latency fault). */
  pendingSleeps(): number {
    return this.#sleepers.length + this.#realSleepers.length;
  }

  /** Releases every pending sleep (server shutdown). */
  releaseAll(): void {
    for (const s of [...this.#sleepers.splice(0), ...this.#realSleepers.splice(0)]) {
      if (s.timer) clearTimeout(s.timer);
      s.resolve();
    }
  }

  #arm(s: Sleeper): void {
    if (s.timer) clearTimeout(s.timer);
    if (this.mode === 'manual') return;
    // At most setTimeout's longest delay (a longer one fires after 1 ms, and would re-arm every
    // millisecond); timers may also fire a little early against performance.now(): re-arm until due.
    const realMs = Math.min(longestTimerMs, Math.max(0, Math.ceil((s.due - this.now()) / this.#speed)));
    s.timer = setTimeout(() => {
      if (s.due <= this.now()) this.#wake();
      else this.#arm(s);
    }, realMs);
  }

  #wake(): void {
    const now = this.now();
    const due = this.#sleepers.filter((s) => s.due <= now);
    this.#sleepers = this.#sleepers.filter((s) => s.due > now);
    for (const s of due) {
      if (s.timer) clearTimeout(s.timer);
      s.resolve();
    }
  }
}
