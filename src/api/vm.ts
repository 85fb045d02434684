import * as s from './schema.ts';
import * as c from './common.ts';
import { guestSpecFields, guestSpecRules, guestStatusFields, cloneSourceFields, cloneSourceRules } from './guest.ts';
import { vmNetwork } from './network.ts';
import { textSource } from './provision.ts';

const diskSlot = '^(scsi([0-9]|[1-2][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3])$';

const source = s.object(
  {
    clone: s.object(
      { ...cloneSourceFields('full'), vmRef: c.localObjectReference('A PhoenixVM in this namespace to clone. Phoenix waits until it is Ready.') },
      { description: 'Clone a VM or template (`qm clone`).', rules: cloneSourceRules('vmRef') },
    ),
    cloudImage: s.object(
      {
        url: s.string({ description: 'Download the image from this URL into `storage` first (`download-url`, content `import`).', maxLength: 2048, pattern: '^https?://' }),
        volume: c.volumeId('An image already on a storage.', 'local:import/noble-server-cloudimg-amd64.qcow2'),
        checksum: s.string({ description: 'Expected checksum of the download.', pattern: '^[0-9a-fA-F]+$', maxLength: 128 }),
        checksumAlgorithm: s.literal(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const, { description: 'Checksum algorithm.' }),
        storage: c.storageId('Storage the disk is imported into.'),
        diskSlot: s.string({ description: 'Disk the image becomes. Default `scsi0`.', pattern: diskSlot, maxLength: 8 }),
      },
      {
        description: 'Import a cloud image as the boot disk (`import-from`).',
        required: ['storage'],
        rules: [
          { rule: 'has(self.url) != has(self.volume)', message: 'cloudImage takes exactly one of url or volume' },
          { rule: 'has(self.checksum) == has(self.checksumAlgorithm)', message: 'checksum and checksumAlgorithm go together', fieldPath: '.checksum' },
        ],
      },
    ),
    blank: s.object(
      { iso: c.volumeId('Installer ISO attached as a CD-ROM.', 'local:iso/debian-13.1.0-amd64-netinst.iso') },
      { description: 'A blank VM, optionally booting an installer ISO.' },
    ),
  },
  {
    description: 'Where the VM comes from. Exactly one of `clone`, `cloudImage` or `blank`. Immutable.',
    rules: [{ rule: '[has(self.clone), has(self.cloudImage), has(self.blank)].filter(x, x).size() == 1', message: 'exactly one of clone, cloudImage or blank is required' }],
  },
);

const disk = s.object(
  {
    slot: s.string({ description: 'Bus and index: `scsi0`, `virtio1`, `sata0`…', pattern: diskSlot, maxLength: 8 }),
    storage: c.storageId('Storage for a new disk. Immutable.'),
    size: s.string({ description: 'Disk size (grow only), such as `32G`.', ...c.matching('size'), maxLength: 16, minSize: c.minimumVolume, rules: [c.growOnly('')] }),
    cache: s.literal(['none', 'writethrough', 'writeback', 'unsafe', 'directsync'] as const, { description: 'Cache mode.' }),
    discard: s.boolean({ description: 'Pass discard/TRIM to the storage.' }),
    ssd: s.boolean({ description: 'Present the disk as an SSD.' }),
    ioThread: s.boolean({ description: 'Use a dedicated IO thread.' }),
    backup: s.boolean({ description: 'Include in backups.' }),
  },
  {
    description: 'A VM disk. Disks that the source brings (a clone\'s or an imported image\'s) are matched by slot and grown to `size`.',
    required: ['slot', 'size'],
    rules: [{ rule: '!has(oldSelf.storage) || (has(self.storage) && self.storage == oldSelf.storage)', message: 'storage of a disk is immutable', fieldPath: '.storage' }],
  },
);

