import type { PhoenixLXCSpec } from '../api/lxc.ts';
import { patterns } from '../api/common.ts';
import type { GuestRef, ImportContext } from './context.ts';
import { cidrContains, isHostname, isIPv4, isIPv4Cidr, mebibytes, nameserverList } from './convert.ts';
import type { LegacyLxc, LegacyLxcNetwork } from './legacy-model.ts';
import { addDownload } from './map-host.ts';
import { guestSpec, isSnapshotName, keepSnapshot, lxcFile as file, mapDependencies, mapGuestFirewall, mapStartup, type GuestSpec } from './map-guests.ts';
import { scriptPaths } from './provisioning.ts';
import { child, pointer } from './pointer.ts';

/** phoenix_lxc_configs.json → one PhoenixLXC per container. */

type Network = NonNullable<PhoenixLXCSpec['networks']>[number];
type MountPoint = NonNullable<PhoenixLXCSpec['mountPoints']>[number];

export interface MappedGuest {
  readonly ref: GuestRef;
  readonly spec: GuestSpec;
  readonly file: string;
  readonly base: string;
}

export function mapContainers(ctx: ImportContext): MappedGuest[] {
  const data = ctx.estate.lxc;
  if (data === undefined) return [];
  const r = ctx.report;
  if (data.$schema !== undefined) r.notMapped(file, '/$schema', 'names the legacy schema; the file was checked against it');
  for (const key of ['nvidia_driver_version', 'nvidia_repo_url', 'nvidia_runfile_url'] as const) {
    if (data[key] === undefined) continue;
    r.add({ file, path: pointer(key), outcome: 'provisioning', reason: 'the NVIDIA userspace driver the nvidia feature installs inside GPU containers: not yet mapped: needs provisioning (issue 13)', action: 'keep it equal to the host driver when installing it in the containers' });
  }
  const out: MappedGuest[] = [];
  for (const [id, ct] of Object.entries(data.lxc_configs).sort(([a], [b]) => Number(a) - Number(b))) {
    const mapped = mapContainer(ctx, id, ct);
    if (mapped) out.push(mapped);
  }
  return out;
}

function mapContainer(ctx: ImportContext, id: string, ct: LegacyLxc): MappedGuest | undefined {
  const r = ctx.report;
  const base = pointer('lxc_configs', id);
  const at = (...s: (string | number)[]) => child(base, ...s);
  const self = ctx.guests.get(id)!;
  const vmid = Number(id);
  if (vmid < 100 || vmid > 999999999) {
    r.notMapped(file, base, `container id ${id} is outside Proxmox's range (100 and up)`);
    return undefined;
  }
  const t = (field: string) => ctx.target('PhoenixLXC', self.name, `spec.${field}`);
  const spec = guestSpec(ctx, vmid) as GuestSpec & Partial<PhoenixLXCSpec>;
  if (ctx.options.observe) spec.managementPolicy = 'Observe';

  if (isHostname(ct.name)) {
    spec.hostname = ct.name;
    r.mapped(file, at('name'), [ctx.target('PhoenixLXC', self.name, 'metadata.name'), t('hostname')]);
  } else r.notMapped(file, at('name'), `${JSON.stringify(ct.name)} is not a host name Proxmox accepts; the object is named ${self.name}`, 'set spec.hostname');

  const source = mapSource(ctx, id, ct, spec, self);
  if (ct.is_template !== undefined) {
    if (ct.is_template) spec.template = true;
    r.mapped(file, at('is_template'), t('template'));
  }
  if (ct.cores !== undefined) {
    if (ct.cores >= 1) {
      spec.cores = ct.cores;
      r.mapped(file, at('cores'), t('cores'));
    } else r.notMapped(file, at('cores'), 'fewer than one core');
  }
  if (ct.memory_mb !== undefined) {
    if (ct.memory_mb >= 16) {
      spec.memory = mebibytes(ct.memory_mb);
      r.mapped(file, at('memory_mb'), t('memory'));
    } else r.notMapped(file, at('memory_mb'), 'less than Proxmox\'s minimum of 16 MiB');
  }
  if (ct.swap_mb !== undefined) {
    spec.swap = mebibytes(ct.swap_mb);
    r.mapped(file, at('swap_mb'), t('swap'), 'never applied by the legacy tool (containers kept Proxmox\'s 512M); Phoenix applies it');
  }
  mapRootDisk(ctx, ct, spec, self, base);
  if (ct.unprivileged !== undefined) {
    spec.unprivileged = ct.unprivileged;
    r.mapped(file, at('unprivileged'), t('unprivileged'));
  } else if (source === 'template') {
    spec.unprivileged = false;
  }
  const nicFirewall = mapGuestFirewall(ctx, file, base, self, spec, ct.firewall);
  mapNetworks(ctx, ct, spec, self, base, nicFirewall);
  mapDevices(ctx, ct, spec, self, base);
  mapFeatureFlags(ctx, ct, spec, self, base);
  mapMountPoints(ctx, ct, spec, self, base);
  const cloneSource = ct.clone_from_ctid !== undefined ? ctx.guests.get(ct.clone_from_ctid) : undefined;
  mapDependencies(ctx, file, base, self, spec, ct.dependencies, cloneSource);
  mapStartup(ctx, file, base, self, spec, ct, true);
  mapSnapshots(ctx, id, ct, spec, self, base);
  mapProvisioning(ctx, ct, self, base);
  mapUnused(ctx, ct, base);

  ctx.add(ctx.phoenix('PhoenixLXC', self.name, `${file}#${base}`, spec), 'lxc', `${file}#${base}`);
  return { ref: self, spec, file, base };
}

