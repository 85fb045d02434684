import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { host, H, L } from './support.ts';

const phoenix = new URL('../../../bin/phoenix.js', import.meta.url).pathname;

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [phoenix, 'import', ...args], { encoding: 'utf8' });
}

/** An installed legacy tree: usr/local/phoenix_hypervisor/{etc,bin,stacks}. */
function legacyInstall(containers: Record<string, unknown>): string {
  const root = join(mkdtempSync(join(tmpdir(), 'phoenix-legacy-')), 'usr', 'local', 'phoenix_hypervisor');
  for (const d of ['etc', 'bin/lxc_setup', 'stacks/web']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc', H), JSON.stringify(host()));
  writeFileSync(join(root, 'etc', L), JSON.stringify({ lxc_configs: containers }));
  writeFileSync(join(root, 'bin', 'lxc_setup', 'phoenix_hypervisor_feature_install_base_setup.sh'), '#!/bin/bash\necho base\n');
  writeFileSync(join(root, 'stacks', 'web', 'phoenix.json'), JSON.stringify({ environments: { production: {} } }));
  return join(root, 'etc');
}

const ct = (name: string) => ({ name, template: '/tank/iso/template/cache/debian.tar.zst', storage_pool: 'tank-images', storage_size_gb: 8, features: ['base_setup'] });

describe('phoenix import (the command)', function () {
  // Each run starts Node and loads the CLI: about a second and a half, more on a busy machine.
  this.timeout(60_000);

  it('reads etc/ with bin/ and stacks/ beside it, writes the directory, and says what to read first', () => {
    const etc = legacyInstall({ '100': ct('one') });
    const out = join(mkdtempSync(join(tmpdir(), 'phoenix-out-')), 'gitops');
    const result = run('--from', etc, '--out', out, '--namespace', 'lab');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Wrote .*gitops: \d+ objects to apply/);
    assert.match(result.stdout, /Read IMPORT-REPORT\.md before applying: 1 Secrets to create/);
    for (const f of ['kustomization.yaml', 'namespace.yaml', 'hypervisor/phoenix.yaml', 'lxc/one.yaml', 'configmaps/legacy-lxc-features.yaml', 'IMPORT-REPORT.md', 'import-report.json']) assert.ok(existsSync(join(out, f)), f);
  });

  it('says how many guests need a command as root@pam once created', () => {
    const etc = legacyInstall({ '100': { ...ct('one'), mount_points: [{ host_path: '/tank/data', container_path: '/data' }] }, '101': ct('two') });
    const result = run('--from', etc, '--out', join(mkdtempSync(join(tmpdir(), 'phoenix-out-')), 'gitops'));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Read IMPORT-REPORT\.md before applying: 1 Secrets to create, 1 guest to finish with a command as root@pam once created\./);
  });

  it('--diff shows what would change and writes nothing; a re-import removes only files an import wrote', () => {
    const etc = legacyInstall({ '100': ct('one'), '101': ct('two') });
    const out = join(mkdtempSync(join(tmpdir(), 'phoenix-out-')), 'gitops');
    assert.equal(run('--from', etc, '--out', out).status, 0);
    writeFileSync(join(out, 'NOTES.md'), 'our own notes\n');
    writeFileSync(join(etc, L), JSON.stringify({ lxc_configs: { '100': { ...ct('one'), cores: 4 } } }));
    const diff = run('--from', etc, '--out', out, '--diff');
    assert.equal(diff.status, 1);
    assert.match(diff.stdout, /^--- a\/lxc\/two\.yaml\n\+\+\+ \/dev\/null$/m);
    assert.match(diff.stdout, /^\+  cores: 4$/m);
    assert.match(diff.stderr, /files would change .*changed, 1 removed/);
    assert.ok(existsSync(join(out, 'lxc', 'two.yaml')), '--diff wrote');
    assert.equal(run('--from', etc, '--out', out).status, 0);
    assert.ok(!existsSync(join(out, 'lxc', 'two.yaml')));
    assert.equal(readFileSync(join(out, 'NOTES.md'), 'utf8'), 'our own notes\n');
    assert.equal(run('--from', etc, '--out', out, '--diff').status, 0);
  });

  it('refuses to write over a file it did not write, and writes nothing', () => {
    const etc = legacyInstall({ '100': ct('one') });
    const out = mkdtempSync(join(tmpdir(), 'phoenix-out-'));
    writeFileSync(join(out, 'kustomization.yaml'), 'resources: [mine.yaml]\n');
    const result = run('--from', etc, '--out', out);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /holds files the import did not write, where it would write: kustomization\.yaml/);
    assert.ok(!existsSync(join(out, 'lxc')));
    assert.equal(readFileSync(join(out, 'kustomization.yaml'), 'utf8'), 'resources: [mine.yaml]\n');
  });

  it('refuses invalid legacy files with the file, the JSON path and the reason, and creates nothing', () => {
    const etc = legacyInstall({ '100': { ...ct('one'), cores: 'two' } });
    const out = join(mkdtempSync(join(tmpdir(), 'phoenix-out-')), 'gitops');
    const result = run('--from', etc, '--out', out);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /refused, nothing written/);
    assert.match(result.stderr, /phoenix_lxc_configs\.json \/lxc_configs\/100\/cores: must be integer/);
    assert.ok(!existsSync(out));
    rmSync(etc, { recursive: true });
    assert.match(run('--from', etc).stderr, /is not a directory/);
  });

  it('explains its options, and refuses unknown ones', () => {
    const help = spawnSync(process.execPath, [phoenix, 'import', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--from DIR/);
    const bad = run('--frm', 'x');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option --frm/);
    assert.match(run().stderr, /--from is required/);
  });
});
