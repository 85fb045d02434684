import { strict as assert } from 'node:assert';
import { containerMissing, containerNotRunning, pctExecLine, pctPushLine, shellQuote } from '../../../src/provision/pct.ts';
import { execFileSync } from 'node:child_process';
import { shellWords } from '../../../src/sim/proxmox/ssh.ts';

/** The words a real POSIX shell makes of a line. */
const shSplit = (line: string): string[] => execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${line}`]).toString('utf8').split('\0').slice(0, -1);

describe('pct command lines for the container transport', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    assert.equal(shellQuote('/var/lib/phoenix/steps/base'), '/var/lib/phoenix/steps/base');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(rm -rf /); `x` | y > z'), "'$(rm -rf /); `x` | y > z'");
  });

  it('builds pct exec with the command after --, through sudo -n when asked', () => {
    assert.equal(pctExecLine(101, ['/bin/sh', '-c', 'test -f /etc/app/token'], false), "pct exec 101 -- /bin/sh -c 'test -f /etc/app/token'");
    assert.equal(pctExecLine(101, ['true'], true), 'sudo -n pct exec 101 -- true');
    assert.throws(() => pctExecLine(101, [], false), /needs a command/);
    assert.throws(() => pctExecLine(7, ['true'], false), /not a VMID/);
  });

  it('builds pct push with perms, user and group', () => {
    assert.equal(pctPushLine(200, '/tmp/.phoenix-push-1', '/etc/my app/conf', { perms: '0600', user: '0', group: '0' }, true), "sudo -n pct push 200 /tmp/.phoenix-push-1 '/etc/my app/conf' --perms 0600 --user 0 --group 0");
    assert.equal(pctPushLine(200, '/tmp/x', '/etc/x', {}, false), 'pct push 200 /tmp/x /etc/x');
  });

  it('quotes so that a POSIX shell splits the line back into the same words', () => {
    const argv = ['/bin/sh', '-c', `echo "$HOME" 'quoted' \\ ; exit 3`, '', "'", 'a\tb', 'ü€'];
    const line = pctExecLine(100, argv, false);
    assert.deepEqual(shSplit(line), ['pct', 'exec', '100', '--', ...argv]);
    // The simulated node's shell splits it as /bin/sh does.
    assert.deepEqual(shellWords(line), shSplit(line));
  });

  it('tells pct\'s refusals from a command\'s own output (pve-container pct.pm texts)', () => {
    assert.ok(containerNotRunning("container '100' not running!\n"));
    assert.ok(containerNotRunning('can only push files to a running CT\n'));
    assert.ok(!containerNotRunning("echo container '100' not running\n"));
    assert.ok(containerMissing("Configuration file 'nodes/pve/lxc/100.conf' does not exist\n"));
    assert.ok(!containerMissing("Configuration file 'nodes/pve/qemu-server/100.conf' does not exist\n"));
  });
});