/** clone_from_ctid, template or template_file → spec.source (or spec.adopt). Returns how it is made. */
function mapSource(ctx: ImportContext, id: string, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef): 'clone' | 'template' | 'adopt' {
  const r = ctx.report;
  const base = pointer('lxc_configs', id);
  const at = (...s: string[]) => child(base, ...s);
  const t = (field: string) => ctx.target('PhoenixLXC', self.name, `spec.${field}`);
  const adopt = (why?: string) => {
    spec.adopt = { vmid: Number(id) };
    const reason = why ?? 'adopting the existing container (--adopt): how it was made matters only to create it';
    for (const key of ['clone_from_ctid', 'template', 'template_file'] as const) if (ct[key] !== undefined) r.notMapped(file, at(key), reason);
    if (why) r.action(`${self.name} (CT ${id}) cannot be created from the legacy files (${why}), so it adopts the existing container: spec.adopt.`);
    return 'adopt' as const;
  };
  if (ctx.options.adopt) return adopt();
  if (ct.clone_from_ctid !== undefined) {
    const src = ctx.guests.get(ct.clone_from_ctid);
    if (src?.kind !== 'PhoenixLXC' && Number(ct.clone_from_ctid) < 100) return adopt(`its clone source ${ct.clone_from_ctid} is not a container id`);
    const srcCt = ctx.estate.lxc?.lxc_configs[ct.clone_from_ctid];
    const clone: NonNullable<PhoenixLXCSpec['source']>['clone'] & object = src?.kind === 'PhoenixLXC' ? { lxcRef: { name: src.name } } : { vmid: Number(ct.clone_from_ctid) };
    clone.full = true;
    if (ct.storage_pool !== undefined && new RegExp(patterns.pveStorageId).test(ct.storage_pool)) clone.storage = ct.storage_pool;
    const snap = srcCt?.template_snapshot_name;
    if (snap !== undefined && isSnapshotName(snap) && !srcCt?.is_template) clone.snapshot = snap;
    spec.source = { clone };
    r.mapped(file, at('clone_from_ctid'), t(src?.kind === 'PhoenixLXC' ? 'source.clone.lxcRef' : 'source.clone.vmid'), src?.kind === 'PhoenixLXC' ? undefined : `CT ${ct.clone_from_ctid} is not in the legacy files, so it is named by VMID`);
    for (const key of ['template', 'template_file'] as const) if (ct[key] !== undefined) r.notMapped(file, at(key), 'unused: the container is cloned (clone_from_ctid wins in lxc-manager)');
    return 'clone';
  }
  const storage = ctx.templateStorage;
  const archive = ct.template_file ?? ct.template?.split('/').pop();
  if (archive === undefined) return adopt('it has neither clone_from_ctid nor template');
  if (storage === undefined) return adopt('no storage with content vztmpl is declared in zfs.datasets to hold its template');
  if (!/^[a-zA-Z0-9._+-]+$/.test(archive)) return adopt(`${JSON.stringify(archive)} is not a template file name`);
  const volume = `${storage.id}:vztmpl/${archive}`;
  spec.source = { osTemplate: { volume } };
  if (ct.template_file !== undefined) {
    r.mapped(file, at('template_file'), t('source.osTemplate.volume'), 'a custom archive on the template storage; it must be there (Phoenix cannot download it)');
    if (ct.template !== undefined) r.notMapped(file, at('template'), 'superseded by template_file');
  } else {
    addDownload(ctx, { node: ctx.node, storage: storage.id, appliance: archive });
    r.mapped(file, at('template'), [t('source.osTemplate.volume'), ctx.hypervisorTarget('downloads')], 'downloaded from the Proxmox appliance index when missing, as lxc-manager did with pveam');
  }
  return 'template';
}

