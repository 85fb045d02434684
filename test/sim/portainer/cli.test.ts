// The `phoenix sim portainer` argument parser (the runner itself blocks until SIGINT).
import assert from 'node:assert/strict';
import { parsePortainerArgs } from '../../../src/sim/portainer/cli.ts';
import { UsageError } from '../../../src/cli/command.ts';

describe('Portainer simulator: command line', () => {
  it('parses options, environments and faults', () => {
    const p = parsePortainerArgs(['--port', '0', '--seed', '4', '--version', '2.17.1', '--environment', 'vm-101=tcp://10.0.0.101:9001', '--fault', '{"kind":"error","rate":1}']);
    assert.equal(p.options.port, 0);
    assert.equal(p.options.seed, 4);
    assert.equal(p.options.version, '2.17.1');
    assert.deepEqual(p.options.environments?.map((e) => e.name), ['local', 'vm-101']);
    assert.deepEqual(p.faults, [{ kind: 'error', rate: 1 }]);
    assert.equal(p.printKey, false);
  });

  it('refuses malformed options', () => {
    assert.throws(() => parsePortainerArgs(['--environment', 'novalue']), UsageError);
    assert.throws(() => parsePortainerArgs(['--version', 'latest']), UsageError);
    assert.throws(() => parsePortainerArgs(['--bogus']), UsageError);
    assert.throws(() => parsePortainerArgs(['--port']), (err: unknown) => err instanceof UsageError && err.message === '--port needs a value');
  });
});
