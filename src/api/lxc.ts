import * as s from './schema.ts';
import * as c from './common.ts';
import { guestSpecFields, guestSpecRules, guestStatusFields, cloneSourceFields, cloneSourceRules } from './guest.ts';
import { lxcNetwork } from './network.ts';

const source = s.object(
  {
    osTemplate: s.object(
      {
        volume: c.volumeId('The OS template.', 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst'),
        download: s.boolean({ description: 'Download the template from the Proxmox appliance index first when the storage lacks it.' }),
      },
      { description: 'Create from an OS template (`pct create`).', required: ['volume'] },
    ),
    clone: s.object(
      { ...cloneSourceFields('full'), lxcRef: c.localObjectReference('A PhoenixLXC in this namespace to clone. Phoenix waits until it is Ready.') },
      { description: 'Clone a container or template (`pct clone`).', rules: cloneSourceRules('lxcRef') },
    ),
  },
  {
    description: 'Where the container comes from. Exactly one of `osTemplate` or `clone`. Immutable.',
    rules: [{ rule: '[has(self.osTemplate), has(self.clone)].filter(x, x).size() == 1', message: 'exactly one of osTemplate or clone is required' }],
  },
);

const mountPoint = s.object(
  {
    path: s.string({ description: 'Mount path inside the container.', pattern: '^/[^,;=]*$', maxLength: 256, rules: [c.noDotSegments] }),
    storage: c.storageId('Storage for a new volume.'),
    size: s.string({
      description: 'Size of the new volume (grow only). A Proxmox size such as `50G`.',
      ...c.matching('size'),
      maxLength: 16,
      minSize: c.minimumVolume,
      rules: [c.growOnly('')],
    }),
    hostPath: s.string({ description: 'Bind-mount this host directory instead of a new volume.', pattern: '^/[^,;=]*$', maxLength: 256, rules: [c.noDotSegments] }),
    readOnly: s.boolean({ description: 'Mount read-only.' }),
    backup: s.boolean({ description: 'Include the volume in backups.' }),
    shared: s.boolean({ description: 'The volume is available on every node (for migration).' }),
  },
  {
    description: 'A mount point (`mpN`, in list order): a new volume, or a host directory.',
    required: ['path'],
    rules: [
      { rule: 'has(self.hostPath) ? !has(self.storage) && !has(self.size) : has(self.storage) && has(self.size)', message: 'a mount point takes either hostPath, or storage and size' },
      { rule: '!has(oldSelf.storage) || (has(self.storage) && self.storage == oldSelf.storage)', message: 'storage of a mount point is immutable', fieldPath: '.storage' },
    ],
  },
);

const device = s.object(
  {
    path: s.string({ description: 'Host device path, such as `/dev/nvidia0`.', pattern: '^/dev/[^,;=]+$', maxLength: 256, rules: [c.noDotSegments] }),
    uid: s.integer({ description: 'Owner uid inside the container.', minimum: 0, maximum: 4294967295 }),
    gid: s.integer({ description: 'Owner gid inside the container.', minimum: 0, maximum: 4294967295 }),
    mode: s.string({ description: 'Access mode, such as `0666`.', pattern: '^0?[0-7]{3}$', maxLength: 4 }),
  },
  { description: 'A device passed through (`devN`), for example a GPU node.', required: ['path'] },
);

export const phoenixLxcSpec = s.object(
  {
    ...guestSpecFields,
    source,
    unprivileged: s.boolean({ description: 'Run as an unprivileged container (recommended). Immutable.', default: true, rules: [c.immutable('unprivileged')] }),
    swap: c.size('Swap.', '512M'),
    rootDisk: s.object(
      {
        storage: c.storageId('Storage for the root volume. Immutable.'),
        size: s.string({ description: 'Root volume size (grow only), such as `16G`.', ...c.matching('size'), maxLength: 16, minSize: c.minimumVolume, rules: [c.growOnly('')] }),
      },
      {
        description: 'The root filesystem (`rootfs`).',
        required: ['size'],
        rules: [{ rule: '!has(oldSelf.storage) || (has(self.storage) && self.storage == oldSelf.storage)', message: 'rootDisk.storage is immutable', fieldPath: '.storage' }],
      },
    ),
    mountPoints: s.array(mountPoint, { description: 'Mount points, keyed by path.', maxItems: 256, listType: 'map', mapKeys: ['path'] }),
    networks: s.array(lxcNetwork, { description: 'Network interfaces: the first is `net0`.', maxItems: 32 }),
    features: s.object(
      {
        nesting: s.boolean({ description: 'Allow nested containers (needed by Docker and systemd in newer distributions).' }),
        keyctl: s.boolean({ description: 'Allow the keyctl() system call (Docker in unprivileged containers).' }),
        fuse: s.boolean({ description: 'Allow FUSE mounts.' }),
        mknod: s.boolean({ description: 'Allow mknod for a safe set of devices.' }),
        mount: s.array(s.string({ description: 'A filesystem type.', pattern: '^[a-z0-9_]+$', maxLength: 32 }), { description: 'Filesystem types the container may mount (`nfs`, `cifs`).', maxItems: 16, listType: 'set' }),
      },
      { description: 'Container features (`features`).' },
    ),
    devices: s.array(device, { description: 'Devices passed through (`devN`), such as a GPU: `/dev/nvidia0`, `/dev/nvidiactl`, `/dev/nvidia-uvm`.', maxItems: 64 }),
    osType: s.literal(['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'] as const, {
      description: 'OS type, if Proxmox should not detect it.',
    }),
    rootPasswordSecretRef: c.secretKeySelector('Root password, from a Secret in this namespace (set at create).', 'password'),
    sshPublicKeys: s.array(s.string({ description: 'An SSH public key.', maxLength: 16384 }), { description: 'SSH public keys for root (set at create).', maxItems: 32 }),
  },
  {
    description: 'The desired state of a Proxmox LXC container.',
    required: ['hypervisorRef', 'node'],
    rules: guestSpecRules,
  },
);

export const phoenixLxcStatus = s.object(guestStatusFields, { description: 'The observed state of the container.' });

export type PhoenixLXCSpec = s.Infer<typeof phoenixLxcSpec>;
export type PhoenixLXCStatus = s.Infer<typeof phoenixLxcStatus>;
