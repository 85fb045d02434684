/**
 * Splits a file's bytes into pieces that one `agent/file-write` accepts. qemu-server takes at
 * most 60 KiB of `content` ("smaller than our 64k POST limit", PVE/API2/Qemu/Agent.pm), and
 * each call opens the file with mode `wb`, so every piece is its own file and the runner joins
 * them. Pieces are sent base64-encoded (`encode=0`), so binary content survives; base64's `+`,
 * `/` and `=` grow threefold in a form body, so a piece is also cut where the encoded request
 * would pass the POST limit. Each piece is whole 4-character groups, so it decodes on its own.
 */

/** qemu-server's maxLength of `content`. */
export const maxContentChars = 60 * 1024;
/** What the form-encoded `content` may take of the 64 KiB body, leaving room for the other parameters. */
export const maxEncodedChars = 60 * 1024;

const formCost = (ch: string): number => (/[A-Za-z0-9]/.test(ch) ? 1 : 3);

export function base64Pieces(content: Buffer | string, limits = { maxContentChars, maxEncodedChars }): string[] {
  const b64 = Buffer.from(content).toString('base64');
  if (b64 === '') return [''];
  const pieces: string[] = [];
  let start = 0;
  let cost = 0;
  for (let i = 0; i < b64.length; i += 4) {
    const group = b64.slice(i, i + 4);
    const groupCost = [...group].reduce((n, ch) => n + formCost(ch), 0);
    if (i > start && (i + 4 - start > limits.maxContentChars || cost + groupCost > limits.maxEncodedChars)) {
      pieces.push(b64.slice(start, i));
      start = i;
      cost = 0;
    }
    cost += groupCost;
  }
  pieces.push(b64.slice(start));
  return pieces;
}
