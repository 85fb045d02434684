import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('production build (the container image layout)', function () {
  this.timeout(120_000);
  let app: string;

  before(() => {
    // Laid out as the Dockerfile lays out /app: package.json, dist/, bin/, node_modules/.
    app = mkdtempSync(join(tmpdir(), 'phoenix-image-'));
    execFileSync(process.execPath, [join(root, 'scripts/build.ts'), join(app, 'dist')], { stdio: 'inherit' });
    cpSync(join(root, 'package.json'), join(app, 'package.json'));
    cpSync(join(root, 'bin'), join(app, 'bin'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
  });

  after(() => rmSync(app, { recursive: true, force: true }));

  it('runs the bundled CLI, not the TypeScript sources', () => {
    const out = execFileSync(process.execPath, ['--no-experimental-strip-types', join(app, 'bin/phoenix.js'), 'version', '--json'], { encoding: 'utf8' });
    assert.equal(JSON.parse(out).api, 'hypervisor.phoenix.io/v1alpha1');
  });

  it('loads every subcommand from the bundle', () => {
    const help = execFileSync(process.execPath, ['--no-experimental-strip-types', join(app, 'bin/phoenix.js'), '--help'], { encoding: 'utf8' });
    const names = [...help.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1] ?? '');
    assert.ok(names.length >= 2);
    for (const name of names) {
      execFileSync(process.execPath, ['--no-experimental-strip-types', join(app, 'bin/phoenix.js'), name, '--help'], { encoding: 'utf8' });
    }
  });
});
