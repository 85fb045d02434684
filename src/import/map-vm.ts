import type { PhoenixVMSpec } from '../api/vm.ts';
import { patterns } from '../api/common.ts';
import type { GuestRef, ImportContext } from './context.ts';
import { cidrContains, isHostname, isIPv4, isIPv4Cidr, mebibytes } from './convert.ts';
import { legacyFiles, type LegacyVm } from './legacy-model.ts';
import { addDownload } from './map-host.ts';
import { guestSpec, isSnapshotName, keepSnapshot, mapDependencies, mapGuestFirewall, mapStartup, vmFile as file, type GuestSpec } from './map-guests.ts';
import type { MappedGuest } from './map-lxc.ts';
import { scriptPaths } from './provisioning.ts';
import { child, pointer } from './pointer.ts';

/** phoenix_vm_configs.json → one PhoenixVM per VM (the cloud-image template and its clones). */

type Spec = GuestSpec & Partial<PhoenixVMSpec>;

/** vm-manager resized a template's imported disk to 32G, whatever the config said. */
const templateDiskGiB = 32;

export interface MappedVm extends MappedGuest {
  readonly vm: LegacyVm;
}

export function mapVms(ctx: ImportContext): MappedVm[] {
  const data = ctx.estate.vm;
  if (data === undefined) return [];
  const r = ctx.report;
  const defaults = data.vm_defaults ?? {};
  const out: MappedVm[] = [];
  const usedDefaults = new Map<string, GuestRef[]>();
  const useDefault = (key: string, ref: GuestRef) => usedDefaults.set(key, [...(usedDefaults.get(key) ?? []), ref]);
  for (const [i, vm] of data.vms.entries()) {
    const base = pointer('vms', i);
    const ref = ctx.guests.get(String(vm.vmid));
    if (ref?.kind !== 'PhoenixVM') {
      r.notMapped(file, base, `VMID ${vm.vmid} is also a container in phoenix_lxc_configs.json; phoenix-cli treated the id as the container`);
      continue;
    }
    if (vm.vmid < 100 || vm.vmid > 999999999 || data.vms.findIndex((v) => v.vmid === vm.vmid) !== i) {
      r.notMapped(file, base, vm.vmid < 100 ? 'VMIDs start at 100' : `VMID ${vm.vmid} is defined twice; the first one is imported`);
      continue;
    }
    out.push(mapVm(ctx, vm, base, ref, defaults, useDefault));
  }
  const t = (refs: GuestRef[], field: string) => refs.map((g) => ctx.target('PhoenixVM', g.name, `spec.${field}`));
  for (const [key, field] of [['cores', 'cores'], ['memory_mb', 'memory'], ['storage_pool', 'source.cloudImage.storage'], ['network_bridge', 'networks[0].bridge']] as const) {
    if (defaults[key] === undefined) continue;
    const refs = usedDefaults.get(key) ?? [];
    if (refs.length) r.mapped(file, pointer('vm_defaults', key), t(refs, field), 'the default for the VMs that leave it unset');
    else r.notMapped(file, pointer('vm_defaults', key), 'every VM sets its own, or none needs it');
  }
  if (defaults.template !== undefined) r.notMapped(file, '/vm_defaults/template', 'never read by vm-manager: VMs come from the cloud image or a clone');
  if (defaults.disk_size_gb !== undefined) r.notMapped(file, '/vm_defaults/disk_size_gb', `never applied by vm-manager (the template's disk is ${templateDiskGiB}G)`);
  return out;
}