function mapRootDisk(ctx: ImportContext, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef, base: string): void {
  const r = ctx.report;
  const t = (field: string) => ctx.target('PhoenixLXC', self.name, `spec.${field}`);
  const storageOk = ct.storage_pool !== undefined && new RegExp(patterns.pveStorageId).test(ct.storage_pool) && ct.storage_pool.length <= 64;
  if (ct.storage_size_gb !== undefined && ct.storage_size_gb > 0) {
    spec.rootDisk = { size: `${ct.storage_size_gb}G`, ...(storageOk ? { storage: ct.storage_pool! } : {}) };
    r.mapped(file, child(base, 'storage_size_gb'), t('rootDisk.size'));
  } else if (ct.storage_size_gb !== undefined) r.notMapped(file, child(base, 'storage_size_gb'), 'not a size');
  if (ct.storage_pool !== undefined) {
    if (storageOk && spec.rootDisk) r.mapped(file, child(base, 'storage_pool'), [t('rootDisk.storage'), ...(ct.clone_from_ctid !== undefined && !ctx.options.adopt ? [t('source.clone.storage')] : [])]);
    else r.notMapped(file, child(base, 'storage_pool'), storageOk ? 'no storage_size_gb to go with it' : 'not a storage id Proxmox accepts');
  }
}

interface Macvlan {
  readonly lines: Set<number>;
  readonly link?: string;
}

/** rootesting's macvlan NICs: raw `lxc.net.N.*` lines in lxc_options, or `type: macvlan` on the interface. */
function macvlanOptions(ct: LegacyLxc): Map<number, Macvlan> {
  const found = new Map<number, { lines: Set<number>; link?: string; macvlan: boolean }>();
  for (const [i, line] of (ct.lxc_options ?? []).entries()) {
    const m = /^lxc\.net\.(\d+)\.(type|macvlan\.mode|link)\s*[:=]\s*(\S+)\s*$/.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const entry = found.get(n) ?? { lines: new Set<number>(), macvlan: false };
    entry.lines.add(i);
    if (m[2] === 'type' && m[3] === 'macvlan') entry.macvlan = true;
    if (m[2] === 'link') entry.link = m[3]!;
    found.set(n, entry);
  }
  return new Map([...found].filter(([, e]) => e.macvlan).map(([n, e]) => [n, { lines: e.lines, ...(e.link ? { link: e.link } : {}) }]));
}

