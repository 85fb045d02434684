import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '../../../src/import/text-diff.ts';

/** GNU diff's unified output for the same two texts, as the oracle; undefined without diff. */
function gnuDiff(before: string, after: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-diff-'));
  writeFileSync(join(dir, 'a'), before);
  writeFileSync(join(dir, 'b'), after);
  const result = spawnSync('diff', ['-u', 'a', 'b'], { cwd: dir, encoding: 'utf8' });
  if (result.error) return undefined;
  // Keep the hunks; the header lines carry file names and times.
  return result.stdout.split('\n').slice(2).join('\n');
}

const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';

describe('import: unified diff for --diff', () => {
  it('is empty for equal texts and names the file on both sides', () => {
    assert.equal(unifiedDiff('a.yaml', 'x\n', 'x\n'), '');
    assert.equal(unifiedDiff('a.yaml', 'x\n', 'y\n'), '--- a/a.yaml\n+++ b/a.yaml\n@@ -1,1 +1,1 @@\n-x\n+y\n');
  });

  it('shows a new file against /dev/null and a removed one the other way', () => {
    assert.equal(unifiedDiff('n.yaml', undefined, 'a\nb\n'), '--- /dev/null\n+++ b/n.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    assert.equal(unifiedDiff('n.yaml', 'a\n', undefined), '--- a/n.yaml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-a\n');
  });

  const cases: [string, string, string][] = [
    ['one change in the middle', lines(20, (i) => `line ${i}`), lines(20, (i) => (i === 10 ? 'changed' : `line ${i}`))],
    ['two changes far apart make two hunks', lines(30, (i) => `l${i}`), lines(30, (i) => (i === 3 || i === 25 ? `L${i}` : `l${i}`))],
    ['two changes close together make one hunk', lines(30, (i) => `l${i}`), lines(30, (i) => (i === 10 || i === 15 ? `L${i}` : `l${i}`))],
    ['insertions and deletions', lines(12, (i) => `k${i}`), lines(14, (i) => (i < 3 ? `k${i}` : i < 6 ? `new${i}` : `k${i - 2}`)).replace('k9\n', '')],
    ['a changed manifest', 'spec:\n  cores: 2\n  memory: 2G\n  networks:\n    - bridge: vmbr0\n', 'spec:\n  cores: 4\n  memory: 2G\n  networks:\n    - bridge: vmbr0\n      firewall: true\n'],
  ];
  for (const [name, before, after] of cases) {
    it(`matches GNU diff -u: ${name}`, function () {
      const expected = gnuDiff(before, after);
      if (expected === undefined) this.skip();
      const ours = unifiedDiff('f', before, after).split('\n').slice(2).join('\n');
      // GNU diff writes a hunk of one line as "-n" rather than "-n,1"; compare line counts explicitly.
      const normalise = (text: string) => text.replace(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm, (_m, a, b, c, d) => `@@ -${a},${b ?? 1} +${c},${d ?? 1} @@`);
      assert.equal(normalise(ours), normalise(expected));
    });
  }
});
