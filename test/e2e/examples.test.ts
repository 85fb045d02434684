import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { startPhoenix, waitReady, type PhoenixEnv } from '../support/phoenix.ts';
import { kubectl } from '../support/kubectl.ts';
import { seedExamplesHost } from '../support/hosts.ts';
import { diffConfig } from '../../src/guests/desired.ts';
import { lxcAdapter, vmAdapter } from '../../src/controllers/guests/adapter.ts';
import { desiredRule, observedRule, optionChanges, planRules } from '../../src/guests/firewall.ts';
import type { GuestConfig } from '../../src/controllers/guests/guest-api.ts';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const guestFiles = ['10-lxc-golden-chain.yaml', '11-lxc-step-ca.yaml', '20-vm-cloud-template.yaml', '21-vm-docker-host.yaml'];

describe('examples/ converge against the simulator, field by field', function () {
  this.timeout(5 * 60_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-examples',
      hypervisor: 'pve',
      seed: seedExamplesHost,
    });
  });

  after(async () => env?.stop());

  const objects = () =>
    guestFiles.flatMap((file) =>
      parseAllDocuments(readFileSync(`${examples}${file}`, 'utf8')).map((d) => d.toJS()).filter((o: { kind: string }) => o.kind === 'PhoenixLXC' || o.kind === 'PhoenixVM'),
    ) as { kind: 'PhoenixLXC' | 'PhoenixVM'; metadata: { name: string } }[];

  it('applies the guest examples with kubectl and every one becomes Ready', async () => {
    for (const file of guestFiles) await kubectl(env.cluster.kubeconfigPath, ['apply', '-n', env.namespace, '-f', `${examples}${file}`]);
    for (const o of objects()) await waitReady(env, o.kind === 'PhoenixLXC' ? 'phoenixlxcs' : 'phoenixvms', o.metadata.name, 4 * 60_000);
  });

  it('leaves each guest exactly as its manifest says: config, disks, firewall, power', async () => {
    for (const o of objects()) {
      const plural = o.kind === 'PhoenixLXC' ? 'phoenixlxcs' : 'phoenixvms';
      const live = (await env.custom.getNamespacedCustomObject({ group: 'hypervisor.phoenix.io', version: 'v1alpha1', plural, namespace: env.namespace, name: o.metadata.name })) as any;
      const guest = env.sim.admin.guest(live.status.vmid);
      assert.ok(guest, `${o.metadata.name}: no guest ${live.status.vmid}`);
      const config = guest.config as GuestConfig;
      const identity = { name: live.metadata.name, owner: { uid: live.metadata.uid, ref: '' } };
      const desired = o.kind === 'PhoenixLXC' ? lxcAdapter.desired(live, identity, new Map(), config) : vmAdapter.desired(live, identity, new Map([['drphoenix-cloud-init/password', 'x']]), config);
      const diff = diffConfig(desired, config);
      assert.deepEqual(diff.changes.filter((c) => c.key !== 'description' && c.key !== 'cipassword'), [], `${o.metadata.name}: config differs`);
      assert.deepEqual([diff.resizes, diff.shrinks], [[], []], `${o.metadata.name}: disk sizes differ`);
      const firewall = live.spec.firewall;
      if (firewall) {
        assert.deepEqual(optionChanges(firewall, guest.firewall.options), {}, `${o.metadata.name}: firewall options differ`);
        assert.deepEqual(planRules((firewall.rules ?? []).map(desiredRule), guest.firewall.rules.map(observedRule)), [], `${o.metadata.name}: firewall rules differ`);
      }
      const wantRunning = !live.spec.template && (live.spec.powerState ?? 'Running') === 'Running';
      assert.equal(guest.status, wantRunning ? 'running' : 'stopped', `${o.metadata.name}: power state`);
      if (live.spec.template) assert.equal(String(config['template']), '1');
      if (live.spec.pool) assert.ok(env.sim.simulator.state.pools.find((p) => p.poolid === live.spec.pool)?.members.some((m) => m.endsWith(`/${live.status.vmid}`)), `${o.metadata.name}: not in pool ${live.spec.pool}`);
    }
  });
});
