/**
 * Lists that pre-flight checks read before every create (a node's bridges and storages, a
 * storage's content), shared by the creates of a burst. A list is reused for a while (by default
 * five minutes, the default observe period: a burst of clones one at a time lasts minutes) when
 * it shows what is looked for; when it does not, it is read again before anyone concludes the
 * thing is missing, so a cached list can only delay noticing a removal (which the task then
 * reports), never invent one.
 */
export class NodeFacts {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #lists = new Map<string, { readAt: number; value: Promise<unknown> }>();

  constructor(ttlMs = 5 * 60_000, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The list under `key` for which `shows` holds, from a recent read (at most `maxAgeMs` old) if it shows it, else from a fresh one. */
  async find<T>(key: string, read: () => Promise<T>, shows: (list: T) => boolean, maxAgeMs = this.#ttlMs): Promise<T> {
    const cached = this.#lists.get(key);
    if (cached && this.#now() - cached.readAt < maxAgeMs) {
      const list = (await cached.value.catch(() => undefined)) as T | undefined;
      if (list !== undefined && shows(list)) return list;
    }
    const value = read();
    const entry = { readAt: this.#now(), value };
    this.#lists.set(key, entry);
    value.catch(() => {
      if (this.#lists.get(key) === entry) this.#lists.delete(key);
    });
    return value;
  }
}