function mapVm(ctx: ImportContext, vm: LegacyVm, base: string, self: GuestRef, defaults: NonNullable<NonNullable<ImportContext['estate']['vm']>['vm_defaults']>, useDefault: (key: string, ref: GuestRef) => void): MappedVm {
  const r = ctx.report;
  const at = (...s: (string | number)[]) => child(base, ...s);
  const t = (field: string) => ctx.target('PhoenixVM', self.name, `spec.${field}`);
  const spec = guestSpec(ctx, vm.vmid) as Spec;
  if (ctx.options.observe) spec.managementPolicy = 'Observe';
  r.mapped(file, at('vmid'), t('vmid'));
  if (isHostname(vm.name)) {
    spec.hostname = vm.name;
    r.mapped(file, at('name'), [ctx.target('PhoenixVM', self.name, 'metadata.name'), t('hostname')]);
  } else r.notMapped(file, at('name'), `${JSON.stringify(vm.name)} is not a VM name Proxmox accepts; the object is named ${self.name}`, 'set spec.hostname');

  const made = mapVmSource(ctx, vm, base, self, spec, defaults, useDefault);
  if (vm.is_template !== undefined) {
    if (vm.is_template) spec.template = true;
    r.mapped(file, at('is_template'), t('template'));
  }
  // vm-manager set the agent on every VM, and created templates with virtio-scsi-pci.
  spec.agent = { enabled: true };
  if (made === 'image') spec.scsiController = 'virtio-scsi-pci';

  const cores = vm.cores ?? defaults.cores;
  if (cores !== undefined && cores >= 1) {
    spec.cores = cores;
    if (vm.cores !== undefined) r.mapped(file, at('cores'), t('cores'));
    else useDefault('cores', self);
  } else if (vm.cores !== undefined) r.notMapped(file, at('cores'), 'fewer than one core');
  const memory = vm.memory_mb ?? defaults.memory_mb;
  if (memory !== undefined && memory >= 16) {
    spec.memory = mebibytes(memory);
    if (vm.memory_mb !== undefined) r.mapped(file, at('memory_mb'), t('memory'));
    else useDefault('memory_mb', self);
  } else if (vm.memory_mb !== undefined) r.notMapped(file, at('memory_mb'), 'less than 16 MiB');
  mapDisk(ctx, vm, base, self, spec, made);
  const nicFirewall = mapGuestFirewall(ctx, file, base, self, spec, vm.firewall);
  mapVmNetwork(ctx, vm, base, self, spec, defaults, useDefault, nicFirewall, made);
  if (vm.user_config !== undefined) {
    if (/^[a-z_][a-z0-9_-]*$/.test(vm.user_config.username) && vm.user_config.username.length <= 32) {
      spec.cloudInit = { ...(spec.cloudInit ?? {}), user: vm.user_config.username };
      r.mapped(file, at('user_config', 'username'), t('cloudInit.user'));
    } else r.notMapped(file, at('user_config', 'username'), 'not a user name cloud-init accepts');
  }
  const cloneSource = vm.clone_from_vmid !== undefined ? ctx.guests.get(String(vm.clone_from_vmid)) : undefined;
  mapDependencies(ctx, file, base, self, spec, vm.dependencies, cloneSource);
  mapStartup(ctx, file, base, self, spec, vm, false);
  if (vm.snapshots !== undefined) {
    for (const key of ['pre-features', 'post-features'] as const) {
      const name = vm.snapshots[key];
      if (name === undefined) continue;
      if (spec.template) r.notMapped(file, at('snapshots', key), 'a template cannot keep snapshots (Proxmox refuses to convert a guest that has some)');
      else if (!isSnapshotName(name)) r.notMapped(file, at('snapshots', key), 'not a snapshot name Proxmox accepts');
      else r.mapped(file, at('snapshots', key), t(`snapshots[${keepSnapshot(spec, name)}].name`), `taken once when missing; the legacy tool took it ${key === 'pre-features' ? 'before' : 'after'} its feature scripts, which Phoenix does not run`);
    }
  }
  mapVmProvisioning(ctx, vm, base, self);
  mapVmUnused(ctx, vm, base);
  ctx.add(ctx.phoenix('PhoenixVM', self.name, `${file}#${base}`, spec), 'vm', `${file}#${base}`);
  return { ref: self, spec, file, base, vm };
}

