import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { Kubeconfig, NeedsPluginError } from '../../../src/runtime/kubeconfig.ts';

function kubeconfig(user: string, cluster = 'server: https://10.0.0.1:6443\n    certificate-authority: ca.crt'): string {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-kc-'));
  writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
  writeFileSync(join(dir, 'token'), 'first-token\n');
  const file = join(dir, 'config');
  writeFileSync(file, `apiVersion: v1
kind: Config
current-context: b
contexts:
- name: a
  context: {cluster: other, user: other}
- name: b
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster:
    ${cluster}
users:
- name: u
  user:
    ${user}
`);
  return file;
}

describe('runtime: reading a kubeconfig without client-node', () => {
  it('uses the current context: its server, a CA file relative to the kubeconfig, a client certificate from data', async () => {
    const kc = Kubeconfig.fromFile(kubeconfig(`client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}`));
    assert.deepEqual(kc.getCurrentCluster(), { server: 'https://10.0.0.1:6443' });
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    assert.equal(String(options.ca), 'CA PEM');
    assert.equal(String(options.cert), 'CERT');
    assert.equal(String(options.key), 'KEY');
    assert.equal(options.headers, undefined);
  });

  it('reads a token file again each time, so a rotated token is used', async () => {
    const file = kubeconfig('tokenFile: token');
    const kc = Kubeconfig.fromFile(file);
    const first: RequestOptions = {};
    await kc.applyToHTTPSOptions(first);
    assert.deepEqual(first.headers, { Authorization: 'Bearer first-token' });
    writeFileSync(join(file, '..', 'token'), 'second-token');
    const second: RequestOptions = {};
    await kc.applyToHTTPSOptions(second);
    assert.deepEqual(second.headers, { Authorization: 'Bearer second-token' });
  });

  it('names a user with a credential plugin, so the caller can hand it to client-node', () => {
    assert.throws(() => Kubeconfig.fromFile(kubeconfig('exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}')), NeedsPluginError);
  });

  it('refuses to send credentials over plain HTTP unless TLS checks are waived', async () => {
    const plain = Kubeconfig.fromFile(kubeconfig('token: abc', 'server: http://127.0.0.1:8080'));
    await assert.rejects(plain.applyToHTTPSOptions({}), /HTTP protocol is not allowed/);
    const waived = Kubeconfig.fromFile(kubeconfig('token: abc', 'server: http://127.0.0.1:8080\n    insecure-skip-tls-verify: true'));
    const options: RequestOptions = {};
    await waived.applyToHTTPSOptions(options);
    assert.equal(options.rejectUnauthorized, false);
  });
});