const pciDevice = s.object(
  {
    host: s.string({ description: 'Host PCI address (`0000:01:00.0`, or `01:00` for all functions).', pattern: '^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\\.[0-7])?$', maxLength: 12 }),
    mapping: s.string({ description: 'A cluster resource mapping name, instead of `host`.', pattern: c.patterns.pveConfigId, maxLength: 128 }),
    pcie: s.boolean({ description: 'Pass through as PCIe (needs machine q35).' }),
    primaryGpu: s.boolean({ description: 'Use as the primary GPU (`x-vga`).' }),
    romBar: s.boolean({ description: 'Expose the ROM BAR.' }),
    mdev: s.string({ description: 'Mediated device type (vGPU).', maxLength: 128, pattern: '^[a-zA-Z0-9_-]+$' }),
  },
  { description: 'A PCI device (`hostpciN`), such as a GPU.', rules: [{ rule: 'has(self.host) != has(self.mapping)', message: 'a PCI device takes exactly one of host or mapping' }] },
);

export const phoenixVmSpec = s.object(
  {
    ...guestSpecFields,
    source,
    sockets: s.integer({ description: 'CPU sockets.', minimum: 1, maximum: 4 }),
    cpuType: s.string({ description: 'Emulated CPU type, such as `host` or `x86-64-v2-AES`.', pattern: '^[a-zA-Z0-9_.+-]+$', maxLength: 64 }),
    balloon: c.size('Minimum memory for the balloon driver; `0M` turns ballooning off.', '1G'),
    bios: s.literal(['seabios', 'ovmf'] as const, { description: 'Firmware.' }),
    machine: s.string({
      description: 'Machine type, such as `q35` or `pc-i440fx-9.2+pve1`.',
      // qemu-server's machine `type` pattern.
      pattern: '^(pc|pc(-i440fx)?-[0-9]+(\\.[0-9]+)+(\\+pve[0-9]+)?(\\.pxe)?|q35|pc-q35-[0-9]+(\\.[0-9]+)+(\\+pve[0-9]+)?(\\.pxe)?|virt(-[0-9]+(\\.[0-9]+)+)?(\\+pve[0-9]+)?)$',
      maxLength: 40,
    }),
    osType: s.literal(['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] as const, { description: 'Guest OS type.' }),
    scsiController: s.literal(['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] as const, { description: 'SCSI controller model.' }),
    agent: s.object(
      {
        enabled: s.boolean({ description: 'The QEMU guest agent is installed: Phoenix reads IP addresses through it.', default: true }),
        fstrimClonedDisks: s.boolean({ description: 'Run fstrim after moving or cloning a disk.' }),
      },
      { description: 'QEMU guest agent.' },
    ),
    disks: s.array(disk, { description: 'Disks, keyed by slot.', maxItems: 64, listType: 'map', mapKeys: ['slot'] }),
    efiDisk: s.object(
      {
        storage: c.storageId('Storage for the EFI vars disk.'),
        preEnrolledKeys: s.boolean({ description: 'Enrol distribution and Microsoft secure-boot keys.' }),
      },
      { description: 'EFI vars disk (with `bios: ovmf`).', required: ['storage'] },
    ),
    bootOrder: s.array(s.string({ description: 'A device: disk slot or `net0`.', pattern: '^(scsi|virtio|sata|ide|net)[0-9]+$', maxLength: 8 }), {
      description: 'Boot order.',
      maxItems: 16,
      listType: 'set',
    }),
    networks: s.array(vmNetwork, { description: 'Network interfaces: the first is `net0`.', maxItems: 32 }),
    cloudInit: s.object(
      {
        user: s.string({ description: 'Default user name.', pattern: '^[a-z_][a-z0-9_-]*$', maxLength: 32 }),
        passwordSecretRef: c.secretKeySelector('The user\'s password, from a Secret in this namespace.', 'password'),
        sshPublicKeys: s.array(s.string({ description: 'An SSH public key.', maxLength: 16384 }), { description: 'Authorised SSH public keys.', maxItems: 32 }),
        sshKeysSecretRef: c.secretKeySelector('More SSH public keys, one per line, from a Secret.', 'authorized_keys'),
        upgrade: s.boolean({ description: 'Upgrade packages on first boot.' }),
        storage: c.storageId('Storage for the cloud-init drive. Default: the first disk\'s storage.'),
        type: s.literal(['nocloud', 'configdrive2'] as const, { description: 'Cloud-init datasource.' }),
        userData: c.volumeId('A custom user-data snippet (`cicustom user=`).', 'local:snippets/user-data.yaml'),
        vendorData: c.volumeId('A custom vendor-data snippet (`cicustom vendor=`).', 'local:snippets/vendor.yaml'),
        userDataSnippet: s.object(
          {
            storage: c.storageId('A file storage with `snippets` content: Phoenix writes the file into its `snippets/` directory over SSH (the PhoenixHypervisor\'s spec.ssh).'),
            source: textSource('The user-data (e.g. `#cloud-config`).', 65536),
          },
          { description: 'User-data Phoenix uploads as a snippet named after its content, and sets as `cicustom user=`. A change uploads a new file, applied at the next reboot as Proxmox does for cloud-init.', required: ['storage', 'source'] },
        ),
      },
      {
        description: 'Cloud-init. Network settings come from `networks`, DNS from `dns`.',
        rules: [{ rule: '!(has(self.userData) && has(self.userDataSnippet))', message: 'userData and userDataSnippet both set the cicustom user-data: use one of them', fieldPath: '.userDataSnippet' }],
      },
    ),
    pciDevices: s.array(pciDevice, { description: 'PCI passthrough (`hostpciN`).', maxItems: 16 }),
    usbDevices: s.array(
      s.object(
        {
          host: s.string({ description: 'Host USB device: `vendor:product` or a port such as `1-2`.', pattern: '^([0-9a-fA-F]{4}:[0-9a-fA-F]{4}|[0-9]+-[0-9.]+)$', maxLength: 32 }),
          mapping: s.string({ description: 'A cluster resource mapping name, instead of `host`.', pattern: c.patterns.pveConfigId, maxLength: 128 }),
          usb3: s.boolean({ description: 'USB 3.' }),
        },
        { description: 'A USB device (`usbN`).', rules: [{ rule: 'has(self.host) != has(self.mapping)', message: 'a USB device takes exactly one of host or mapping' }] },
      ),
      { description: 'USB passthrough.', maxItems: 14 },
    ),
  },
  {
    description: 'The desired state of a Proxmox QEMU/KVM virtual machine.',
    required: ['hypervisorRef', 'node'],
    rules: [
      ...guestSpecRules,
      {
        // qemu-server: "balloon value too large (must be smaller than assigned memory)".
        rule: `!has(self.balloon) || !has(self.memory) || !self.balloon.matches(r'${c.patterns.size}') || !self.memory.matches(r'${c.patterns.size}') || quantity(self.balloon + 'i').compareTo(quantity(self.memory + 'i')) <= 0`,
        message: 'balloon must not exceed memory',
        fieldPath: '.balloon',
      },
      { rule: '!has(self.cpuLimit) || self.cpuLimit <= 128', message: 'a VM\'s cpuLimit is at most 128 (qemu-server\'s cpulimit range is 0 to 128)', fieldPath: '.cpuLimit' },
      { rule: "!has(self.efiDisk) || (has(self.bios) && self.bios == 'ovmf')", message: 'efiDisk needs bios: ovmf', fieldPath: '.efiDisk' },
      { rule: "!has(self.pciDevices) || !self.pciDevices.exists(d, has(d.pcie) && d.pcie) || (has(self.machine) && self.machine.startsWith('q35'))", message: 'PCIe passthrough needs machine: q35', fieldPath: '.pciDevices' },
      // A VM's steps and checks go through the QEMU guest agent (agent/exec, agent/file-write).
      { rule: '(!has(self.provision) && (!has(self.healthChecks) || self.healthChecks.all(c, !has(c.exec)))) || (has(self.agent) && (!has(self.agent.enabled) || self.agent.enabled))', message: 'provision and exec healthChecks run through the QEMU guest agent: set agent.enabled: true', fieldPath: '.agent' },
    ],
  },
);

export const phoenixVmStatus = s.object(guestStatusFields, { description: 'The observed state of the VM.' });

export type PhoenixVMSpec = s.Infer<typeof phoenixVmSpec>;
export type PhoenixVMStatus = s.Infer<typeof phoenixVmStatus>;