function mapVmSource(ctx: ImportContext, vm: LegacyVm, base: string, self: GuestRef, spec: Spec, defaults: { storage_pool?: string }, useDefault: (key: string, ref: GuestRef) => void): 'image' | 'clone' | 'adopt' {
  const r = ctx.report;
  const at = (...s: string[]) => child(base, ...s);
  const t = (field: string) => ctx.target('PhoenixVM', self.name, `spec.${field}`);
  const storageOk = (s: string | undefined): s is string => s !== undefined && new RegExp(patterns.pveStorageId).test(s) && s.length <= 64;
  const adopt = (why?: string) => {
    spec.adopt = { vmid: vm.vmid };
    for (const key of ['clone_from_vmid', 'template_image', 'storage_pool'] as const) {
      if (vm[key] !== undefined) r.notMapped(file, at(key), why ?? 'adopting the existing VM (--adopt): how it was made matters only to create it');
    }
    if (why) r.action(`${self.name} (VM ${vm.vmid}) cannot be created from the legacy files (${why}), so it adopts the existing VM: spec.adopt.`);
    return 'adopt' as const;
  };
  if (ctx.options.adopt) return adopt();
  if (vm.clone_from_vmid !== undefined) {
    const src = ctx.guests.get(String(vm.clone_from_vmid));
    const clone: Record<string, unknown> = src?.kind === 'PhoenixVM' ? { vmRef: { name: src.name } } : { vmid: vm.clone_from_vmid };
    clone['full'] = true;
    spec.source = { clone };
    r.mapped(file, at('clone_from_vmid'), t(src?.kind === 'PhoenixVM' ? 'source.clone.vmRef' : 'source.clone.vmid'), src?.kind === 'PhoenixVM' ? undefined : `VM ${vm.clone_from_vmid} is not in the legacy files, so it is named by VMID`);
    if (vm.storage_pool !== undefined) {
      if (storageOk(vm.storage_pool)) {
        clone['storage'] = vm.storage_pool;
        r.mapped(file, at('storage_pool'), t('source.clone.storage'), 'never applied by vm-manager (clones stayed on the template\'s storage); Phoenix clones onto it');
      } else r.notMapped(file, at('storage_pool'), 'not a storage id Proxmox accepts');
    }
    if (vm.template_image !== undefined) r.notMapped(file, at('template_image'), 'unused: the VM is cloned');
    return 'clone';
  }
  if (vm.template_image !== undefined) {
    const storage = ctx.templateStorage;
    const release = ctx.estate.hypervisor.vm_defaults?.ubuntu_release;
    const diskStorage = vm.storage_pool ?? defaults.storage_pool;
    const image = vm.template_image;
    if (storage === undefined || storage.type !== 'dir') return adopt('no dir storage with content vztmpl is declared in zfs.datasets to download the cloud image to');
    if (release === undefined || !/^[a-z0-9.-]+$/.test(release)) return adopt('vm_defaults.ubuntu_release in phoenix_hypervisor_config.json is missing, so the image URL is unknown');
    if (!storageOk(diskStorage)) return adopt('no storage_pool to import the disk to');
    if (!/^[a-zA-Z0-9._+-]+$/.test(image)) return adopt(`${JSON.stringify(image)} is not an image file name`);
    // Proxmox's import content takes qcow2 and raw names; Ubuntu's .img cloud images are qcow2.
    const filename = image.replace(/\.img$/, '.qcow2');
    const url = `https://cloud-images.ubuntu.com/${release}/current/${image}`;
    addDownload(ctx, { node: ctx.node, storage: storage.id, url, filename, content: 'import' });
    const store = ctx.hypervisorSpec.storages?.find((s) => s.id === storage.id);
    if (store && !store.content.includes('import')) {
      store.content = [...store.content, 'import'];
      r.action(`Storage ${storage.id} gets content "import" so the cloud image can be downloaded there (the legacy tool downloaded it to a temporary file).`);
    }
    spec.source = { cloudImage: { volume: `${storage.id}:import/${filename}`, storage: diskStorage } };
    spec.cloudInit = { ...(spec.cloudInit ?? {}), storage: diskStorage };
    r.mapped(file, at('template_image'), [t('source.cloudImage.volume'), ctx.hypervisorTarget('downloads')], `downloaded from ${url} to ${storage.id}, then imported`);
    if (!r.entries.some((e) => e.file === legacyFiles.hypervisor && e.path === '/vm_defaults/ubuntu_release')) {
      r.mapped(legacyFiles.hypervisor, '/vm_defaults/ubuntu_release', ctx.hypervisorTarget('downloads'), 'the release in the cloud image URL');
    }
    if (vm.storage_pool !== undefined) r.mapped(file, at('storage_pool'), [t('source.cloudImage.storage'), t('cloudInit.storage')]);
    else useDefault('storage_pool', self);
    return 'image';
  }
  return adopt('it has neither clone_from_vmid nor template_image');
}