function mapNetworks(ctx: ImportContext, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef, base: string, firewall: boolean): void {
  const r = ctx.report;
  const macvlan = macvlanOptions(ct);
  const networks: Network[] = [];
  const interfaces: [LegacyLxcNetwork | undefined, 'network_config' | 'secondary_network_config'][] = [[ct.network_config, 'network_config'], [ct.secondary_network_config, 'secondary_network_config']];
  for (const [index, [net, key]] of interfaces.entries()) {
    if (net === undefined) continue;
    const at = (...s: string[]) => child(base, key, ...s);
    const t = (field: string) => ctx.target('PhoenixLXC', self.name, `spec.networks[${networks.length}].${field}`);
    const isMacvlan = net.type === 'macvlan' || macvlan.has(index);
    const name = net.name ?? `eth${index}`;
    let bridge = net.bridge ?? net.parent ?? macvlan.get(index)?.link;
    if (bridge === undefined || !/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/.test(name)) {
      r.notMapped(file, child(base, key), bridge === undefined ? 'no bridge' : `${JSON.stringify(name)} is not an interface name`, 'add the interface to spec.networks');
      continue;
    }
    const nic: Network = { name, bridge };
    if (net.name !== undefined) r.mapped(file, at('name'), t('name'));
    let vlanNote = '';
    if (isMacvlan) {
      // Proxmox's API makes only veth interfaces; a macvlan on vmbr0.20 is traffic on VLAN 20 of vmbr0.
      const m = /^(.+)\.(\d+)$/.exec(bridge);
      if (m && Number(m[2]) >= 1 && Number(m[2]) <= 4094) {
        bridge = m[1]!;
        nic.bridge = bridge;
        nic.vlan = Number(m[2]);
        vlanNote = `, tagged VLAN ${m[2]} on ${bridge}`;
      }
      nic.firewall = false;
    }
    for (const k of ['bridge', 'parent'] as const) {
      if (net[k] === undefined) continue;
      if (isMacvlan) r.mapped(file, at(k), [t('bridge'), ...(nic.vlan !== undefined ? [t('vlan')] : [])], `the macvlan interface becomes a veth on the same network${vlanNote}: Proxmox's API has no macvlan interfaces. Its firewall stays off, as the legacy tool forced`);
      else r.mapped(file, at(k), t('bridge'));
    }
    if (net.type !== undefined && !isMacvlan) r.mapped(file, at('type'), t('bridge'), 'a bridged (veth) interface');
    if (net.type === 'macvlan') r.mapped(file, at('type'), t('bridge'), 'made a veth interface: Proxmox\'s API has no macvlan interfaces');
    if (net.ip !== undefined) {
      if (net.ip === 'dhcp' || isIPv4Cidr(net.ip)) {
        nic.ipv4 = net.ip;
        r.mapped(file, at('ip'), t('ipv4'));
      } else r.notMapped(file, at('ip'), `${JSON.stringify(net.ip)} is neither dhcp nor an IPv4 address in CIDR form`);
    }
    if (net.gw !== undefined) {
      if (nic.ipv4 !== undefined && nic.ipv4 !== 'dhcp' && isIPv4(net.gw) && cidrContains(nic.ipv4, net.gw)) {
        nic.gatewayV4 = net.gw;
        r.mapped(file, at('gw'), t('gatewayV4'));
      } else r.notMapped(file, at('gw'), nic.ipv4 === 'dhcp' ? 'a DHCP interface takes its gateway from DHCP' : 'not an address inside the interface\'s subnet');
    }
    const mac = net.hwaddr ?? (index === 0 ? ct.mac_address : undefined);
    if (mac !== undefined) {
      const macPath = net.hwaddr !== undefined ? at('hwaddr') : child(base, 'mac_address');
      if (new RegExp(patterns.mac).test(mac)) {
        nic.mac = mac.toUpperCase();
        r.mapped(file, macPath, t('mac'));
      } else r.notMapped(file, macPath, 'not a unicast MAC address');
    }
    if (index === 0 && net.hwaddr !== undefined && ct.mac_address !== undefined) {
      r.notMapped(file, child(base, 'mac_address'), 'superseded by network_config.hwaddr, which lxc-manager prefers');
    }
    if (firewall && !isMacvlan) nic.firewall = true;
    networks.push(nic);
    for (const k of ['nameservers', 'nameserver'] as const) {
      const value = net[k];
      if (value === undefined) continue;
      if (key === 'secondary_network_config') {
        r.notMapped(file, at(k), 'lxc-manager reads nameservers from network_config only');
        continue;
      }
      if (k === 'nameservers' && net.nameserver !== undefined) {
        r.notMapped(file, at(k), 'superseded by nameserver, which lxc-manager prefers');
        continue;
      }
      const list = nameserverList(value);
      if (list) {
        spec.dns = { nameservers: list };
        r.mapped(file, at(k), ctx.target('PhoenixLXC', self.name, 'spec.dns.nameservers'));
      } else r.notMapped(file, at(k), 'not a list of at most three IP addresses');
    }
  }
  if (ct.mac_address !== undefined && ct.network_config === undefined) r.notMapped(file, child(base, 'mac_address'), 'no network_config to go with it');
  if (networks.length) spec.networks = networks;
  for (const [i, line] of (ct.lxc_options ?? []).entries()) {
    const macvlanLine = [...macvlan.values()].some((m) => m.lines.has(i));
    r.notMapped(file, child(base, 'lxc_options', i), macvlanLine
      ? 'a raw LXC line of the macvlan interface: mapped as a veth interface instead (see network_config)'
      : `a raw LXC configuration line (${line}): Proxmox's API cannot set lxc.* keys`, macvlanLine ? undefined : `if it is still needed, add it to /etc/pve/lxc/${base.split('/').pop()}.conf by hand (Phoenix leaves lines it does not manage alone)`);
  }
}

