/** What Phoenix keeps of a command's output: the last lines, with every Secret value masked. */

export const mask = '••••••';

/**
 * Replaces every occurrence of each secret value (and of each of its non-trivial lines, for a
 * multi-line Secret such as a key) with a mask. Longer values first, so a value containing
 * another is masked whole.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.trim() === '') continue;
    needles.add(secret);
    for (const line of secret.split('\n')) if (line.trim().length >= 4) needles.add(line);
  }
  let out = text;
  for (const needle of [...needles].sort((a, b) => b.length - a.length)) out = out.split(needle).join(mask);
  return out;
}

/** The last `lines` lines of `text` (no trailing newline), then cut to the last `maxChars` characters. */
export function tail(text: string, lines: number, maxChars: number): string {
  const kept = text.replace(/\n+$/, '').split('\n').slice(-lines).join('\n');
  return kept.length > maxChars ? `…${kept.slice(kept.length - maxChars + 1)}` : kept;
}

/** Masked first, then cut: a cut must never leave part of a secret unmasked. */
export function outputTail(text: string, secrets: readonly string[], lines = 20, maxChars = 2000): string {
  return tail(maskSecrets(text, secrets), lines, maxChars);
}
