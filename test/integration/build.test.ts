import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
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

  // Issue 11 (footprint): an ES import of a built-in builds its namespace from every export,
  // running its lazy getters; `node:fs` that way loads fs/promises and readline, which the
  // controller never uses. The bundle takes built-ins as CommonJS objects (scripts/build.ts).
  it('loads the controller without the parts of built-ins it never uses', () => {
    const chunk = readdirSync(join(app, 'dist/cli')).find((f) => /^controller-.*\.js$/.test(f));
    assert.ok(chunk, 'no controller chunk in the bundle');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
      await import(${JSON.stringify(join(app, 'dist/cli', chunk))});
      process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => /internal\\/fs\\/promises|readline/.test(m))));
    `], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), []);
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