/** gpu_assignment → the device nodes the legacy tool bind-mounted, as Proxmox device passthrough. */
function mapDevices(ctx: ImportContext, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef, base: string): void {
  const r = ctx.report;
  if (ct.gpu_assignment === undefined) return;
  const path = child(base, 'gpu_assignment');
  const value = ct.gpu_assignment.trim();
  if (value === 'none' || value === '') {
    r.notMapped(file, path, 'no GPU');
    return;
  }
  const indices = value.split(',').map((s) => s.trim());
  if (!indices.every((i) => /^[0-9]+$/.test(i))) {
    r.notMapped(file, path, `${JSON.stringify(ct.gpu_assignment)} is not "none" or a list of GPU numbers`);
    return;
  }
  const gpus = [...new Set(indices.map(Number))];
  spec.devices = [...gpus.map((g) => `/dev/nvidia${g}`), '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'].map((p) => ({ path: p, mode: '0666' }));
  r.mapped(file, path, ctx.target('PhoenixLXC', self.name, 'spec.devices'), `device passthrough of ${gpus.map((g) => `/dev/nvidia${g}`).join(', ')} and the NVIDIA control devices, in place of the legacy cgroup2 rules and bind mounts`);
}

/** pct_options (joined into `pct set --features`) → spec.features. */
function mapFeatureFlags(ctx: ImportContext, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef, base: string): void {
  const r = ctx.report;
  if (ct.pct_options === undefined) return;
  const features: NonNullable<PhoenixLXCSpec['features']> = {};
  for (const [i, option] of ct.pct_options.entries()) {
    const path = child(base, 'pct_options', i);
    const unknown: string[] = [];
    const set: string[] = [];
    for (const part of option.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [key, raw = ''] = part.split('=') as [string, string?];
      if (key === 'nesting' || key === 'keyctl' || key === 'fuse' || key === 'mknod') {
        features[key] = raw === '1' || raw === 'true';
        set.push(key);
      } else if (key === 'mount' && /^[a-z0-9_;]+$/.test(raw)) {
        features.mount = raw.split(';').filter(Boolean);
        set.push(key);
      } else unknown.push(part);
    }
    // Whether Proxmox lets a token set them is decided with the whole chain (root-only-steps.ts).
    if (set.length && !unknown.length) r.mapped(file, path, set.map((k) => ctx.target('PhoenixLXC', self.name, `spec.features.${k}`)));
    else r.notMapped(file, path, `${unknown.join(', ')}: not a container feature Phoenix declares (nesting, keyctl, fuse, mknod, mount)`, 'set it in Proxmox by hand');
  }
  if (Object.keys(features).length) spec.features = features;
}

