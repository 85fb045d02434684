/** A `phoenix` subcommand. Commands are loaded lazily so `phoenix --help` stays fast. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full usage text shown by `phoenix <name> --help`. */
  readonly usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
