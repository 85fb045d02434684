/** A `phoenix` subcommand. Commands are loaded lazily so `phoenix --help` stays fast. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full usage text shown by `phoenix <name> --help`, and after a usage error. */
  readonly usage: string;
  /** Usage for the arguments given, when a command has subcommands with their own (`sim proxmox --help`). */
  usageFor?(argv: readonly string[]): string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure the user can fix, said in one line without a stack (a missing kubeconfig or CRD). */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** Refuses any argument: for commands that take none (besides --help). */
export function noArguments(argv: readonly string[]): void {
  const [first] = argv;
  if (first !== undefined) throw new UsageError(first.startsWith('-') ? `unknown option '${first}'` : `unexpected argument '${first}'`);
}

/**
 * Reads `--flag value` arguments one at a time; a missing or malformed value is a UsageError
 * naming the flag. `for (const flag of flags)` yields each flag; `value()` and its typed
 * variants take the argument after it.
 */
export class FlagReader implements Iterable<string> {
  readonly #argv: readonly string[];
  #i = -1;

  constructor(argv: readonly string[]) {
    this.#argv = argv;
  }

  *[Symbol.iterator](): Iterator<string> {
    while (++this.#i < this.#argv.length) yield this.#argv[this.#i]!;
  }

  #flag(): string {
    return this.#argv[this.#i] ?? '';
  }

  value(): string {
    const flag = this.#flag();
    const v = this.#argv[++this.#i];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  }

  number(): number {
    const flag = this.#flag();
    const v = Number(this.value());
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`${flag} needs a non-negative number`);
    return v;
  }

  json<T>(): T {
    const flag = this.#flag();
    try {
      return JSON.parse(this.value()) as T;
    } catch {
      throw new UsageError(`${flag} needs a JSON object`);
    }
  }
}
