import type { PhoenixVMSpec } from '../api/vm.ts';
import { guestOptionFormat, qemuAgentFormat, qemuNetFormat } from '../proxmox/guest-formats.ts';
import type { PropertyFormat } from '../proxmox/schema.ts';
import { parseSize } from '../proxmox/size.ts';
import { commonOptions, gibibytesForNewVolume, managedNicKeys, mebibytes, scalar, type GuestIdentity } from './common-config.ts';
import { norm, type DesiredConfig, type DesiredOption, type Normaliser, type PropertyOption } from './desired.ts';

const ipconfigFormat: PropertyFormat = {
  ip: { type: 'string', optional: true },
  gw: { type: 'string', optional: true },
  ip6: { type: 'string', optional: true },
  gw6: { type: 'string', optional: true },
};

const hostpciFormat: PropertyFormat = {
  host: { type: 'string', default_key: true, optional: true },
  mapping: { type: 'string', optional: true },
  pcie: { type: 'boolean', optional: true },
  'x-vga': { type: 'boolean', optional: true },
  rombar: { type: 'boolean', optional: true },
  mdev: { type: 'string', optional: true },
};

const usbFormat: PropertyFormat = {
  host: { type: 'string', default_key: true, optional: true },
  mapping: { type: 'string', optional: true },
  usb3: { type: 'boolean', optional: true },
};

const memoryMiB: Normaliser = (v) => norm.int(512)(v?.replace(/^current=/, ''));

/** `sshkeys` is stored percent-encoded; compare the keys themselves. */
const sshKeys: Normaliser = (v) => {
  if (v === undefined || v === '') return undefined;
  let text = v;
  try {
    text = decodeURIComponent(v);
  } catch {
    // Not encoded: compare as stored.
  }
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join('\n') || undefined;
};

/** Proxmox requires the value itself percent-encoded, with %20 for spaces, never '+'. */
export function encodeSshKeys(keys: readonly string[]): string {
  return encodeURIComponent(keys.join('\n'));
}

function networkOptions(index: number, net: NonNullable<PhoenixVMSpec['networks']>[number], id: GuestIdentity): PropertyOption[] {
  const desired: Record<string, string> = { model: net.model ?? 'virtio', bridge: net.bridge };
  if (net.vlan !== undefined) desired['tag'] = String(net.vlan);
  if (net.firewall) desired['firewall'] = '1';
  if (net.mtu !== undefined) desired['mtu'] = String(net.mtu);
  if (net.queues !== undefined) desired['queues'] = String(net.queues);
  if (net.rateLimit !== undefined) desired['rate'] = String(net.rateLimit);
  if (net.mac !== undefined) desired['macaddr'] = net.mac.toUpperCase();
  const managed = ['model', 'bridge', 'tag', 'firewall', 'mtu', 'queues', 'rate'];
  // The NIC keys whose spec field is set (false included: it says "off").
  const fields: [unknown, string][] = [[net.model, 'model'], [net.vlan, 'tag'], [net.firewall, 'firewall'], [net.mtu, 'mtu'], [net.queues, 'queues'], [net.rateLimit, 'rate'], [net.mac, 'macaddr']];
  const specified = ['bridge', ...fields.filter(([v]) => v !== undefined).map(([, k]) => k)];
  const options: PropertyOption[] = [
    {
      kind: 'property',
      key: `net${index}`,
      format: qemuNetFormat,
      desired,
      managedKeys: managedNicKeys(id, net.mac !== undefined ? [...managed, 'macaddr'] : managed, specified),
      normalisers: { firewall: norm.bool(), macaddr: norm.upper, tag: norm.int(), mtu: norm.int(), queues: norm.int(), rate: norm.int() },
    },
  ];
  const ip: Record<string, string> = {};
  if (net.ipv4 !== undefined && net.ipv4 !== 'manual') ip['ip'] = net.ipv4;
  if (net.gatewayV4 !== undefined) ip['gw'] = net.gatewayV4;
  if (net.ipv6 !== undefined && net.ipv6 !== 'manual') ip['ip6'] = net.ipv6;
  if (net.gatewayV6 !== undefined) ip['gw6'] = net.gatewayV6;
  if (Object.keys(ip).length) {
    const ipFields: [unknown, string][] = [[net.ipv4, 'ip'], [net.gatewayV4, 'gw'], [net.ipv6, 'ip6'], [net.gatewayV6, 'gw6']];
    const ipSpecified = ipFields.filter(([v]) => v !== undefined).map(([, k]) => k);
    options.push({ kind: 'property', key: `ipconfig${index}`, format: ipconfigFormat, desired: ip, managedKeys: managedNicKeys(id, ['ip', 'gw', 'ip6', 'gw6'], ipSpecified) });
  }
  return options;
}

