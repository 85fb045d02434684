import { strict as assert } from 'node:assert';
import { desiredLxcConfig, maskedEnv, mergeContainerEnv, ociImageVolume, parseContainerEnv } from '../../../src/guests/lxc-config.ts';
import { diffConfig } from '../../../src/guests/desired.ts';
import { maskSecret } from '../../../src/guests/drift-report.ts';
import { importedConfig } from '../../../src/guests/imported-config.ts';
import type { PhoenixLXCSpec } from '../../../src/api/lxc.ts';

const id = { name: 'web', owner: { uid: '11111111-2222-3333-4444-555555555555', ref: 'PhoenixLXC default/web' } };

describe('application containers: OCI archive names and the container env', () => {
  it('names the archive as pve-storage does: the last path component, unsafe characters as _, plus .tar', () => {
    assert.equal(ociImageVolume('docker.io/library/nginx:1.27', 'local'), 'local:vztmpl/nginx_1.27.tar');
    assert.equal(ociImageVolume('registry.example.com:5000/team/api-server:v2.1_rc-1', 'nfs'), 'nfs:vztmpl/api-server_v2.1_rc-1.tar');
    assert.equal(ociImageVolume('alpine:3.20', 'local'), 'local:vztmpl/alpine_3.20.tar');
  });

  it('reads and writes env as Proxmox holds it, NUL-separated', () => {
    assert.deepEqual(parseContainerEnv('PATH=/bin\0A=x=y\0\0B='), [['PATH', '/bin'], ['A', 'x=y'], ['B', '']]);
    assert.deepEqual(parseContainerEnv(undefined), []);
  });

  it('sets the spec\'s variables in place, appends new ones and keeps the image\'s own', () => {
    assert.equal(mergeContainerEnv('PATH=/bin\0PORT=80\0VERSION=1', [['PORT', '8080'], ['TOKEN', 't']]), 'PATH=/bin\0PORT=8080\0VERSION=1\0TOKEN=t');
    assert.equal(mergeContainerEnv(undefined, [['PORT', '8080']]), 'PORT=8080');
  });

  it('is no change once the container holds the spec\'s variables', () => {
    const spec = { hypervisorRef: { name: 'h' }, node: 'pve', entrypoint: '/bin/app --serve' } as PhoenixLXCSpec;
    const observed = { entrypoint: '/bin/app --serve', env: 'PATH=/bin\0PORT=8080' };
    const desired = desiredLxcConfig(spec, id, { env: [['PORT', '8080']], observedEnv: observed.env });
    assert.deepEqual(diffConfig(desired, observed).changes.filter((c) => c.key === 'env' || c.key === 'entrypoint'), []);
    const changed = desiredLxcConfig(spec, id, { env: [['PORT', '9090']], observedEnv: observed.env });
    assert.deepEqual(diffConfig(changed, observed).changes.filter((c) => c.key === 'env').map((c) => c.value), ['PATH=/bin\0PORT=9090']);
  });

  it('never shows env values in drift or imported config, only the names', () => {
    assert.equal(maskedEnv('PATH=/bin\0TOKEN=s3cret'), 'PATH=(hidden) TOKEN=(hidden)');
    assert.equal(maskSecret('env', 'TOKEN=s3cret'), 'TOKEN=(hidden)');
    assert.equal(maskSecret('env', '(unset)'), '(unset)');
    assert.deepEqual(importedConfig({ env: 'TOKEN=s3cret', cores: 2 }), { cores: '2', env: 'TOKEN=(hidden)' });
  });
});