function mapDisk(ctx: ImportContext, vm: LegacyVm, base: string, self: GuestRef, spec: Spec, made: 'image' | 'clone' | 'adopt'): void {
  const r = ctx.report;
  const t = (field: string) => ctx.target('PhoenixVM', self.name, `spec.${field}`);
  if (made === 'image') spec.disks = [{ slot: 'scsi0', size: `${templateDiskGiB}G` }];
  if (vm.disk_size_gb === undefined) return;
  const path = child(base, 'disk_size_gb');
  if (made === 'image') {
    r.notMapped(file, path, `never applied by vm-manager: a template's disk was resized to ${templateDiskGiB}G, which Phoenix keeps`);
  } else if (made === 'clone' && vm.disk_size_gb < templateDiskGiB && chainFromImage(ctx, vm)) {
    r.notMapped(file, path, `smaller than the ${templateDiskGiB}G disk the clone gets from its template, and Proxmox cannot shrink a disk`);
  } else if (vm.disk_size_gb < 1) {
    r.notMapped(file, path, 'not a size');
  } else {
    spec.disks = [{ slot: 'scsi0', size: `${vm.disk_size_gb}G` }];
    r.mapped(file, path, t('disks[0].size'), 'never applied by vm-manager (clones kept the template\'s disk); Phoenix grows scsi0 to it. Drop spec.disks to keep the disk as it is');
  }
}

/** Whether a VM's clone chain starts at a cloud-image template of the legacy files. */
function chainFromImage(ctx: ImportContext, vm: LegacyVm): boolean {
  const vms = ctx.estate.vm?.vms ?? [];
  let current: LegacyVm | undefined = vm;
  for (let hops = 0; current && hops < vms.length; hops++) {
    if (current.template_image !== undefined && current.clone_from_vmid === undefined) return true;
    const next: number | undefined = current.clone_from_vmid;
    current = vms.find((v) => v.vmid === next);
  }
  return false;
}

function mapVmNetwork(ctx: ImportContext, vm: LegacyVm, base: string, self: GuestRef, spec: Spec, defaults: { network_bridge?: string }, useDefault: (key: string, ref: GuestRef) => void, firewall: boolean, made: 'image' | 'clone' | 'adopt'): void {
  const r = ctx.report;
  const at = (...s: string[]) => child(base, ...s);
  const t = (field: string) => ctx.target('PhoenixVM', self.name, `spec.${field}`);
  const bridge = vm.network_bridge ?? defaults.network_bridge;
  const domain = ctx.estate.hypervisor.domain_name;
  if (domain !== undefined && isHostname(domain)) spec.dns = { searchDomain: domain };
  if (bridge === undefined || !new RegExp(patterns.bridge).test(bridge)) {
    if (vm.network_bridge !== undefined) r.notMapped(file, at('network_bridge'), 'not a bridge name');
    if (vm.network_config !== undefined) r.notMapped(file, at('network_config'), 'no bridge (network_bridge or vm_defaults.network_bridge) for the interface', 'add the interface to spec.networks');
    return;
  }
  const nic: NonNullable<PhoenixVMSpec['networks']>[number] = { bridge };
  if (vm.network_bridge !== undefined) r.mapped(file, at('network_bridge'), t('networks[0].bridge'), made === 'clone' ? 'never applied by vm-manager for clones (they kept the template\'s)' : undefined);
  else useDefault('network_bridge', self);
  const net = vm.network_config;
  if (net !== undefined) {
    if (net.ip === 'dhcp' || isIPv4Cidr(net.ip)) {
      nic.ipv4 = net.ip;
      r.mapped(file, at('network_config', 'ip'), t('networks[0].ipv4'), 'written to cloud-init (ipconfig0)');
    } else r.notMapped(file, at('network_config', 'ip'), 'neither dhcp nor an IPv4 address in CIDR form');
    if (net.gw !== undefined) {
      if (nic.ipv4 !== undefined && nic.ipv4 !== 'dhcp' && isIPv4(net.gw) && cidrContains(nic.ipv4, net.gw)) {
        nic.gatewayV4 = net.gw;
        r.mapped(file, at('network_config', 'gw'), t('networks[0].gatewayV4'));
      } else r.notMapped(file, at('network_config', 'gw'), nic.ipv4 === 'dhcp' ? 'a DHCP interface takes its gateway from DHCP' : 'not an address inside the interface\'s subnet');
    }
    if (net.nameserver !== undefined) {
      if (isIPv4(net.nameserver)) {
        spec.dns = { ...(spec.dns ?? {}), nameservers: [net.nameserver] };
        r.mapped(file, at('network_config', 'nameserver'), t('dns.nameservers'), 'vm-manager wrote 10.0.0.13 whatever this said; Phoenix writes this value');
      } else r.notMapped(file, at('network_config', 'nameserver'), 'not an IP address');
    }
  }
  if (firewall) nic.firewall = true;
  spec.networks = [nic];
}

