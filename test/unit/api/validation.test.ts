import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { SpecValidator } from '../../../src/api/validation.ts';
import { kinds } from '../../../src/api/kinds.ts';
import type { PhoenixLXCSpec } from '../../../src/api/lxc.ts';

const examplesDir = new URL('../../../examples/', import.meta.url);

describe('SpecValidator (ajv over the CRD schemas)', () => {
  const validator = new SpecValidator();

  it('accepts every Phoenix object in examples/', () => {
    let checked = 0;
    for (const file of readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(new URL(file, examplesDir), 'utf8'))) {
        const obj = doc.toJS() as { kind: string; spec: unknown };
        if (!kinds.some((k) => k.kind === obj.kind)) continue;
        assert.deepEqual(validator.validate(obj.kind, obj.spec), [], `${file}: ${obj.kind}`);
        checked++;
      }
    }
    assert.ok(checked >= 8, `only ${checked} Phoenix objects in examples/`);
  });

  it('reports errors with Kubernetes field paths', () => {
    const spec: Partial<PhoenixLXCSpec> = {
      hypervisorRef: { name: 'pve' },
      source: { osTemplate: { volume: 'local:vztmpl/x.tar.zst' } },
      networks: [{ name: 'eth0', bridge: 'vmbr0', mac: 'not-a-mac' }],
      memory: '2GB',
    };
    const errors = validator.validate('PhoenixLXC', spec);
    const fields = errors.map((e) => e.field).sort();
    assert.deepEqual(fields, ['spec.memory', 'spec.networks[0].mac', 'spec.node']);
    assert.equal(errors.find((e) => e.field === 'spec.node')?.message, 'Required value');
  });

  it('words a refused pattern as the schema means it, not as the regular expression', () => {
    const spec = { hypervisorRef: { name: 'pve' }, node: 'pve', source: { osTemplate: { volume: 'local:vztmpl/x.tar.zst' } }, hostname: `${'a'.repeat(64)}.example.com` };
    assert.deepEqual(validator.validate('PhoenixLXC', spec), [
      { field: 'spec.hostname', message: 'must be a DNS name: dot-separated labels of letters, digits and hyphens, each at most 63 characters, neither starting nor ending with a hyphen' },
    ]);
  });

  it('holds sizes to Proxmox\'s minimums, as the CRD\'s CEL rules do: memory 16M, a volume 1M', () => {
    const spec = { hypervisorRef: { name: 'pve' }, node: 'pve', source: { osTemplate: { volume: 'local:vztmpl/x.tar.zst' } }, memory: '8M', swap: '0M', rootDisk: { size: '0G' }, mountPoints: [{ path: '/a', storage: 'local', size: '1M' }] };
    assert.deepEqual(validator.validate('PhoenixLXC', spec), [
      { field: 'spec.memory', message: 'must be at least 16M: Proxmox\'s smallest memory is 16 MiB' },
      { field: 'spec.rootDisk.size', message: 'must be at least 1M: Proxmox allocates volumes in whole MiB' },
    ]);
  });

  it('parses firewall address and port lists in full, naming the rule\'s field', () => {
    const rules = [
      { type: 'in', action: 'ACCEPT', source: '10.0.0.9-10.0.0.1' },
      { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '443,9000:8000' },
      { type: 'in', action: 'ACCEPT', source: '10.0.0.0/24,10.0.1.7/24' },
    ];
    const spec = { hypervisorRef: { name: 'pve' }, node: 'pve', source: { osTemplate: { volume: 'local:vztmpl/x.tar.zst' } }, firewall: { rules } };
    assert.deepEqual(validator.validate('PhoenixLXC', spec), [
      { field: 'spec.firewall.rules[0].source', message: 'invalid IP address: the range 10.0.0.9-10.0.0.1 ends before it starts' },
      { field: 'spec.firewall.rules[1].dport', message: "backwards range '9000:8000' not allowed, did you mean '8000:9000'?" },
      { field: 'spec.firewall.rules[2].source', message: 'invalid IP address: 10.0.1.7/24 has host bits set (Invalid prefix); the network is written with them zero' },
    ]);
  });

  it('refuses an unknown kind rather than passing it', () => {
    assert.throws(() => validator.validate('PhoenixNothing', {}), /unknown Phoenix kind/);
  });
});
