import * as s from './schema.ts';
import * as c from './common.ts';
import * as fw from './firewall.ts';

const tlsFields = {
  caBundle: s.string({ description: 'PEM CA certificates to verify the server with, instead of the system trust store.', maxLength: 65536 }),
  insecureSkipTLSVerify: s.boolean({ description: 'Skip TLS verification. Off by default; only for a lab with a self-signed certificate and no CA to hand.', default: false }),
};

const tlsRules: s.CelRule[] = [
  { rule: '!(has(self.caBundle) && has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify)', message: 'caBundle and insecureSkipTLSVerify exclude each other', fieldPath: '.insecureSkipTLSVerify' },
];

const network = s.object(
  {
    name: s.string({ description: 'Interface name (`pve-iface`): `vmbr1`, `vmbr0.20`, `bond0`…', ...c.matching('pveIface'), minLength: 2, maxLength: 20 }),
    type: s.literal(['bridge', 'bond', 'vlan', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort'] as const, { description: 'Interface type.' }),
    cidr: s.string({ description: 'IPv4 address in CIDR form.', maxLength: 18, rules: [{ rule: 'isCIDR(self) && cidr(self).ip().family() == 4 && cidr(self).prefixLength() >= 8', message: 'must be an IPv4 address in CIDR form with a prefix length of 8 to 32' }] }),
    gateway: c.ipAddress('IPv4 gateway.', 4),
    cidr6: s.string({ description: 'IPv6 address in CIDR form.', maxLength: 43, rules: [{ rule: 'isCIDR(self) && cidr(self).ip().family() == 6 && cidr(self).prefixLength() >= 8', message: 'must be an IPv6 address in CIDR form with a prefix length of 8 to 128' }] }),
    gateway6: c.ipAddress('IPv6 gateway.', 6),
    bridgePorts: s.array(s.string({ description: 'A port.', pattern: c.patterns.pveIface, maxLength: 20 }), { description: 'Bridge ports.', maxItems: 32, listType: 'set' }),
    vlanAware: s.boolean({ description: 'VLAN-aware bridge.' }),
    vlanId: s.integer({ description: 'VLAN tag (type vlan).', minimum: 1, maximum: 4094 }),
    vlanRawDevice: s.string({ description: 'Parent device (type vlan).', ...c.matching('pveIface'), maxLength: 20 }),
    bondSlaves: s.array(s.string({ description: 'A slave interface.', pattern: c.patterns.pveIface, maxLength: 20 }), { description: 'Bond slaves.', maxItems: 16, listType: 'set' }),
    bondMode: s.literal(['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'] as const, { description: 'Bond mode.' }),
    mtu: s.integer({ description: 'MTU.', minimum: 1280, maximum: 65520 }),
    autostart: s.boolean({ description: 'Bring the interface up at boot.', default: true }),
    comments: s.string({ description: 'Comment.', maxLength: 1024 }),
  },
  {
    description: 'A host network interface. Phoenix stages changes and reloads the node\'s network.',
    required: ['name', 'type'],
    rules: [
      { rule: "self.type != 'vlan' || has(self.vlanId) || self.name.contains('.')", message: 'a vlan interface needs vlanId or a name such as vmbr0.20', fieldPath: '.vlanId' },
      { rule: "self.type == 'bond' || !has(self.bondSlaves)", message: 'bondSlaves apply to bonds only', fieldPath: '.bondSlaves' },
    ],
  },
);

const zfsPool = s.object(
  {
    name: s.string({ description: 'Pool name.', ...c.matching('pveStorageId'), maxLength: 64 }),
    raidLevel: s.literal(['single', 'mirror', 'raid10', 'raidz', 'raidz2', 'raidz3', 'draid', 'draid2', 'draid3'] as const, { description: 'RAID level.' }),
    devices: s.array(s.string({ description: 'A whole disk, by id: `/dev/disk/by-id/…`.', pattern: '^/dev/', maxLength: 256 }), {
      description: 'Disks to build the pool from. Proxmox refuses disks that are in use; Phoenix never wipes one.',
      minItems: 1,
      maxItems: 64,
      listType: 'set',
    }),
    compression: s.literal(['on', 'off', 'gzip', 'lz4', 'lzjb', 'zle', 'zstd'] as const, { description: 'Compression.', default: 'lz4' }),
    ashift: s.integer({ description: 'Sector size exponent.', minimum: 9, maximum: 16, default: 12 }),
    addStorage: s.boolean({ description: 'Also add a Proxmox storage of the same name.', default: false }),
  },
  {
    description: 'A ZFS pool (`/nodes/{node}/disks/zfs`). Created when missing; Phoenix never destroys or changes a pool.',
    required: ['name', 'raidLevel', 'devices'],
    rules: [
      { rule: "self.raidLevel != 'mirror' || size(self.devices) >= 2", message: 'a mirror needs at least two devices', fieldPath: '.devices' },
      { rule: "self.raidLevel != 'raid10' || (size(self.devices) >= 4 && size(self.devices) % 2 == 0)", message: 'raid10 needs an even number of devices, at least four', fieldPath: '.devices' },
      { rule: "self.raidLevel != 'single' || size(self.devices) == 1", message: 'single takes exactly one device', fieldPath: '.devices' },
    ],
  },
);

const node = s.object(
  {
    name: c.nodeName('Proxmox node name.'),
    timezone: s.string({ description: 'Time zone, such as `Europe/Berlin` (`/nodes/{node}/time`).', pattern: '^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$', maxLength: 64 }),
    zfsPools: s.array(zfsPool, { description: 'ZFS pools to create on this node.', maxItems: 16, listType: 'map', mapKeys: ['name'] }),
    dns: s.object(
      {
        servers: s.array(c.ipAddress('An IP address.'), { description: 'Up to three DNS servers.', maxItems: 3, listType: 'atomic' }),
        searchDomain: s.string({ description: 'Search domain.', ...c.matching('dnsName'), maxLength: 253 }),
      },
      { description: 'The node\'s DNS (`/nodes/{node}/dns`).', required: ['searchDomain'] },
    ),
    networks: s.array(network, { description: 'Network interfaces Phoenix manages on this node; others are left alone.', maxItems: 64, listType: 'map', mapKeys: ['name'] }),
  },
  { description: 'Configuration of one node.', required: ['name'] },
);

const storageContent = s.literal(['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'] as const, { description: 'A content type.' });

const storage = s.object(
  {
    id: c.storageId('Storage id.'),
    type: s.literal(['dir', 'nfs', 'cifs', 'zfspool', 'lvm', 'lvmthin', 'btrfs', 'rbd', 'cephfs', 'pbs', 'iscsi'] as const, { description: 'Storage type. Immutable.', rules: [c.immutable('type')] }),
    content: s.array(storageContent, { description: 'What the storage holds.', maxItems: 7, minItems: 1, listType: 'set' }),
    path: s.string({ description: 'Directory (dir, btrfs).', pattern: c.patterns.pveStoragePath, maxLength: 4096 }),
    server: s.string({
      description: 'Server (nfs, cifs, pbs): an IP address or a DNS name.',
      maxLength: 253,
      rules: [{ rule: `isIP(self) || self.matches(r'${c.patterns.dnsName}')`, message: 'must be an IP address or a DNS name (pve-storage-server)' }],
    }),
    export: s.string({ description: 'NFS export path.', pattern: c.patterns.pveStoragePath, maxLength: 4096 }),
    share: s.string({ description: 'CIFS share.', maxLength: 256 }),
    pool: s.string({ description: 'ZFS pool or Ceph pool.', maxLength: 256 }),
    vgName: s.string({ description: 'LVM volume group.', pattern: c.patterns.pveVgName, maxLength: 128 }),
    thinPool: s.string({ description: 'LVM thin pool.', pattern: c.patterns.pveVgName, maxLength: 128 }),
    nodes: s.array(c.nodeName('A node.'), { description: 'Nodes that may use it (default: all).', maxItems: 64, listType: 'set' }),
    shared: s.boolean({ description: 'The same storage is reachable from every node.' }),
    enabled: s.boolean({ description: 'Whether the storage is enabled.', default: true }),
  },
  {
    description: 'A Proxmox storage definition (`/storage`). Phoenix never removes a storage it did not create, and never wipes disks.',
    required: ['id', 'type', 'content'],
    rules: [
      { rule: "!(self.type in ['dir', 'btrfs']) || has(self.path)", message: 'dir and btrfs storages need path', fieldPath: '.path' },
      { rule: "self.type != 'nfs' || (has(self.server) && has(self.export))", message: 'nfs storages need server and export', fieldPath: '.server' },
      { rule: "self.type != 'zfspool' || has(self.pool)", message: 'zfspool storages need pool', fieldPath: '.pool' },
      { rule: "self.type != 'lvmthin' || (has(self.vgName) && has(self.thinPool))", message: 'lvmthin storages need vgName and thinPool', fieldPath: '.vgName' },
    ],
  },
);

const download = s.object(
  {
    node: c.nodeName('Node to download on.'),
    storage: c.storageId('Target storage.'),
    appliance: s.string({ description: 'An appliance from the Proxmox template index (`pveam available`), such as `ubuntu-24.04-standard_24.04-2_amd64.tar.zst`.', maxLength: 255, pattern: '^[a-zA-Z0-9._+-]+$' }),
    url: s.string({ description: 'Download from this URL (`download-url`).', maxLength: 2048, pattern: '^https?://' }),
    filename: s.string({ description: 'File name on the storage (with `url`).', maxLength: 255, pattern: '^[a-zA-Z0-9._+-]+$' }),
    content: s.literal(['iso', 'vztmpl', 'import'] as const, { description: 'Content type (with `url`).' }),
    checksum: s.string({ description: 'Expected checksum.', pattern: '^[0-9a-fA-F]+$', maxLength: 128 }),
    checksumAlgorithm: s.literal(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const, { description: 'Checksum algorithm.' }),
  },
  {
    description: 'A template or image to have on a storage. Downloaded when missing.',
    required: ['node', 'storage'],
    rules: [
      { rule: 'has(self.appliance) != has(self.url)', message: 'a download takes exactly one of appliance or url' },
      { rule: '!has(self.url) || (has(self.filename) && has(self.content))', message: 'a url download needs filename and content', fieldPath: '.filename' },
      { rule: 'has(self.checksum) == has(self.checksumAlgorithm)', message: 'checksum and checksumAlgorithm go together', fieldPath: '.checksum' },
    ],
  },
);

const user = s.object(
  {
    userid: s.string({ description: 'User id with realm, such as `heads@pam` or `ops@pve`.', pattern: c.patterns.pveUserId, maxLength: 64 }),
    comment: s.string({ description: 'Comment.', maxLength: 1024 }),
    email: s.string({ description: 'E-mail address.', maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    firstName: s.string({ description: 'First name.', maxLength: 128 }),
    lastName: s.string({ description: 'Last name.', maxLength: 128 }),
    enabled: s.boolean({ description: 'Whether the account may log in.', default: true }),
    groups: s.array(s.string({ description: 'A group id.', pattern: c.patterns.pveGroupId, maxLength: 64 }), { description: 'Groups.', maxItems: 64, listType: 'set' }),
    expire: s.string({ description: 'Expiry date (RFC 3339).', format: 'date-time', maxLength: 64 }),
    passwordSecretRef: c.namespacedSecretKeySelector('Password for a `pve`-realm user (PAM users keep their Linux password).', 'password'),
  },
  {
    description: 'A Proxmox user (the legacy admin user).',
    required: ['userid'],
    rules: [{ rule: "!has(self.passwordSecretRef) || self.userid.endsWith('@pve')", message: 'only pve-realm users have a Proxmox password', fieldPath: '.passwordSecretRef' }],
  },
);

const acl = s.object(
  {
    path: s.string({ description: 'Object path, such as `/`, `/vms/101` or `/storage/local`.', pattern: '^/[^,;]*$', maxLength: 256 }),
    role: s.string({ description: 'Role, such as `Administrator` or `PVEVMAdmin`.', pattern: c.patterns.pveGroupId, maxLength: 64 }),
    users: s.array(s.string({ description: 'A user id.', pattern: c.patterns.pveUserId, maxLength: 64 }), { description: 'Users granted the role.', maxItems: 64, listType: 'set' }),
    groups: s.array(s.string({ description: 'A group id.', pattern: c.patterns.pveGroupId, maxLength: 64 }), { description: 'Groups granted the role.', maxItems: 64, listType: 'set' }),
    tokens: s.array(s.string({ description: 'A token id, `user@realm!token`.', pattern: c.patterns.pveTokenId, maxLength: 192 }), { description: 'API tokens granted the role.', maxItems: 64, listType: 'set' }),
    propagate: s.boolean({ description: 'Apply to the objects below the path too.', default: true }),
  },
  {
    description: 'A permission: a role on a path for users, groups or tokens.',
    required: ['path', 'role'],
    rules: [{ rule: 'has(self.users) || has(self.groups) || has(self.tokens)', message: 'an acl needs at least one of users, groups or tokens' }],
  },
);

/** The container transport (docs/provisioning.md): `pct exec` and `pct push` over SSH to the node. */
const ssh = s.object(
  {
    credentialsSecretRef: s.object(
      {
        name: c.k8sName('Name of the Secret.'),
        namespace: c.k8sName('Namespace of the Secret.'),
      },
      {
        description: 'Secret with the SSH credentials: `ssh-privatekey` (an OpenSSH or PEM private key, as in a `kubernetes.io/ssh-auth` Secret), `username` (default `root`) and, for an encrypted key, `passphrase`. Never shown in status, events or logs.',
        required: ['name', 'namespace'],
      },
    ),
    knownHosts: s.string({ description: 'The nodes\' host keys as `known_hosts` lines (`ssh-keyscan` output; hashed names and `[host]:port` work). A node whose key is not listed, or differs, is never connected to.', maxLength: 65536 }),
    hostKeyFingerprints: s.array(s.string({ description: 'A host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and 43 base64 characters.', pattern: '^SHA256:[A-Za-z0-9+/]{43}$', maxLength: 50 }), {
      description: 'Pinned host key fingerprints: a node presenting any other key is never connected to.',
      maxItems: 64,
      listType: 'set',
    }),
    port: s.integer({ description: 'SSH port of the nodes.', minimum: 1, maximum: 65535, default: 22 }),
    sudo: s.boolean({ description: 'Run `pct` through `sudo -n`: for a dedicated user whose sudo rule allows `pct exec` and `pct push` only (see docs/provisioning.md). Off for root.', default: false }),
    connectTimeout: c.duration('How long connecting and the SSH handshake may take. Default `10s`.', '10s'),
    nodes: s.array(
      s.object(
        {
          name: c.nodeName('Proxmox node name.'),
          address: s.string({
            description: 'Address to connect to: an IP address or a DNS name.',
            maxLength: 253,
            rules: [{ rule: `isIP(self) || self.matches(r'${c.patterns.dnsName}')`, message: 'must be an IP address or a DNS name' }],
          }),
          port: s.integer({ description: 'SSH port of this node (default: `port`).', minimum: 1, maximum: 65535 }),
        },
        { description: 'Where to reach one node.', required: ['name', 'address'] },
      ),
      { description: 'Per-node addresses. A node not listed is reached at the host of `proxmox.url`.', maxItems: 64, listType: 'map', mapKeys: ['name'] },
    ),
  },
  {
    description: 'SSH to the nodes, for what the Proxmox API cannot do: provisioning steps and exec health checks in PhoenixLXCs (`pct push`, `pct exec`). Host keys are pinned; Phoenix never trusts a key on first use.',
    required: ['credentialsSecretRef'],
    rules: [{ rule: 'has(self.knownHosts) || has(self.hostKeyFingerprints)', message: 'pin the nodes\' host keys with knownHosts or hostKeyFingerprints: Phoenix never trusts a host key on first use' }],
  },
);

export const phoenixHypervisorSpec = s.object(
  {
    proxmox: s.object(
      {
        url: s.string({ description: 'Proxmox VE API address, such as `https://pve.example.com:8006`.', pattern: '^https?://[^/]+/?$', maxLength: 2048 }),
        tokenSecretRef: c.namespacedSecretKeySelector('Secret holding the API token as `user@realm!tokenid=uuid`.', 'token'),
        ...tlsFields,
      },
      { description: 'The Proxmox VE endpoint.', required: ['url', 'tokenSecretRef'], rules: tlsRules },
    ),
    portainer: s.object(
      {
        url: s.string({ description: 'Portainer address, such as `https://portainer.example.com:9443`.', pattern: '^https?://[^/]+/?$', maxLength: 2048 }),
        apiKeySecretRef: c.namespacedSecretKeySelector('Secret holding a Portainer API key (`X-API-Key`).', 'apiKey'),
        ...tlsFields,
      },
      { description: 'The Portainer endpoint that deploys PhoenixStacks.', required: ['url', 'apiKeySecretRef'], rules: tlsRules },
    ),
    ssh,
    vmidRange: s.object(
      {
        min: s.integer({ description: 'Lowest VMID.', minimum: 100, maximum: 999999999 }),
        max: s.integer({ description: 'Highest VMID.', minimum: 100, maximum: 999999999 }),
      },
      { description: 'Allocate VMIDs from this range instead of `/cluster/nextid`.', required: ['min', 'max'], rules: [{ rule: 'self.min <= self.max', message: 'min must not exceed max' }] },
    ),
    concurrency: s.object(
      {
        createsPerNode: s.integer({ description: 'Creates and clones in flight per node. Linked clones copy nothing, so many can run at once.', minimum: 1, maximum: 64, default: 16 }),
        createsPerStorage: s.integer({ description: 'Creates and full clones in flight per storage: they share its bandwidth, so one copies while the next two wait their turn on the storage, and the storage never idles while Phoenix sees a task end and sends the next. Clones that lock their source (every container clone, clones of a running VM) also go one at a time per source.', minimum: 1, maximum: 64, default: 3 }),
      },
      { description: 'Limits that keep Proxmox\'s storage locks from timing out.' },
    ),
    managementPolicy: c.managementPolicy,
    allowedNamespaces: s.object(
      {
        from: s.literal(['All', 'Selector'] as const, { description: '`All` namespaces (the default), or those the `selector` matches.', default: 'All' }),
        selector: c.labelSelector('Namespaces whose labels match may use this hypervisor (with `from: Selector`), e.g. `kubernetes.io/metadata.name: team-a`.'),
      },
      {
        description: 'Which namespaces may declare guests (and through them stacks) on this hypervisor, in the manner of Gateway API\'s `allowedRoutes`. A guest in any other namespace stalls with `NamespaceNotAllowed` before Phoenix makes any Proxmox call for it.',
        rules: [{ rule: "!has(self.from) || self.from != 'Selector' || has(self.selector)", message: 'from: Selector needs a selector', fieldPath: '.selector' }],
      },
    ),
    nodes: s.array(node, { description: 'Per-node host configuration.', maxItems: 64, listType: 'map', mapKeys: ['name'] }),
    storages: s.array(storage, { description: 'Storage definitions.', maxItems: 64, listType: 'map', mapKeys: ['id'] }),
    pools: s.array(
      s.object(
        { id: s.string({ description: 'Pool id.', ...c.matching('pvePoolId'), maxLength: 64 }), comment: s.string({ description: 'Comment.', maxLength: 1024 }) },
        { description: 'A resource pool.', required: ['id'] },
      ),
      { description: 'Resource pools.', maxItems: 256, listType: 'map', mapKeys: ['id'] },
    ),
    downloads: s.array(download, { description: 'Templates and images to download.', maxItems: 128 }),
    users: s.array(user, { description: 'Proxmox users Phoenix manages (`/access/users`); others are left alone.', maxItems: 256, listType: 'map', mapKeys: ['userid'] }),
    acls: s.array(acl, { description: 'Permissions (`/access/acl`) Phoenix grants; others are left alone.', maxItems: 512 }),
    firewall: s.object(
      {
        enabled: s.boolean({ description: 'Turn the cluster firewall on.' }),
        policyIn: fw.firewallPolicy('incoming'),
        policyOut: fw.firewallPolicy('outgoing'),
        rules: fw.clusterFirewallRules,
      },
      { description: 'The cluster firewall (`/cluster/firewall`). Phoenix owns the whole rule list when `rules` is set.' },
    ),
  },
  { description: 'A Proxmox VE endpoint and the host configuration Phoenix manages on it.', required: ['proxmox'] },
);

const nodeStatus = s.object(
  {
    name: s.string({ description: 'Node name.', maxLength: 63 }),
    status: s.string({ description: '`online` or `offline`.', maxLength: 16 }),
    cpu: s.string({ description: 'CPU load as a fraction (a decimal string).', maxLength: 32 }),
    maxCpu: s.integer({ description: 'CPU threads.', minimum: 0 }),
    memoryUsed: s.integer({ description: 'Memory in use, bytes.', minimum: 0 }),
    memoryTotal: s.integer({ description: 'Memory, bytes.', minimum: 0 }),
  },
  { description: 'A node as Proxmox reports it.', required: ['name'] },
);

export const phoenixHypervisorStatus = s.object(
  {
    ...c.commonStatus,
    proxmoxVersion: s.string({ description: 'Proxmox VE version.', maxLength: 64 }),
    nodes: s.array(nodeStatus, { description: 'Nodes.', maxItems: 256 }),
    portainerVersion: s.string({ description: 'Portainer version.', maxLength: 64 }),
    task: c.taskRecord,
    lastTask: c.taskRecord,
    hostPending: s.array(s.string({ description: 'An item, such as `storage tank` or `download local:iso/x.iso on node pve`.', maxLength: 512 }), {
      description: 'Host configuration items not yet as the spec says (absent once the host matches). Guests wait only for the items they use: their pool, storages, source volume, bridges.',
      maxItems: 1024,
    }),
    taskItem: s.string({ description: 'The host configuration item the running `task` is for, such as `download local:vztmpl/…`.', maxLength: 512 }),
    created: s.object(
      {
        pools: s.array(s.string({ description: 'A pool id.', maxLength: 64 }), { description: 'Pools Phoenix created.', maxItems: 256, listType: 'set' }),
        storages: s.array(s.string({ description: 'A storage id.', maxLength: 64 }), { description: 'Storages Phoenix created.', maxItems: 64, listType: 'set' }),
        users: s.array(s.string({ description: 'A user id.', maxLength: 128 }), { description: 'Users Phoenix created.', maxItems: 256, listType: 'set' }),
        acls: s.array(s.string({ description: 'An entry as `path|type|ugid|role`.', maxLength: 512 }), { description: 'Permissions Phoenix granted.', maxItems: 2048, listType: 'set' }),
      },
      { description: 'Items Phoenix created. Only these are ever removed, and only when dropped from the spec; items that existed before are left alone.' },
    ),
    userPasswords: s.array(
      s.object(
        {
          userid: s.string({ description: 'User id.', maxLength: 128 }),
          resourceVersion: s.string({ description: 'resourceVersion of the Secret the password was last taken from.', maxLength: 64 }),
          applied: s.boolean({ description: 'False when Proxmox refused the change (an API token may not change a password); retried when the Secret changes again.' }),
        },
        { description: 'The Secret version last written as a user\'s password. Never the password, nor a hash of it.', required: ['userid', 'resourceVersion', 'applied'] },
      ),
      { description: 'Passwords Phoenix wrote from Secrets.', maxItems: 256, listType: 'map', mapKeys: ['userid'] },
    ),
    stagedNetwork: s.array(
      s.object(
        {
          node: s.string({ description: 'Node name.', maxLength: 63 }),
          interfaces: s.array(s.string({ description: 'An interface.', maxLength: 20 }), { description: 'Interfaces Phoenix staged.', maxItems: 64, listType: 'set' }),
        },
        { description: 'Network changes Phoenix staged on a node (`/etc/network/interfaces.new`) and has not reloaded yet.', required: ['node', 'interfaces'] },
      ),
      { description: 'Staged, not yet reloaded, network changes of Phoenix: after a crash they are reloaded; staged changes not listed here are someone else\'s, and Phoenix does not reload them.', maxItems: 64, listType: 'map', mapKeys: ['node'] },
    ),
    drift: s.array(c.driftRecord, { description: 'Recent differences between the host and the spec (a short history): corrected ones, or in Observe mode the ones found.', maxItems: 20 }),
    lastObservedTime: s.string({ description: 'When Phoenix last read the host.', format: 'date-time', maxLength: 64 }),
  },
  { description: 'The observed state of the endpoint.' },
);

export type PhoenixHypervisorSpec = s.Infer<typeof phoenixHypervisorSpec>;
export type PhoenixHypervisorStatus = s.Infer<typeof phoenixHypervisorStatus>;