function mapVmProvisioning(ctx: ImportContext, vm: LegacyVm, base: string, self: GuestRef): void {
  const p = ctx.provisioning;
  for (const [i, feature] of (vm.features ?? []).entries()) {
    p.add({ file, path: child(base, 'features', i), what: `feature ${feature} of ${self.name} (run inside the guest from its NFS share)`, scripts: [scriptPaths.vmFeature(feature)] });
  }
  for (const [i, v] of (vm.volumes ?? []).entries()) {
    p.add({ file, path: child(base, 'volumes', i), what: `the ${v.type} mount ${v.server}:${v.path} on ${v.mount_point} inside ${self.name} (an fstab line: ${v.server}:${v.path} ${v.mount_point} nfs defaults,auto,nofail 0 0)`, scripts: [] });
  }
  if (vm.swarm_role !== undefined) p.add({ file, path: child(base, 'swarm_role'), what: `Docker Swarm membership of ${self.name} as ${vm.swarm_role} (swarm-manager.sh)`, scripts: [] });
  if (vm.node_labels !== undefined) p.add({ file, path: child(base, 'node_labels'), what: `Docker Swarm node labels of ${self.name} (docker node update --label-add)`, scripts: [] });
}

function mapVmUnused(ctx: ImportContext, vm: LegacyVm, base: string): void {
  const r = ctx.report;
  const at = (key: string) => child(base, key);
  if (vm.template_snapshot_name !== undefined) r.notMapped(file, at('template_snapshot_name'), 'never read for VMs');
  if (vm.qm_options !== undefined) r.notMapped(file, at('qm_options'), 'never applied by vm-manager', 'set what you need through PhoenixVM fields');
  if (vm.count !== undefined) r.notMapped(file, at('count'), 'never applied by vm-manager', 'copy the PhoenixVM for each VM you need');
  if (vm.dns_records !== undefined) r.notMapped(file, at('dns_records'), 'never read by the legacy scripts');
  if (vm.trigger_sync_on_completion !== undefined) r.notMapped(file, at('trigger_sync_on_completion'), 'superseded: Phoenix reconciles stacks all the time; there is no sync to trigger');
  if (vm.traefik_service !== undefined) r.notMapped(file, at('traefik_service'), 'a Traefik route the legacy generator wrote (https to the VM, verified with the internal CA); Phoenix does not configure Traefik', 'add the router and service to Traefik\'s configuration yourself');
  if (vm.portainer_role !== undefined) {
    const why = vm.portainer_role === 'primary' ? 'this VM runs the Portainer server, which the legacy tool started with docker compose; Phoenix deploys through Portainer and does not install it'
      : vm.portainer_role === 'agent' ? 'this VM runs a Portainer agent, which the legacy tool started with docker run; Phoenix does not install agents or register environments'
      : 'no Portainer role';
    r.notMapped(file, at('portainer_role'), why, vm.portainer_role === 'none' ? undefined : 'keep it running as it is, or install it with provisioning steps once issue 13 exists');
  }
  if (vm.portainer_agent_hostname !== undefined) {
    const port = ctx.estate.hypervisor.network?.portainer_agent_port ?? 9001;
    const env = vm.portainer_environment_name ?? ctx.guests.get(String(vm.vmid))?.name;
    r.notMapped(file, at('portainer_agent_hostname'), 'the agent address the legacy tool registered in Portainer; Phoenix does not register environments');
    r.action(`Register the Portainer environment "${env}" (Portainer → Environments → Add, Docker agent, tcp://${vm.portainer_agent_hostname}:${port}) if it is not there: PhoenixStacks deploy to it by that name.`);
  }
}
