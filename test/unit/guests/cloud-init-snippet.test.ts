import { strict as assert } from 'node:assert';
import type { PhoenixVMSpec } from '../../../src/api/vm.ts';
import { cicustomUser, snippetFor, snippetPath, snippetStorage } from '../../../src/guests/cloud-init-snippet.ts';
import { desiredVmConfig } from '../../../src/guests/vm-config.ts';
import { diffConfig } from '../../../src/guests/desired.ts';

const id = { name: 'web', owner: { uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', ref: 'PhoenixVM apps/web' } };
const userData = '#cloud-config\npackages: [nginx]\n';

describe('cloud-init user-data snippets (naming, storage, cicustom)', () => {
  it('names the file after the object and a digest of the content, never the content itself', () => {
    const snippet = snippetFor('apps', 'web', 'local', userData);
    // sha256('#cloud-config\npackages: [nginx]\n'), first 16 hex digits (computed with sha256sum).
    assert.deepEqual(snippet, { storage: 'local', file: 'phoenix-apps-web-fb22a7db4937e16d.yaml', volume: 'local:snippets/phoenix-apps-web-fb22a7db4937e16d.yaml' });
    assert.equal(snippetFor('apps', 'web', 'local', userData).file, snippet.file);
    assert.notEqual(snippetFor('apps', 'web', 'local', `${userData}runcmd: [true]\n`).file, snippet.file);
    assert.notEqual(snippetFor('apps', 'web2', 'local', userData).file, snippet.file);
    assert.equal(snippetPath('/var/lib/vz/', snippet), '/var/lib/vz/snippets/phoenix-apps-web-fb22a7db4937e16d.yaml');
  });

  it('accepts only a storage with snippets content and a path', () => {
    assert.deepEqual(snippetStorage('local', { type: 'dir', path: '/var/lib/vz', content: 'iso,vztmpl,snippets' }), { ok: true, path: '/var/lib/vz' });
    const refused = snippetStorage('local', { type: 'dir', path: '/var/lib/vz', content: 'iso,vztmpl' });
    assert.equal(refused.ok, false);
    assert.match((refused as { reason: string }).reason, /storage local does not allow snippets content \(content: iso,vztmpl\)/);
    assert.equal(snippetStorage('nfs', { type: 'nfs', content: 'snippets' }).ok, false);
  });

  it('reads the user-data volume out of cicustom', () => {
    assert.equal(cicustomUser('vendor=local:snippets/v.yaml,user=local:snippets/u.yaml'), 'local:snippets/u.yaml');
    assert.equal(cicustomUser(undefined), undefined);
  });

  it('sets cicustom user= to the uploaded volume, keeps vendor=, and leaves cicustom alone until the volume is known', () => {
    const spec: PhoenixVMSpec = {
      hypervisorRef: { name: 'pve' }, node: 'pve', source: { clone: { vmid: 9000 } },
      cloudInit: { vendorData: 'local:snippets/vendor.yaml', userDataSnippet: { storage: 'local', source: { inline: userData } } },
    };
    const observed = { cicustom: 'vendor=local:snippets/vendor.yaml' };
    const before = diffConfig(desiredVmConfig(spec, id), observed);
    assert.equal(before.changes.find((c) => c.key === 'cicustom'), undefined);
    const after = diffConfig(desiredVmConfig(spec, id, {}, 'local:snippets/phoenix-apps-web-1.yaml'), observed);
    assert.equal(after.changes.find((c) => c.key === 'cicustom')?.value, 'user=local:snippets/phoenix-apps-web-1.yaml,vendor=local:snippets/vendor.yaml');
  });
});