function mapMountPoints(ctx: ImportContext, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef, base: string): void {
  const r = ctx.report;
  const mps: MountPoint[] = [];
  const pathOk = (p: string) => /^\/[^,;=]*$/.test(p) && p.length <= 256;
  const t = (field: string) => ctx.target('PhoenixLXC', self.name, `spec.mountPoints[${mps.length}].${field}`);
  for (const [i, mp] of (ct.mount_points ?? []).entries()) {
    const at = (...s: string[]) => child(base, 'mount_points', i, ...s);
    if (!pathOk(mp.container_path) || !pathOk(mp.host_path) || mps.some((m) => m.path === mp.container_path)) {
      r.notMapped(file, child(base, 'mount_points', i), 'the paths contain , ; or =, or the container path is used twice', 'add the mount point to spec.mountPoints');
      continue;
    }
    r.mapped(file, at('container_path'), t('path'));
    r.mapped(file, at('host_path'), t('hostPath'), 'a bind mount. The host directory must exist: lxc-manager created it');
    ctx.bindMountDirs.add(mp.host_path);
    for (const k of ['owner_uid', 'owner_gid'] as const) {
      if (mp[k] === undefined) continue;
      r.hostSetup(file, at(k), 'ownership of the host directory (lxc-manager chowned it to 100000 + the id for the unprivileged container)', `chown ${100000 + (mp.owner_uid ?? 0)}:${100000 + (mp.owner_gid ?? 0)} ${mp.host_path}`);
    }
    mps.push({ path: mp.container_path, hostPath: mp.host_path });
  }
  for (const key of ['zfs_volumes', 'volumes'] as const) {
    for (const [i, vol] of (ct[key] ?? []).entries()) {
      const at = (...s: string[]) => child(base, key, i, ...s);
      if (!pathOk(vol.mount_point) || mps.some((m) => m.path === vol.mount_point) || !new RegExp(patterns.pveStorageId).test(vol.pool) || vol.size_gb < 1) {
        r.notMapped(file, child(base, key, i), 'not a mount path, a storage id and a size, or the mount path is used twice', 'add the volume to spec.mountPoints');
        continue;
      }
      r.mapped(file, at('mount_point'), t('path'));
      r.mapped(file, at('pool'), t('storage'));
      r.mapped(file, at('size_gb'), t('size'));
      if (vol.name !== undefined) r.notMapped(file, at('name'), 'a label only: Proxmox names the volume itself (vm-<id>-disk-<n>)');
      mps.push({ path: vol.mount_point, storage: vol.pool, size: `${vol.size_gb}G` });
    }
  }
  if (mps.length) spec.mountPoints = mps;
}

function mapSnapshots(ctx: ImportContext, id: string, ct: LegacyLxc, spec: GuestSpec & Partial<PhoenixLXCSpec>, self: GuestRef, base: string): void {
  const r = ctx.report;
  const t = (i: number) => ctx.target('PhoenixLXC', self.name, `spec.snapshots[${i}].name`);
  const clones = Object.entries(ctx.estate.lxc?.lxc_configs ?? {}).filter(([, c]) => c.clone_from_ctid === id).map(([cid]) => ctx.guests.get(cid)!);
  const template = spec.template === true;
  if (ct.enable_lifecycle_snapshots !== undefined) {
    if (!ct.enable_lifecycle_snapshots) r.notMapped(file, child(base, 'enable_lifecycle_snapshots'), 'off');
    else if (template) r.notMapped(file, child(base, 'enable_lifecycle_snapshots'), 'a template cannot keep snapshots (Proxmox refuses to convert a guest that has some)');
    else {
      const targets = ['pre-configured', 'final-form'].map((name) => t(keepSnapshot(spec, name)));
      r.mapped(file, child(base, 'enable_lifecycle_snapshots'), targets, 'snapshots pre-configured and final-form, taken once when missing: the legacy tool deleted and re-took both on every run, around its feature scripts, which Phoenix does not run');
    }
  }
  if (ct.template_snapshot_name !== undefined) {
    const name = ct.template_snapshot_name;
    if (template) r.notMapped(file, child(base, 'template_snapshot_name'), 'a template cannot keep snapshots; its clones are made from the template itself');
    else if (!isSnapshotName(name)) r.notMapped(file, child(base, 'template_snapshot_name'), `${JSON.stringify(name)} is not a snapshot name Proxmox accepts`);
    else {
      const targets = [t(keepSnapshot(spec, name)), ...(ctx.options.adopt ? [] : clones.map((c) => ctx.target('PhoenixLXC', c.name, 'spec.source.clone.snapshot')))];
      r.mapped(file, child(base, 'template_snapshot_name'), targets, clones.length ? 'its clones start from it' : undefined);
    }
  }
}

