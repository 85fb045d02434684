import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';

const phoenix = new URL('../../bin/phoenix.js', import.meta.url).pathname;

describe('phoenix CLI', () => {
  it('lists its commands with --help', () => {
    const out = execFileSync(process.execPath, [phoenix, '--help'], { encoding: 'utf8' });
    assert.match(out, /Usage: phoenix <command>/);
    assert.match(out, /^\s+version\s/m);
  });

  it('prints the version and API group', () => {
    const out = JSON.parse(execFileSync(process.execPath, [phoenix, 'version', '--json'], { encoding: 'utf8' }));
    assert.equal(out.api, 'hypervisor.phoenix.io/v1alpha1');
    assert.match(out.phoenix, /^\d+\.\d+\.\d+/);
  });

  it('refuses an unknown command with exit code 2', () => {
    const result = spawnSync(process.execPath, [phoenix, 'no-such-command'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command 'no-such-command'/);
  });
});
