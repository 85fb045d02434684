// What every benchmark reports: each measured figure against its target, a plain PASS or FAIL per
// line, and a non-zero exit when any target was missed.

export interface Check {
  readonly what: string;
  readonly value: string;
  /** Omitted for figures reported for context only. */
  readonly target?: string;
  readonly ok?: boolean;
}

export class Verdict {
  readonly #checks: Check[] = [];

  /** A figure with a target: held when `ok`. */
  check(what: string, value: string, target: string, ok: boolean): void {
    this.#checks.push({ what, value, target, ok });
  }

  /** A figure reported for context, with no target. */
  note(what: string, value: string): void {
    this.#checks.push({ what, value });
  }

  get failed(): number {
    return this.#checks.filter((c) => c.ok === false).length;
  }

  /** Prints every line, then the summary; exits 1 when a target was missed. */
  finish(title: string): never {
    const width = Math.max(...this.#checks.map((c) => c.what.length));
    for (const c of this.#checks) {
      const mark = c.ok === undefined ? '    ' : c.ok ? 'PASS' : 'FAIL';
      process.stdout.write(`  ${mark}  ${c.what.padEnd(width)}  ${c.value}${c.target ? `   (target ${c.target})` : ''}\n`);
    }
    const targets = this.#checks.filter((c) => c.ok !== undefined).length;
    process.stdout.write(`${title}: ${targets - this.failed} of ${targets} targets held${this.failed ? `, ${this.failed} MISSED` : ''}\n`);
    process.exit(this.failed === 0 ? 0 : 1);
  }
}
