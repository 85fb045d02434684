import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { importEstate } from '../../../src/import/import-estate.ts';
import { ImportReport } from '../../../src/import/report.ts';
import { legacyExamplesMissing, leafPaths } from '../../support/legacy.ts';
import { examplesTree, host, options, runImport, tree, H } from './support.ts';

describe('import: the output directory and the report', () => {
  describe('from the real files', function () {
    before(function () {
      if (legacyExamplesMissing()) this.skip();
    });

    it('writes the same bytes on every run, with no clock or machine in them', () => {
      const first = importEstate(examplesTree(), options);
      const second = importEstate(examplesTree(), options);
      assert.ok(first.ok && second.ok);
      assert.deepEqual([...second.files], [...first.files]);
      for (const [path, text] of first.files) assert.ok(!/20\d\d-\d\d-\d\dT|\/work\/|\/tmp\//.test(text), `${path} has a timestamp or a local path`);
    });

    it('lists every object it applies, and the Namespace, in kustomization.yaml', () => {
      const imported = runImport(examplesTree());
      const kustomization = parse(imported.files.get('kustomization.yaml')!);
      const applied = imported.report.objects.filter((o) => o.applied).map((o) => o.file);
      assert.deepEqual(kustomization.resources, [...applied, 'namespace.yaml'].sort());
      assert.equal(parse(imported.files.get('namespace.yaml')!).metadata.name, 'lab');
      for (const o of imported.report.objects) {
        const object = parse(imported.files.get(o.file)!);
        assert.equal(object.metadata.name, o.name);
        assert.equal(object.metadata.namespace, o.kind === 'PhoenixHypervisor' ? undefined : 'lab');
        assert.match(object.metadata.annotations['hypervisor.phoenix.io/imported-from'], /\.json/);
      }
    });

    it('counts every leaf of every legacy file once, none of them unknown', () => {
      const imported = runImport(examplesTree());
      const t = examplesTree();
      const leaves = [...t.etc].filter(([n]) => !n.includes('.schema.')).reduce((n, [, text]) => n + leafPaths(JSON.parse(text)).length, 0)
        + [...t.files].filter(([p]) => p.endsWith('phoenix.json')).reduce((n, [, text]) => n + leafPaths(JSON.parse(text)).length, 0);
      const c = imported.report.coverage;
      assert.equal(c.fields, leaves);
      assert.equal(c.byOutcome.mapped + c.byOutcome.provisioning + c.byOutcome['host-setup'] + c.byOutcome['not-mapped'] + c.byOutcome.unknown, leaves);
      assert.equal(c.byOutcome.unknown, 0);
      const md = imported.files.get('IMPORT-REPORT.md')!;
      for (const heading of ['## Before you apply', '### Secrets to create', '## Exposed secrets: rotate', '## Needs provisioning (issue 13)', '## Host setup, for a person', '## Not mapped', '## Legacy schema deviations accepted', '## All mapped fields']) {
        assert.ok(md.includes(heading), `IMPORT-REPORT.md has no "${heading}"`);
      }
      assert.match(md, new RegExp(`\\| mapped to a manifest field \\| ${c.byOutcome.mapped} \\|`));
    });
  });

  it('lists a field it does not know as unknown, once for the whole subtree, and counts it', () => {
    const imported = runImport(tree({ [H]: host({ gpu_farm: { nodes: ['a', 'b'], size: 3 }, also: 'x', empty_list: [] }) }));
    const unknown = imported.report.entries.filter((e) => e.outcome === 'unknown').map((e) => e.path).sort();
    assert.deepEqual(unknown, ['/also', '/gpu_farm']);
    assert.equal(imported.outcome(H, '/empty_list'), 'not-mapped');
    assert.equal(imported.report.coverage.byOutcome.unknown, 4);
    assert.match(imported.files.get('IMPORT-REPORT.md')!, /## Unknown fields/);
  });

  it('accounts a subtree to its most specific entry, and a subtree with claims below it field by field', () => {
    const report = new ImportReport();
    report.notMapped('f.json', '/a', 'whole a');
    report.mapped('f.json', '/a/b', { kind: 'K', name: 'n', field: 'spec.b' });
    report.hostSetup('f.json', '/c/0', 'first c', 'do it');
    const coverage = report.account('f.json', { a: { b: { x: 1, y: 2 }, z: 3 }, c: [1, 2], d: {} });
    assert.deepEqual(coverage.byOutcome, { mapped: 2, provisioning: 0, 'host-setup': 1, 'not-mapped': 2, unknown: 1 });
    assert.deepEqual(report.entries.filter((e) => e.outcome === 'unknown').map((e) => e.path), ['/c/1']);
    assert.deepEqual(report.entries.find((e) => e.path === '/d')?.reason, 'empty: nothing to import');
  });

  it('refuses two legacy names that would become one object name, rather than write one over the other', () => {
    const result = importEstate(tree({ [H]: host(), 'phoenix_stacks_config.json': { docker_stacks: { app_x: { compose_file_path: 'a', environments: { prod: {} } }, app: { compose_file_path: 'b', environments: { x_prod: {} } } } } }), options);
    assert.ok(!result.ok);
    assert.match(result.errors[0]!.message, /two objects get this name, from phoenix_stacks_config\.json#\/docker_stacks\/app\/environments\/x_prod and from phoenix_stacks_config\.json#\/docker_stacks\/app_x\/environments\/prod/);
    assert.equal(result.errors[0]!.file, 'unassigned/stacks/app-x-prod.yaml');
  });

  it('lists a container id Proxmox does not allow instead of writing a manifest for it', () => {
    const result = importEstate(tree({ [H]: host(), 'phoenix_lxc_configs.json': { lxc_configs: { '99': { name: 'too-low', template: '/x/debian.tar.zst' } } } }), options);
    assert.ok(result.ok, 'a container id Proxmox does not allow made the import fail');
    assert.equal(result.report.objects.some((o) => o.name === 'too-low'), false);
    assert.match(result.report.entries.find((e) => e.path === '/lxc_configs/99')!.reason!, /outside Proxmox's range/);
  });
});