function diskOption(disk: NonNullable<PhoenixVMSpec['disks']>[number]): PropertyOption {
  const flags: Record<string, string> = {};
  if (disk.cache !== undefined) flags['cache'] = disk.cache;
  if (disk.discard !== undefined) flags['discard'] = disk.discard ? 'on' : 'ignore';
  if (disk.ssd !== undefined) flags['ssd'] = disk.ssd ? '1' : '0';
  if (disk.ioThread !== undefined) flags['iothread'] = disk.ioThread ? '1' : '0';
  if (disk.backup !== undefined) flags['backup'] = disk.backup ? '1' : '0';
  const flagText = Object.entries(flags).map(([k, v]) => `,${k}=${v}`).join('');
  const option: PropertyOption = {
    kind: 'property',
    key: disk.slot,
    format: guestOptionFormat('qemu', disk.slot) ?? {},
    desired: flags,
    managedKeys: Object.keys(flags),
    normalisers: { ssd: norm.bool(), iothread: norm.bool(), backup: norm.bool(true), discard: (v) => (v === undefined ? 'ignore' : v) },
    minSizeBytes: parseSize(disk.size) ?? 0,
  };
  return disk.storage === undefined ? option : { ...option, createValue: `${disk.storage}:${gibibytesForNewVolume(disk.size)}${flagText}` };
}

/**
 * The EFI vars disk is managed by presence only: a VM without one (a clone of a SeaBIOS
 * template, say) gets a new one, but an existing one is never rewritten, because its type and
 * enrolled keys are fixed when Proxmox creates the volume and its storage moves only by a disk move.
 */
function efiDiskOption(efi: NonNullable<PhoenixVMSpec['efiDisk']>): PropertyOption {
  return {
    kind: 'property',
    key: 'efidisk0',
    format: guestOptionFormat('qemu', 'efidisk0') ?? {},
    desired: {},
    managedKeys: [],
    createValue: `${efi.storage}:1,efitype=4m${efi.preEnrolledKeys ? ',pre-enrolled-keys=1' : ''}`,
  };
}

function pciOption(index: number, dev: NonNullable<PhoenixVMSpec['pciDevices']>[number]): PropertyOption {
  const desired: Record<string, string> = {};
  if (dev.host !== undefined) desired['host'] = dev.host;
  if (dev.mapping !== undefined) desired['mapping'] = dev.mapping;
  if (dev.pcie) desired['pcie'] = '1';
  if (dev.primaryGpu) desired['x-vga'] = '1';
  if (dev.romBar !== undefined) desired['rombar'] = dev.romBar ? '1' : '0';
  if (dev.mdev !== undefined) desired['mdev'] = dev.mdev;
  return {
    kind: 'property',
    key: `hostpci${index}`,
    format: hostpciFormat,
    desired,
    managedKeys: ['host', 'mapping', 'pcie', 'x-vga', 'rombar', 'mdev'],
    normalisers: { pcie: norm.bool(), 'x-vga': norm.bool(), rombar: norm.bool(true) },
  };
}

function usbOption(index: number, dev: NonNullable<PhoenixVMSpec['usbDevices']>[number]): PropertyOption {
  const desired: Record<string, string> = {};
  if (dev.host !== undefined) desired['host'] = dev.host;
  if (dev.mapping !== undefined) desired['mapping'] = dev.mapping;
  if (dev.usb3) desired['usb3'] = '1';
  return { kind: 'property', key: `usb${index}`, format: usbFormat, desired, managedKeys: ['host', 'mapping', 'usb3'], normalisers: { usb3: norm.bool() } };
}

export interface VmSecrets {
  readonly cloudInitPassword?: string;
  /** Extra SSH keys from `cloudInit.sshKeysSecretRef`, one per line. */
  readonly sshKeys?: string;
}

/**
 * The VM config a PhoenixVM asks for. Cloud-init passwords are not compared (Proxmox masks
 * them on read); they are written at create and when their Secret changes. `userDataSnippet` is
 * the volume of `cloudInit.userDataSnippet` once it is on its storage: until then (and where it
 * is not known, as at create) cicustom is left alone.
 */
