import * as s from './schema.ts';
import * as c from './common.ts';
import { guestSpecFields, guestSpecRules, guestStatusFields, cloneSourceFields, cloneSourceRules } from './guest.ts';
import { lxcNetwork } from './network.ts';

/**
 * An OCI image reference as Proxmox accepts it: an optional registry host (and port), a
 * lower-case repository path, and a tag (pve-storage API2/Storage/Status.pm, oci_registry_pull).
 * Proxmox's `[-]*` separator may be empty, which only joins two runs of letters and digits, so
 * here it is `-+`: the same references, without the nested repetition that backtracks for
 * minutes on a long invalid reference in a backtracking regex engine.
 */
export const ociReferencePattern = '^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$';

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
    ociImage: s.object(
      {
        reference: s.string({
          description: 'The image, with its tag: `docker.io/library/nginx:1.27`. A reference without a registry is pulled from Docker Hub. Digests (`@sha256:…`) are not accepted by Proxmox.',
          // pve-storage API2/Storage/Status.pm, oci_registry_pull: the `reference` parameter's pattern.
          pattern: ociReferencePattern,
          maxLength: 512,
        }),
        storage: c.storageId('The file-based storage with `vztmpl` content the image is pulled to, such as `local`.'),
      },
      {
        description: 'Create an application container from an OCI image (Proxmox VE 9.1 or later): Phoenix pulls the image to the storage (`oci-registry-pull`) unless it is there already, then creates the container from it. The image\'s entrypoint and environment become the container\'s; `entrypoint` and `env` override them.',
        required: ['reference', 'storage'],
      },
    ),
  },
  {
    description: 'Where the container comes from. Exactly one of `osTemplate`, `clone` or `ociImage`. Immutable.',
    rules: [{ rule: '[has(self.osTemplate), has(self.clone), has(self.ociImage)].filter(x, x).size() == 1', message: 'exactly one of osTemplate, clone or ociImage is required' }],
  },
);

/** An environment variable of the container's init process (`env`), a value or a Secret's. */
const containerEnvVar = s.object(
  {
    // pve-container LXC/Config.pm: each entry of `env` must match `\w+=…`.
    name: s.string({ description: 'Variable name.', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 128 }),
    value: s.string({ description: 'The value (no control characters besides tab).', pattern: '^[^\\x00-\\x08\\x0a-\\x1f\\x7f]*$', maxLength: 4096 }),
    secretKeyRef: c.secretKeySelector('The value, from a Secret in this namespace.'),
  },
  { description: 'A variable of the container\'s environment.', required: ['name'], rules: [{ rule: 'has(self.value) != has(self.secretKeyRef)', message: 'exactly one of value or secretKeyRef is required' }] },
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
    entrypoint: s.string({
      description: 'The command the container runs as init, with its arguments (`entrypoint`; Proxmox VE 9.1). Default: the OCI image\'s entrypoint for an application container, `/sbin/init` otherwise. Converges like other config; a running container picks a change up at its next start (`restartPolicy`).',
      pattern: '^[^\\x00-\\x08\\x0a-\\x1f\\x7f]+$',
      maxLength: 4096,
    }),
    env: s.array(containerEnvVar, {
      description: 'Environment of the container\'s init process (`env`; Proxmox VE 9.1), keyed by name. Phoenix manages the variables named here and keeps the others (an OCI image\'s own, such as `PATH`). Values are never shown in status or events (they may come from Secrets); note that Proxmox keeps them in the container\'s config, readable with `VM.Config.Options`.',
      maxItems: 64,
      listType: 'map',
      mapKeys: ['name'],
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
