import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { testCluster } from '../../support/cluster.ts';
import { installPhoenixCrds, apiErrorMessage } from '../../support/crds.ts';
import { kindByName } from '../../../src/api/kinds.ts';
import { apiGroup, apiVersion } from '../../../src/api/group.ts';
import { lxc, vm, stack, hypervisor, type Manifest } from './fixtures.ts';

const namespace = 'admission-test';

interface Refusal {
  readonly title: string;
  readonly manifest: Manifest;
  /** The field the API server must name, and words of its message. */
  readonly field: string;
  readonly text: string;
}

function mutate(manifest: Manifest, change: (spec: Record<string, any>) => void): Manifest {
  const copy = structuredClone(manifest);
  change(copy.spec);
  return copy;
}

let n = 0;
const named = (m: () => Manifest) => m;
const L = named(() => lxc(`bad-lxc-${n++}`));
const V = named(() => vm(`bad-vm-${n++}`));
const S = named(() => stack(`bad-stack-${n++}`));
const H = named(() => hypervisor(`bad-hv-${n++}`));

const refusedAtCreate: Refusal[] = [
  { title: 'a guest without hypervisorRef', manifest: mutate(L(), (s) => delete s.hypervisorRef), field: 'spec.hypervisorRef', text: 'Required value' },
  { title: 'a guest without node', manifest: mutate(L(), (s) => delete s.node), field: 'spec.node', text: 'Required value' },
  { title: 'a guest with both source and adopt', manifest: mutate(L(), (s) => (s.adopt = { vmid: 120 })), field: 'spec', text: 'exactly one of source or adopt is required' },
  { title: 'a guest with neither source nor adopt', manifest: mutate(L(), (s) => delete s.source), field: 'spec', text: 'exactly one of source or adopt is required' },
  { title: 'an LXC with two sources', manifest: mutate(L(), (s) => (s.source.clone = { vmid: 900 })), field: 'spec.source', text: 'exactly one of osTemplate, clone or ociImage' },
  { title: 'a clone naming both vmid and lxcRef', manifest: mutate(L(), (s) => (s.source = { clone: { vmid: 900, lxcRef: { name: 'base' } } })), field: 'spec.source.clone', text: 'exactly one of vmid or lxcRef' },
  { title: 'a linked clone with a target storage', manifest: mutate(L(), (s) => (s.source = { clone: { vmid: 900, full: false, storage: 'local-lvm' } })), field: 'spec.source.clone.storage', text: 'storage applies to full clones only' },
  { title: 'a VMID below 100', manifest: mutate(L(), (s) => (s.vmid = 99)), field: 'spec.vmid', text: 'greater than or equal to 100' },
  { title: 'a size with a decimal unit', manifest: mutate(L(), (s) => (s.rootDisk.size = '8GB')), field: 'spec.rootDisk.size', text: 'must be a Proxmox size' },
  { title: 'memory that is not a size', manifest: mutate(L(), (s) => (s.memory = 'lots')), field: 'spec.memory', text: 'must be a Proxmox size' },
  { title: 'a malformed MAC', manifest: mutate(L(), (s) => (s.networks[0].mac = '52:54:00:zz:00:01')), field: 'spec.networks[0].mac', text: 'must be a unicast MAC address' },
  { title: 'a multicast MAC', manifest: mutate(L(), (s) => (s.networks[0].mac = '01:00:5e:00:00:01')), field: 'spec.networks[0].mac', text: 'must be a unicast MAC address' },
  { title: 'an IPv4 address out of range', manifest: mutate(L(), (s) => (s.networks[0].ipv4 = '10.0.0.300/24')), field: 'spec.networks[0].ipv4', text: 'IPv4 address in CIDR form' },
  { title: 'an IPv4 address without a prefix', manifest: mutate(L(), (s) => (s.networks[0].ipv4 = '10.0.0.5')), field: 'spec.networks[0].ipv4', text: 'IPv4 address in CIDR form' },
  { title: 'a gateway with DHCP', manifest: mutate(L(), (s) => (s.networks[0].ipv4 = 'dhcp')), field: 'spec.networks[0].gatewayV4', text: 'gatewayV4 needs a static ipv4' },
  { title: 'a gateway outside the subnet', manifest: mutate(L(), (s) => (s.networks[0].gatewayV4 = '192.168.1.1')), field: 'spec.networks[0].gatewayV4', text: 'must lie inside the ipv4 subnet' },
  { title: 'a tag Proxmox would refuse', manifest: mutate(L(), (s) => (s.tags = ['web server'])), field: 'spec.tags[0]', text: 'must be a Proxmox tag' },
  { title: 'a duplicated tag', manifest: mutate(L(), (s) => (s.tags = ['web', 'web'])), field: 'spec.tags[1]', text: 'Duplicate value' },
  { title: 'a bridge name longer than Linux allows', manifest: mutate(L(), (s) => (s.networks[0].bridge = 'vmbr-much-too-long-name')), field: 'spec.networks[0].bridge', text: 'may not be more than 15' },
  { title: 'a VLAN tag over 4094', manifest: mutate(L(), (s) => (s.networks[0].vlan = 5000)), field: 'spec.networks[0].vlan', text: 'less than or equal to 4094' },
  { title: 'a firewall rule with an unknown action', manifest: mutate(L(), (s) => (s.firewall = { rules: [{ type: 'in', action: 'ALLOW' }] })), field: 'spec.firewall.rules[0].action', text: 'action must be ACCEPT, DROP or REJECT' },
  { title: 'a firewall port with ICMP', manifest: mutate(L(), (s) => (s.firewall = { rules: [{ type: 'in', action: 'ACCEPT', proto: 'icmp', dport: '22' }] })), field: 'spec.firewall.rules[0].dport', text: 'with an ICMP protocol, dport is an ICMP type name' },
  { title: 'a running template', manifest: mutate(L(), (s) => Object.assign(s, { template: true, powerState: 'Running' })), field: 'spec.powerState', text: 'a template cannot run' },
  { title: 'a template with snapshots', manifest: mutate(L(), (s) => Object.assign(s, { template: true, snapshots: [{ name: 'base' }] })), field: 'spec.snapshots', text: 'cannot turn a guest with snapshots into a template' },
  { title: 'a mount point with both a host path and a volume', manifest: mutate(L(), (s) => (s.mountPoints = [{ path: '/data', hostPath: '/srv/data', storage: 'local-lvm', size: '4G' }])), field: 'spec.mountPoints[0]', text: 'either hostPath, or storage and size' },
  { title: 'two mount points on one path', manifest: mutate(L(), (s) => (s.mountPoints = [{ path: '/data', hostPath: '/a' }, { path: '/data', hostPath: '/b' }])), field: 'spec.mountPoints[1]', text: 'Duplicate value' },
  { title: 'a hypervisorRef that is not a Kubernetes name', manifest: mutate(L(), (s) => (s.hypervisorRef.name = 'Bad_Name')), field: 'spec.hypervisorRef.name', text: 'should match' },
  { title: 'an unknown field', manifest: mutate(L(), (s) => (s.cpus = 4)), field: 'spec.cpus', text: 'unknown field' },
  { title: 'an unknown deletion policy', manifest: mutate(L(), (s) => (s.deletionPolicy = 'Destroy')), field: 'spec.deletionPolicy', text: 'Unsupported value' },
  { title: 'adoption by both vmid and name', manifest: mutate(L(), (s) => { delete s.source; s.adopt = { vmid: 120, name: 'web' }; }), field: 'spec.adopt', text: 'exactly one of vmid or name' },
  { title: 'a VM with two sources', manifest: mutate(V(), (s) => (s.source.blank = {})), field: 'spec.source', text: 'exactly one of clone, cloudImage or blank' },
  { title: 'a VM disk on a slot that does not exist', manifest: mutate(V(), (s) => (s.disks = [{ slot: 'scsi31', size: '8G' }])), field: 'spec.disks[0].slot', text: 'should match' },
  { title: 'an EFI disk without OVMF', manifest: mutate(V(), (s) => (s.efiDisk = { storage: 'local-lvm' })), field: 'spec.efiDisk', text: 'efiDisk needs bios: ovmf' },
  { title: 'a cloud image from both a URL and a volume', manifest: mutate(V(), (s) => (s.source = { cloudImage: { storage: 'local-lvm', url: 'https://example.com/a.img', volume: 'local:import/a.qcow2' } })), field: 'spec.source.cloudImage', text: 'exactly one of url or volume' },
  { title: 'PCIe passthrough without q35', manifest: mutate(V(), (s) => (s.pciDevices = [{ host: '0000:01:00.0', pcie: true }])), field: 'spec.pciDevices', text: 'PCIe passthrough needs machine: q35' },
  { title: 'an unknown NIC model', manifest: mutate(V(), (s) => (s.networks[0].model = 'ne2k')), field: 'spec.networks[0].model', text: 'Unsupported value' },
  { title: 'VM provisioning without the guest agent', manifest: mutate(V(), (s) => (s.provision = [{ name: 'base', script: { inline: 'true' } }])), field: 'spec.agent', text: 'run through the QEMU guest agent' },
  { title: 'a health check on a VM whose agent is off', manifest: mutate(V(), (s) => Object.assign(s, { agent: { enabled: false }, healthChecks: [{ name: 'up', exec: { command: 'true' } }] })), field: 'spec.agent', text: 'run through the QEMU guest agent' },
  { title: 'a snapshot on a template (Proxmox refuses to convert a guest with snapshots)', manifest: mutate(V(), (s) => Object.assign(s, { agent: { enabled: true }, template: true, provision: [{ name: 'base', script: { inline: 'true' } }], snapshots: [{ name: 'final-form' }] })), field: 'spec.snapshots', text: 'Proxmox cannot turn a guest with snapshots into a template' },
  { title: 'a snapshot taken at an unknown time', manifest: mutate(V(), (s) => (s.snapshots = [{ name: 'pre', when: 'BeforeBoot' }])), field: 'spec.snapshots[0].when', text: 'Unsupported value' },
  { title: 'a step script from two places', manifest: mutate(L(), (s) => (s.provision = [{ name: 'base', script: { inline: 'true', configMapKeyRef: { name: 'scripts', key: 'base.sh' } } }])), field: 'spec.provision[0].script', text: 'exactly one of inline, configMapKeyRef or secretKeyRef' },
  { title: 'two steps of one name', manifest: mutate(L(), (s) => (s.provision = [{ name: 'base', script: { inline: 'true' } }, { name: 'base', script: { inline: 'false' } }])), field: 'spec.provision[1]', text: 'Duplicate value' },
  { title: 'a step file path climbing out with ..', manifest: mutate(L(), (s) => (s.provision = [{ name: 'base', script: { inline: 'true' }, files: [{ path: '/etc/../root/x', source: { configMapKeyRef: { name: 'c', key: 'k' } } }] }])), field: 'spec.provision[0].files[0].path', text: 'without .. components' },
  { title: 'a step variable with a value and a Secret', manifest: mutate(L(), (s) => (s.provision = [{ name: 'base', script: { inline: 'true' }, env: [{ name: 'A', value: '1', secretKeyRef: { name: 's', key: 'k' } }] }])), field: 'spec.provision[0].env[0]', text: 'exactly one of value or secretKeyRef' },
  { title: 'a relative interpreter', manifest: mutate(L(), (s) => (s.provision = [{ name: 'base', script: { inline: 'true' }, interpreter: 'bash' }])), field: 'spec.provision[0].interpreter', text: 'should match' },
  { title: 'a health check without a command', manifest: mutate(L(), (s) => (s.healthChecks = [{ name: 'up' }])), field: 'spec.healthChecks[0]', text: 'a health check takes exactly one of exec, http or tcp' },
  { title: 'a stack with two compose sources', manifest: mutate(S(), (s) => (s.compose.git = { url: 'https://example.com/r.git' })), field: 'spec.compose', text: 'exactly one of inline, configMapRef or git' },
  { title: 'a stack variable with a value and a reference', manifest: mutate(S(), (s) => (s.env = [{ name: 'A', value: '1', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }])), field: 'spec.env[0]', text: 'exactly one of value or valueFrom' },
  { title: 'a stack name Docker would refuse', manifest: mutate(S(), (s) => (s.stackName = 'My Stack')), field: 'spec.stackName', text: 'should match' },
  { title: 'a hypervisor URL without a scheme', manifest: mutate(H(), (s) => (s.proxmox.url = 'pve.example.com:8006')), field: 'spec.proxmox.url', text: 'should match' },
  { title: 'a CA bundle together with insecure TLS', manifest: mutate(H(), (s) => Object.assign(s.proxmox, { caBundle: 'x', insecureSkipTLSVerify: true })), field: 'spec.proxmox.insecureSkipTLSVerify', text: 'exclude each other' },
  { title: 'a token reference without a namespace', manifest: mutate(H(), (s) => delete s.proxmox.tokenSecretRef.namespace), field: 'spec.proxmox.tokenSecretRef.namespace', text: 'Required value' },
  { title: 'an inverted VMID range', manifest: mutate(H(), (s) => (s.vmidRange = { min: 500, max: 200 })), field: 'spec.vmidRange', text: 'min must not exceed max' },
  { title: 'an NFS storage without a server', manifest: mutate(H(), (s) => (s.storages = [{ id: 'nfs1', type: 'nfs', export: '/x', content: ['images'] }])), field: 'spec.storages[0].server', text: 'nfs storages need server and export' },
  { title: 'a ZFS mirror of one disk', manifest: mutate(H(), (s) => (s.nodes = [{ name: 'pve1', zfsPools: [{ name: 'tank', raidLevel: 'mirror', devices: ['/dev/disk/by-id/a'] }] }])), field: 'spec.nodes[0].zfsPools[0].devices', text: 'a mirror needs at least two devices' },
  { title: 'a permission granted to nobody', manifest: mutate(H(), (s) => (s.acls = [{ path: '/', role: 'Administrator' }])), field: 'spec.acls[0]', text: 'needs at least one of users, groups or tokens' },
  { title: 'a Proxmox password for a PAM user', manifest: mutate(H(), (s) => (s.users = [{ userid: 'root@pam', passwordSecretRef: { name: 'p', namespace: 'phoenix-system' } }])), field: 'spec.users[0].passwordSecretRef', text: 'only pve-realm users' },
  { title: 'four DNS servers on a node', manifest: mutate(H(), (s) => (s.nodes = [{ name: 'pve1', dns: { searchDomain: 'lan', servers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4'] } }])), field: 'spec.nodes[0].dns.servers', text: 'Too many' },
];

interface RefusedUpdate {
  readonly title: string;
  readonly manifest: Manifest;
  readonly change: (spec: Record<string, any>) => void;
  readonly field: string;
  readonly text: string;
}

const refusedOnUpdate: RefusedUpdate[] = [
  { title: 'changing a set vmid', manifest: mutate(L(), (s) => (s.vmid = 150)), change: (s) => (s.vmid = 151), field: 'spec.vmid', text: 'vmid is immutable once set' },
  { title: 'removing a set vmid', manifest: mutate(L(), (s) => (s.vmid = 152)), change: (s) => delete s.vmid, field: 'spec.vmid', text: 'vmid is immutable once set' },
  { title: 'shrinking the root disk', manifest: mutate(L(), (s) => (s.rootDisk.size = '16G')), change: (s) => (s.rootDisk.size = '15G'), field: 'spec.rootDisk.size', text: 'disks can only grow' },
  { title: 'shrinking a mount point', manifest: mutate(L(), (s) => (s.mountPoints = [{ path: '/data', storage: 'local-lvm', size: '1T' }])), change: (s) => (s.mountPoints[0].size = '1000G'), field: 'spec.mountPoints[0].size', text: 'disks can only grow' },
  { title: 'shrinking a VM disk', manifest: V(), change: (s) => (s.disks[0].size = '31G'), field: 'spec.disks[0].size', text: 'disks can only grow' },
  { title: 'changing the source', manifest: L(), change: (s) => (s.source.osTemplate.volume = 'local:vztmpl/other.tar.zst'), field: 'spec.source', text: 'source is immutable' },
  { title: 'flipping unprivileged', manifest: L(), change: (s) => (s.unprivileged = false), field: 'spec.unprivileged', text: 'unprivileged is immutable once set' },
  { title: 'turning a template back into a guest', manifest: mutate(L(), (s) => (s.template = true)), change: (s) => (s.template = false), field: 'spec.template', text: 'cannot be turned back' },
  { title: 'moving to another hypervisor', manifest: L(), change: (s) => (s.hypervisorRef.name = 'pve2'), field: 'spec.hypervisorRef', text: 'hypervisorRef is immutable' },
  { title: 'moving the root disk to another storage', manifest: L(), change: (s) => (s.rootDisk.storage = 'zfs'), field: 'spec.rootDisk.storage', text: 'rootDisk.storage is immutable' },
];

describe('API admission: the API server refuses bad manifests with field-level messages', function () {
  let custom: k8s.CustomObjectsApi;

  before(async function () {
    this.timeout(30 * 60_000);
    const cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  });

  after(async () => {
    // Leave no Phoenix objects behind for later suites' controllers to pick up.
    for (const plural of ['phoenixlxcs', 'phoenixvms', 'phoenixstacks']) {
      await custom.deleteCollectionNamespacedCustomObject({ group: apiGroup, version: apiVersion, plural, namespace }).catch(() => undefined);
    }
    const hvs = (await custom.listClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors' })) as { items: { metadata: { name: string } }[] };
    for (const hv of hvs.items.filter((h) => h.metadata.name.includes('-hv'))) {
      await custom.deleteClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors', name: hv.metadata.name }).catch(() => undefined);
    }
  });

  function target(manifest: Manifest) {
    const def = kindByName(manifest.kind);
    return { group: apiGroup, version: apiVersion, plural: def.plural, cluster: def.scope === 'Cluster' };
  }

  async function create(manifest: Manifest): Promise<any> {
    const t = target(manifest);
    // Strict field validation, as kubectl applies by default: unknown fields are errors, not silently pruned.
    return t.cluster
      ? custom.createClusterCustomObject({ ...t, body: manifest, fieldValidation: 'Strict' })
      : custom.createNamespacedCustomObject({ ...t, namespace, body: manifest, fieldValidation: 'Strict' });
  }

  async function replace(manifest: Manifest & { metadata: { resourceVersion?: string } }): Promise<any> {
    const t = target(manifest);
    const name = manifest.metadata.name;
    return t.cluster
      ? custom.replaceClusterCustomObject({ ...t, name, body: manifest, fieldValidation: 'Strict' })
      : custom.replaceNamespacedCustomObject({ ...t, namespace, name, body: manifest, fieldValidation: 'Strict' });
  }

  async function assertRefused(action: Promise<unknown>, field: string, text: string): Promise<void> {
    let message: string | undefined;
    let code: number | undefined;
    try {
      await action;
    } catch (err) {
      ({ code, message } = apiErrorMessage(err));
    }
    assert.ok(message !== undefined, 'the API server accepted it');
    assert.ok(code === 422 || code === 400, `expected 422 or 400, got ${code}: ${message}`);
    assert.ok(message.includes(field), `message does not name ${field}: ${message}`);
    assert.ok(message.includes(text), `message does not say "${text}": ${message}`);
  }

  it('accepts each fixture as written (so every refusal below is caused by its one change)', async () => {
    for (const manifest of [lxc('valid-lxc'), vm('valid-vm'), stack('valid-stack'), hypervisor('valid-hv')]) {
      await create(manifest);
    }
  });

  it('accepts a provisioned template, and snapshots placed before and after provisioning', async () => {
    const step = { name: 'base', script: { inline: 'apt-get install -y curl\n' } };
    await create(mutate(vm('provisioned-template'), (s) => Object.assign(s, { agent: { enabled: true }, template: true, provision: [step], healthChecks: [{ name: 'curl', exec: { command: 'command -v curl' } }] })));
    // Stopped is a template's state once converted; it still runs for its steps before that.
    await create(mutate(vm('stopped-template'), (s) => Object.assign(s, { agent: { enabled: true }, template: true, powerState: 'Stopped', provision: [step] })));
    // A guest kept Stopped is started for its steps and shut down again once they are done.
    await create(mutate(lxc('stopped-provisioned'), (s) => Object.assign(s, { powerState: 'Stopped', provision: [step], healthChecks: [{ name: 'curl', exec: { command: 'command -v curl' } }] })));
    const created = await create(mutate(vm('golden-source'), (s) => Object.assign(s, { agent: { enabled: true }, provision: [step], snapshots: [{ name: 'pre-provision', when: 'BeforeProvisioning' }, { name: 'final-form' }] })));
    // The default is the one an operator means by a snapshot of a provisioned guest: after it.
    assert.deepEqual(created.spec.snapshots.map((x: { when: string }) => x.when), ['BeforeProvisioning', 'AfterProvisioning']);
  });

  it('accepts a VM with every provisioning and health-check field', async () => {
    const manifest = mutate(vm('provisioned-vm'), (s) => Object.assign(s, {
      agent: { enabled: true },
      provision: [
        { name: 'base', script: { configMapKeyRef: { name: 'scripts', key: 'base.sh' } }, interpreter: '/bin/bash', user: 'root', timeout: '45m' },
        {
          name: 'app',
          script: { secretKeyRef: { name: 'app', key: 'install.sh' } },
          files: [{ path: '/etc/app/token', source: { secretKeyRef: { name: 'app', key: 'token' } }, mode: '0600', owner: 'app:app' }, { path: '/etc/app/app.conf', source: { configMapKeyRef: { name: 'app', key: 'conf' } } }],
          env: [{ name: 'MODE', value: 'prod' }, { name: 'TOKEN', secretKeyRef: { name: 'app', key: 'token' } }],
        },
      ],
      healthChecks: [{ name: 'http', exec: { command: 'curl -fsS http://127.0.0.1:8080/' }, period: '30s', timeout: '5s', failureThreshold: 3, successThreshold: 1 }],
    }));
    await create(manifest);
  });

  it(`has at least 25 refusals in its table (${refusedAtCreate.length} at create, ${refusedOnUpdate.length} on update)`, () => {
    assert.ok(refusedAtCreate.length + refusedOnUpdate.length >= 25);
  });

  describe('refused at create', () => {
    for (const c of refusedAtCreate) {
      it(`refuses ${c.title} (${c.field})`, async () => {
        await assertRefused(create(c.manifest), c.field, c.text);
      });
    }
  });

  describe('refused on update', () => {
    for (const c of refusedOnUpdate) {
      it(`refuses ${c.title} (${c.field})`, async () => {
        const created = await create(c.manifest);
        const changed = structuredClone(created);
        c.change(changed.spec);
        await assertRefused(replace(changed), c.field, c.text);
      });
    }
  });

  it('lets disks grow, also across units (16G to 16384M is no change; to 20G is growth)', async () => {
    const created = await create(mutate(lxc('grows'), (s) => (s.rootDisk.size = '16G')));
    const same = structuredClone(created);
    same.spec.rootDisk.size = '16384M';
    const updated = await replace(same);
    const grown = structuredClone(updated);
    grown.spec.rootDisk.size = '20G';
    const result = await replace(grown);
    assert.equal(result.spec.rootDisk.size, '20G');
  });

  it('applies API-server defaults (unprivileged, managementPolicy, restartPolicy)', async () => {
    const created = await create(lxc('defaults'));
    assert.equal(created.spec.unprivileged, true);
    assert.equal(created.spec.managementPolicy, 'Manage');
    assert.equal(created.spec.restartPolicy, 'Never');
    assert.equal(created.spec.missingPolicy, 'Report');
  });
});