export function desiredVmConfig(spec: PhoenixVMSpec, id: GuestIdentity, secrets: VmSecrets = {}, userDataSnippet?: string): DesiredConfig {
  const options: DesiredOption[] = commonOptions(spec, id, 'name');
  if (spec.memory !== undefined) options.push(scalar('memory', mebibytes(spec.memory), memoryMiB));
  if (spec.balloon !== undefined) options.push(scalar('balloon', mebibytes(spec.balloon), norm.int()));
  if (spec.sockets !== undefined) options.push(scalar('sockets', spec.sockets, norm.int(1)));
  if (spec.cpuType !== undefined) options.push(scalar('cpu', spec.cpuType, (v) => v?.replace(/^cputype=/, '').split(',')[0]));
  if (spec.bios !== undefined) options.push(scalar('bios', spec.bios, (v) => v ?? 'seabios'));
  if (spec.machine !== undefined) options.push(scalar('machine', spec.machine, (v) => v?.replace(/^type=/, '').split(',')[0]));
  if (spec.osType !== undefined) options.push(scalar('ostype', spec.osType, (v) => v ?? 'other'));
  if (spec.scsiController !== undefined) options.push(scalar('scsihw', spec.scsiController, (v) => v ?? 'lsi'));
  if (spec.agent !== undefined) {
    const desired: Record<string, string> = { enabled: spec.agent.enabled === false ? '0' : '1' };
    if (spec.agent.fstrimClonedDisks !== undefined) desired['fstrim_cloned_disks'] = spec.agent.fstrimClonedDisks ? '1' : '0';
    options.push({ kind: 'property', key: 'agent', format: qemuAgentFormat, desired, managedKeys: Object.keys(desired), normalisers: { enabled: norm.bool(), fstrim_cloned_disks: norm.bool() } });
  }
  if (spec.bootOrder !== undefined) options.push(scalar('boot', `order=${spec.bootOrder.join(';')}`));
  spec.networks?.forEach((net, i) => options.push(...networkOptions(i, net, id)));
  spec.disks?.forEach((disk) => options.push(diskOption(disk)));
  if (spec.efiDisk !== undefined) options.push(efiDiskOption(spec.efiDisk));
  spec.pciDevices?.forEach((dev, i) => options.push(pciOption(i, dev)));
  spec.usbDevices?.forEach((dev, i) => options.push(usbOption(i, dev)));
  const ci = spec.cloudInit;
  if (ci !== undefined) {
    if (ci.user !== undefined) options.push(scalar('ciuser', ci.user));
    if (ci.upgrade !== undefined) options.push(scalar('ciupgrade', ci.upgrade, norm.bool(true)));
    if (ci.type !== undefined) options.push(scalar('citype', ci.type));
    const user = ci.userDataSnippet ? userDataSnippet : ci.userData;
    const custom = [user ? `user=${user}` : '', ci.vendorData ? `vendor=${ci.vendorData}` : ''].filter(Boolean).join(',');
    if (custom && (!ci.userDataSnippet || userDataSnippet)) options.push(scalar('cicustom', custom));
    const keys = [...(ci.sshPublicKeys ?? []), ...(secrets.sshKeys?.split('\n').filter((l) => l.trim()) ?? [])];
    if (keys.length) options.push(scalar('sshkeys', encodeSshKeys(keys), sshKeys));
  }
  const exclusiveFamilies: Record<string, number> = {};
  if (spec.networks !== undefined) {
    exclusiveFamilies['net'] = spec.networks.length;
    exclusiveFamilies['ipconfig'] = spec.networks.length;
  }
  if (spec.pciDevices !== undefined) exclusiveFamilies['hostpci'] = spec.pciDevices.length;
  if (spec.usbDevices !== undefined) exclusiveFamilies['usb'] = spec.usbDevices.length;
  return { options, exclusiveFamilies };
}

/** The slot a cloud-init drive already occupies, if any. */
export function cloudInitDriveSlot(config: Readonly<Record<string, unknown>>): string | undefined {
  return Object.keys(config).find((k) => /^(ide|sata|scsi)\d+$/.test(k) && /cloudinit/.test(String(config[k])));
}

/** Parameters only a create can set: the source's boot disk, installer ISO, cloud-init drive, password. */
export function vmCreateOnlyParams(spec: PhoenixVMSpec, secrets: VmSecrets): Record<string, string> {
  const params: Record<string, string> = {};
  if (spec.pool !== undefined) params['pool'] = spec.pool;
  const image = spec.source?.cloudImage;
  if (image) {
    const slot = image.diskSlot ?? 'scsi0';
    const volume = image.volume ?? `${image.storage}:import/${new URL(image.url ?? 'http://x/image.qcow2').pathname.split('/').pop()}`;
    params[slot] = `${image.storage}:0,import-from=${volume}`;
  }
  if (spec.source?.blank?.iso) params['ide2'] = `${spec.source.blank.iso},media=cdrom`;
  if (spec.cloudInit !== undefined) {
    const storage = spec.cloudInit.storage ?? spec.disks?.find((d) => d.storage)?.storage ?? image?.storage;
    if (storage) params[spec.source?.blank?.iso ? 'ide0' : 'ide2'] = `${storage}:cloudinit`;
    if (secrets.cloudInitPassword !== undefined) params['cipassword'] = secrets.cloudInitPassword;
  }
  return params;
}
