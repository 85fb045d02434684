import { strict as assert } from 'node:assert';
import { readLegacyEstate, parseJson } from '../../../src/import/legacy-validation.ts';
import { importEstate } from '../../../src/import/import-estate.ts';
import { legacyExamplesMissing } from '../../support/legacy.ts';
import { examplesTree, example, host, options, tree, H, L, V, S } from './support.ts';

describe('import: reading and checking the legacy files', () => {
  describe('the real legacy files', function () {
    before(function () {
      const missing = legacyExamplesMissing();
      if (missing) this.skip();
    });

    it('pass their own schemas, except where the legacy tool accepted what the schema refuses, each listed', () => {
      const read = readLegacyEstate(examplesTree());
      assert.ok(read.ok, !read.ok ? JSON.stringify(read.errors) : '');
      // The known defects of the legacy schemas (legacy-phoenix.md §9.2): icmp, docker_stacks as
      // names, step_cli, fields 911/912 and 801 leave out, the stacks file's own $schema key.
      assert.deepEqual(read.estate.deviations.map((d) => `${d.file} ${d.path}`).sort(), [
        `${L} /lxc_configs/101/features/2`,
        `${L} /lxc_configs/102/features/2`,
        `${L} /lxc_configs/801/vllm_engine_config/CacheConfig/quantization`,
        `${L} /lxc_configs/900/firewall/rules/0/proto`,
        `${L} /lxc_configs/911/portainer_role`,
        `${L} /lxc_configs/911/unprivileged`,
        `${L} /lxc_configs/912/portainer_role`,
        `${L} /lxc_configs/912/unprivileged`,
        `${S} /$schema`,
        `${V} /vms/1/docker_stacks/0`,
        `${V} /vms/2/docker_stacks/0`,
        `${V} /vms/2/docker_stacks/1`,
      ]);
      assert.ok(read.estate.deviations.every((d) => d.schemaSays.includes('.schema.json') && d.accepted.length > 20));
    });

    it('refuses a value the legacy schema forbids and the legacy tool did not accept either, naming file, path and reason', () => {
      const lxc = example(L);
      lxc.lxc_configs['103'].memory_mb = 100;
      lxc.lxc_configs['900'].firewall.rules[1].proto = 'gre';
      const t = examplesTree();
      (t.etc as Map<string, string>).set(L, JSON.stringify(lxc));
      const result = importEstate(t, options);
      assert.ok(!result.ok);
      assert.deepEqual(result.errors.map((e) => `${e.file} ${e.path}`), [`${L} /lxc_configs/103/memory_mb`, `${L} /lxc_configs/900/firewall/rules/1/proto`]);
      assert.match(result.errors[0]!.message, /must be >= 512 \(phoenix_lxc_configs\.schema\.json\)/);
      assert.match(result.errors[1]!.message, /allowed values.*"tcp", "udp"/);
    });

    it('refuses a docker_stacks entry that is neither a name nor the schema\'s object', () => {
      const vm = example(V);
      vm.vms[2].docker_stacks = [42];
      const t = examplesTree();
      (t.etc as Map<string, string>).set(V, JSON.stringify(vm));
      const result = importEstate(t, options);
      assert.ok(!result.ok);
      assert.ok(result.errors.some((e) => e.file === V && e.path === '/vms/2/docker_stacks/0'), JSON.stringify(result.errors));
    });
  });

  it('refuses a file that does not parse, with its name and the parser\'s reason, and nothing else is made', () => {
    const result = importEstate(tree({ [H]: host(), [L]: '{ "lxc_configs": { "100": { "name": "x", } } }' }), options);
    assert.ok(!result.ok);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0]!.file, L);
    assert.match(result.errors[0]!.message, /^not valid JSON: /);
  });

  it('refuses a key written twice, which jq would have resolved silently to the last one', () => {
    const parsed = parseJson(V, '{\n  "vms": [\n    { "vmid": 100, "name": "a", "name": "b" }\n  ]\n}');
    assert.ok(!parsed.ok);
    assert.match(parsed.error.message, /key appears twice .*line 3, column \d+/);
  });

  it('refuses what the importer cannot read: wrong types and missing identities, by JSON path', () => {
    const result = importEstate(tree({ [H]: host({ timezone: 7 }), [V]: { vms: [{ vmid: '1001', name: 'x' }, { name: 'y' }] } }), options);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => `${e.file} ${e.path}: ${e.message}`), [
      `${H} /timezone: must be string`,
      `${V} /vms/0/vmid: must be integer`,
      `${V} /vms/1/vmid: required, but missing`,
    ]);
  });

  it('refuses a directory without the host config, and a shipped schema that is not a schema', () => {
    const none = importEstate(tree({ [L]: { lxc_configs: {} } }), options);
    assert.ok(!none.ok);
    assert.match(none.errors[0]!.message, /--from must be the legacy etc\/ directory/);
    const badSchema = importEstate(tree({ [H]: host(), [L]: { lxc_configs: {} }, 'phoenix_lxc_configs.schema.json': { type: 'no-such-type' } }), options);
    assert.ok(!badSchema.ok);
    assert.equal(badSchema.errors[0]!.file, 'phoenix_lxc_configs.schema.json');
  });

  it('finds a schema through the file\'s $schema when it is not named after the file', () => {
    const result = importEstate(tree({
      [H]: host(),
      [L]: { $schema: '/usr/local/phoenix_hypervisor/etc/lxc.schema.json', lxc_configs: { '100': { name: 'a' } } },
      'lxc.schema.json': { type: 'object', properties: { lxc_configs: { additionalProperties: { required: ['cores'] } } } },
    }), options);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => `${e.path}: ${e.message}`), ['/lxc_configs/100/cores: required, but missing (lxc.schema.json)']);
  });

  it('refuses bad options before reading anything', () => {
    const result = importEstate(tree({}), { ...options, namespace: 'Not_A_Namespace', node: 'bad node' });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => e.file), ['--namespace', '--node']);
  });
});