function mapProvisioning(ctx: ImportContext, ct: LegacyLxc, self: GuestRef, base: string): void {
  const p = ctx.provisioning;
  const r = ctx.report;
  for (const [i, feature] of (ct.features ?? []).entries()) {
    const scripts = [scriptPaths.lxcFeature(feature), ...(feature === 'nvidia' ? [scriptPaths.healthCheck('check_nvidia.sh')] : [])];
    p.add({ file, path: child(base, 'features', i), what: `feature ${feature} of ${self.name} (run on the host with pct exec${feature === 'nvidia' ? ', then check_nvidia.sh' : ''})`, scripts });
  }
  if (ct.application_script !== undefined) p.add({ file, path: child(base, 'application_script'), what: `the application script of ${self.name} (pushed into the container and run after the features)`, scripts: [scriptPaths.application(ct.application_script)] });
  if (ct.bootstrap_ca_url !== undefined) p.add({ file, path: child(base, 'bootstrap_ca_url'), what: `the CA address passed to ${self.name}'s feature scripts`, scripts: [] });
  if (ct.health_check !== undefined) {
    p.add({ file, path: child(base, 'health_check'), what: `the health check of ${self.name} (ignored by the legacy tool, which reads health_checks)`, scripts: [scriptPaths.healthCheck(ct.health_check.command.split(/\s+/)[0]!)] });
  }
  for (const [i, check] of (ct.health_checks ?? []).entries()) {
    p.add({ file, path: child(base, 'health_checks', i), what: `health check ${check.name ?? check.script} of ${self.name}`, scripts: [scriptPaths.healthCheck(check.script)] });
  }
  for (const [suite, refs] of Object.entries(ct.tests ?? {})) {
    p.add({ file, path: child(base, 'tests', suite), what: `test suite ${suite} of ${self.name} (never run by the legacy tool)`, scripts: refs.map((ref) => scriptPaths.test(ref.path)) });
  }
  if (ct.vllm_engine_config !== undefined) {
    const name = `${self.name}-vllm`;
    ctx.add(ctx.configMap(name, `${file}#${child(base, 'vllm_engine_config')}`, { 'vllm_engine_config.json': `${JSON.stringify(ct.vllm_engine_config, null, 2)}\n` }), 'configmaps', `${file}#${child(base, 'vllm_engine_config')}`);
    r.add({
      file, path: child(base, 'vllm_engine_config'), outcome: 'provisioning',
      targets: [ctx.target('ConfigMap', name, 'data["vllm_engine_config.json"]')],
      reason: 'the vLLM server settings the vllm application script turns into a systemd unit: not yet mapped: needs provisioning (issue 13)',
      action: `kept in ConfigMap ${name}, key vllm_engine_config.json`,
      scripts: [scriptPaths.application('phoenix_hypervisor_lxc_vllm.sh').path],
    });
  }
}

function mapUnused(ctx: ImportContext, ct: LegacyLxc, base: string): void {
  const r = ctx.report;
  const entries: [keyof LegacyLxc, 'not-mapped' | 'host-setup', string, string?][] = [
    ['portainer_role', 'not-mapped', 'never read for containers (Docker in containers was given up for VMs)'],
    ['apparmor_profile', 'host-setup', 'AppArmor profiles are raw LXC keys and files in /etc/apparmor.d, which Proxmox\'s API cannot set', 'an unconfined container is a risk: prefer Proxmox\'s default profile; otherwise set lxc.apparmor.profile by hand'],
    ['apparmor_manages_nesting', 'host-setup', 'raw LXC keys (lxc.apparmor.allow_nesting, nesting.conf include) that Proxmox\'s API cannot set', 'use features.nesting instead where nesting is needed'],
    ['id_maps', 'host-setup', 'lxc.idmap lines are raw LXC keys Proxmox\'s API cannot set (and the legacy tool wrote only the default map)', 'add the lxc.idmap lines and /etc/subuid, /etc/subgid entries by hand'],
    ['traefik_service', 'not-mapped', 'a Traefik route the legacy generator wrote into Traefik\'s dynamic configuration; Phoenix does not configure Traefik', 'add the router and service to Traefik\'s configuration yourself'],
    ['ports', 'not-mapped', 'never read by the legacy scripts'],
    ['trigger_sync_on_completion', 'not-mapped', 'superseded: Phoenix reconciles stacks all the time; there is no sync to trigger'],
    ['dns_records', 'not-mapped', 'never read by the legacy scripts'],
  ];
  for (const [key, outcome, reason, action] of entries) {
    if (ct[key] === undefined) continue;
    r.add({ file, path: child(base, key), outcome, reason, ...(action ? { action } : {}) });
  }
}
