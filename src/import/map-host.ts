import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import { patterns } from '../api/common.ts';
import type { ImportContext } from './context.ts';
import { cidrContains, firewallRuleOf, firstHost, isIPv4, isIPv4Cidr, type FirewallRule } from './convert.ts';
import type { LegacyHostFirewall } from './legacy-model.ts';
import { legacyFiles } from './legacy-model.ts';
import { child, pointer } from './pointer.ts';
import { scriptPaths } from './provisioning.ts';

/**
 * phoenix_hypervisor_config.json → the PhoenixHypervisor: endpoint, node (time zone, DNS,
 * networks, ZFS pools), storages, users and permissions, the cluster firewall. What only a
 * person can do on the host (drivers, Samba, dnsmasq, NFS exports, dataset properties) is
 * listed for them.
 */

type Spec = PhoenixHypervisorSpec;
type Node = NonNullable<Spec['nodes']>[number];
type Storage = NonNullable<Spec['storages']>[number];
type Network = NonNullable<Node['networks']>[number];

const file = legacyFiles.hypervisor;
const raidLevels: Readonly<Record<string, NonNullable<Node['zfsPools']>[number]['raidLevel'] | undefined>> = { single: 'single', mirror: 'mirror', raidz1: 'raidz', raidz: 'raidz', raidz2: 'raidz2', raidz3: 'raidz3' };
const contentTypes = new Set(['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import']);

export function mapHypervisor(ctx: ImportContext): void {
  const h = ctx.estate.hypervisor;
  const r = ctx.report;
  const spec = ctx.hypervisorSpec;
  const node: Node = { name: ctx.node };
  const t = (field: string) => ctx.hypervisorTarget(field);

  r.notMapped(file, '/version', 'describes the legacy file itself');
  r.notMapped(file, '/author', 'describes the legacy file itself');

  // Endpoint: the legacy tool ran on the host itself; the API is on its management address.
  const hostIp = h.network?.interfaces?.address?.split('/')[0];
  const host = hostIp !== undefined && isIPv4(hostIp) ? hostIp : ctx.node;
  spec.proxmox.url = `https://${host}:8006`;
  r.assumptions.push({
    what: 'Proxmox API address',
    value: spec.proxmox.url,
    change: 'the legacy tool ran on the host and had no API address: spec.proxmox.url is the management address. Add spec.proxmox.caBundle (the host\'s /etc/pve/pve-root-ca.pem), or set the URL Phoenix reaches it by',
  });
  r.needSecret(spec.proxmox.tokenSecretRef.name, ctx.options.namespace, 'token', 'a Proxmox API token `user@realm!tokenid=uuid` (pveum user token add …; see docs/guests.md for the role)');
  if (ctx.options.node === undefined) {
    r.assumptions.push({
      what: 'Proxmox node name',
      value: ctx.node,
      change: h.network?.hostname !== undefined ? 'taken from network.hostname' : 'the legacy files do not name the node (the scripts asked `hostname`): re-run with --node <name> if `pvesh get /nodes` says otherwise',
    });
  }
  if (h.network?.hostname !== undefined) r.mapped(file, '/network/hostname', t('nodes[0].name'), 'also spec.node of every guest');
  if (ctx.options.observe) spec.managementPolicy = 'Observe';

  mapPortainer(ctx);
  if (h.timezone !== undefined) {
    if (new RegExp('^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$').test(h.timezone) && h.timezone.length <= 64) {
      node.timezone = h.timezone;
      r.mapped(file, '/timezone', t('nodes[0].timezone'));
    } else r.notMapped(file, '/timezone', `${JSON.stringify(h.timezone)} is not a time zone name such as Europe/Berlin`, 'set spec.nodes[0].timezone');
  }
  mapDns(ctx, node, host);
  mapNetworks(ctx, node);
  mapZfs(ctx, node);
  mapStorages(ctx);
  mapUsers(ctx);
  mapFirewall(ctx);
  mapHostSetup(ctx);
  spec.nodes = [node];
}

function mapPortainer(ctx: ImportContext): void {
  const h = ctx.estate.hypervisor;
  const r = ctx.report;
  const spec = ctx.hypervisorSpec;
  const net = h.network ?? {};
  const api = h.portainer_api;
  if (net.portainer_server_ip !== undefined || api !== undefined) {
    const address = net.portainer_server_ip ?? api?.portainer_hostname;
    const port = net.portainer_server_port ?? 9443;
    if (address !== undefined) {
      const secret = `${ctx.options.hypervisor}-portainer-api-key`;
      spec.portainer = { url: `https://${address}:${port}`, apiKeySecretRef: { name: secret, namespace: ctx.options.namespace } };
      r.needSecret(secret, ctx.options.namespace, 'apiKey', `a Portainer API key (Portainer → My account → Access tokens${api?.admin_user ? `, as ${api.admin_user}` : ''})`);
      if (net.portainer_server_ip !== undefined) r.mapped(file, '/network/portainer_server_ip', ctx.hypervisorTarget('portainer.url'));
      if (net.portainer_server_port !== undefined) r.mapped(file, '/network/portainer_server_port', ctx.hypervisorTarget('portainer.url'));
      r.assumptions.push({
        what: 'Portainer address',
        value: spec.portainer.url,
        change: 'Portainer\'s certificate comes from the legacy Step-CA: put its root (phoenix_root_ca.crt in CT 103\'s /etc/step-ca/ssl) in spec.portainer.caBundle',
      });
    }
  }
  if (net.portainer_agent_port !== undefined) {
    r.notMapped(file, '/network/portainer_agent_port', 'Phoenix deploys to Portainer environments that already exist; it does not register agents', 'the environments to register are listed under "Before you apply"');
  }
  if (api?.admin_user !== undefined) r.notMapped(file, '/portainer_api/admin_user', 'Phoenix authenticates to Portainer with an API key, not a user and password', `create an API key as ${api.admin_user} and put it in the Secret listed under "Before you apply"`);
  if (api?.admin_password !== undefined) {
    r.add({
      file, path: '/portainer_api/admin_password', outcome: 'not-mapped', exposed: true,
      reason: 'a plaintext password in a file kept in git: not copied anywhere (Phoenix uses an API key)',
      action: 'rotate the Portainer admin password, and remove it from the legacy file and its git history',
    });
  }
  if (api?.portainer_hostname !== undefined) {
    r.notMapped(file, '/portainer_api/portainer_hostname', `Phoenix reaches Portainer directly (${spec.portainer?.url ?? 'spec.portainer.url'}); the host name went through the legacy Nginx gateway`, 'use https://<hostname>:<port> in spec.portainer.url if the cluster resolves it');
  }
  if (api !== undefined && 'api_key' in api) {
    if (typeof api.api_key === 'string' && api.api_key !== '') {
      r.add({
        file, path: '/portainer_api/api_key', outcome: 'mapped', exposed: true,
        targets: [ctx.hypervisorTarget('portainer.apiKeySecretRef')],
        reason: 'a plaintext API key (written back by the legacy script): replaced by the Secret reference, its value not copied',
        action: 'delete this key in Portainer, create a new one, and put it in the Secret',
      });
    } else r.notMapped(file, '/portainer_api/api_key', 'no key was stored');
  }
  if (h.docker !== undefined) {
    r.notMapped(file, '/docker', 'the images the legacy tool ran Portainer\'s server and agents from; Phoenix does not install Portainer', 'keep Portainer running as it is (docker compose on the server VM, the agent on each Docker VM), or install it with provisioning steps once issue 13 exists');
  }
}

function mapDns(ctx: ImportContext, node: Node, hostIp: string): void {
  const h = ctx.estate.hypervisor;
  const r = ctx.report;
  const dnsServer = h.dns_server;
  const fromDnsmasq = dnsServer?.enabled === true;
  const servers = fromDnsmasq ? [...(isIPv4(hostIp) ? [hostIp] : []), ...(dnsServer.upstream_servers ?? [])] : [...(h.network?.interfaces?.dns_nameservers ?? [])];
  const usable = servers.filter(isIPv4);
  if (h.domain_name !== undefined) {
    if (new RegExp(patterns.dnsName).test(h.domain_name) && h.domain_name.length <= 253) {
      node.dns = { searchDomain: h.domain_name, ...(usable.length ? { servers: usable.slice(0, 3) } : {}) };
      r.mapped(file, '/domain_name', [ctx.hypervisorTarget('nodes[0].dns.searchDomain')], 'also the search domain of every VM (spec.dns.searchDomain); the per-guest DNS names dnsmasq served are not kept (see dns_server)');
    } else r.notMapped(file, '/domain_name', `${JSON.stringify(h.domain_name)} is not a domain name`, 'set spec.nodes[0].dns');
  }
  const serversPath = fromDnsmasq ? '/dns_server/upstream_servers' : '/network/interfaces/dns_nameservers';
  if (node.dns?.servers) {
    const left = [...servers.filter((s) => !isIPv4(s)), ...usable.slice(3)];
    const why = [fromDnsmasq ? `the host's resolv.conf as the DNS script wrote it: the host itself (${hostIp}, dnsmasq), then the upstreams` : '', left.length ? `left out: ${left.join(', ')} (Proxmox takes three IP addresses)` : ''].filter(Boolean).join('; ');
    r.mapped(file, serversPath, ctx.hypervisorTarget('nodes[0].dns.servers'), why || undefined);
  } else if (servers.length) r.notMapped(file, serversPath, 'no search domain (domain_name) to go with them, which Proxmox\'s node DNS needs', 'set spec.nodes[0].dns');
  if (!fromDnsmasq && dnsServer?.upstream_servers !== undefined) r.notMapped(file, '/dns_server/upstream_servers', 'dns_server is off: the legacy tool wrote the upstreams only into dnsmasq\'s configuration');
  if (fromDnsmasq && h.network?.interfaces?.dns_nameservers !== undefined) {
    r.notMapped(file, '/network/interfaces/dns_nameservers', 'superseded: with dns_server enabled, the DNS script rewrote resolv.conf from dns_server.upstream_servers');
  }
  if (dnsServer !== undefined) {
    if (dnsServer.enabled !== undefined) {
      r.hostSetup(file, '/dns_server/enabled', 'dnsmasq on the host (listen address, upstreams, and an address= record per guest and Traefik host name) is host software, not a Proxmox API', 'keep dnsmasq as the legacy tool left it (/etc/dnsmasq.conf, /etc/dnsmasq.d/00-phoenix-internal.conf) and add records for new guests, or move DNS to a server you manage');
    }
    if (dnsServer.authoritative_zones !== undefined) r.hostSetup(file, '/dns_server/authoritative_zones', 'dnsmasq zones are host software', 'configure them in dnsmasq');
  }
}

function mapNetworks(ctx: ImportContext, node: Node): void {
  const net = ctx.estate.hypervisor.network;
  const r = ctx.report;
  const networks: Network[] = [];
  const at = (name: string) => `nodes[0].networks[${name}]`;
  const iface = net?.interfaces;
  const rootesting = net?.public_bridge !== undefined || net?.macvlan_vlan_tag !== undefined || net?.public_vlan_tag !== undefined || net?.internal_bridge !== undefined;
  if (iface !== undefined) {
    if (new RegExp(patterns.bridge).test(iface.name)) {
      const bridge: Network = { name: iface.name, type: 'bridge' };
      r.mapped(file, '/network/interfaces/name', ctx.hypervisorTarget(`${at(iface.name)}.name`), 'Phoenix changes only the options set here (address, gateway), and only when they differ from what the host has: check them against `ip addr` before applying, since this is the management bridge');
      if (iface.address !== undefined) {
        if (isIPv4Cidr(iface.address)) {
          bridge.cidr = iface.address;
          r.mapped(file, '/network/interfaces/address', [ctx.hypervisorTarget(`${at(iface.name)}.cidr`), ctx.hypervisorTarget('proxmox.url')]);
        } else r.notMapped(file, '/network/interfaces/address', `${JSON.stringify(iface.address)} is not an IPv4 address in CIDR form`);
      }
      if (iface.gateway !== undefined) {
        if (isIPv4(iface.gateway) && bridge.cidr !== undefined && cidrContains(bridge.cidr, iface.gateway)) {
          bridge.gateway = iface.gateway;
          r.mapped(file, '/network/interfaces/gateway', ctx.hypervisorTarget(`${at(iface.name)}.gateway`));
        } else r.notMapped(file, '/network/interfaces/gateway', 'not an IPv4 address inside the bridge\'s subnet');
      }
      if (rootesting) bridge.vlanAware = true;
      networks.push(bridge);
    } else r.notMapped(file, '/network/interfaces', `${JSON.stringify(iface.name)} is not an interface name`);
  }
  // rootesting's macvlan setup: VLAN interfaces on the public bridge and an internal bridge with NAT.
  const parent = net?.public_bridge ?? iface?.name;
  const vlans: string[] = [];
  for (const [key, comment] of [['macvlan_vlan_tag', 'Macvlan portal (legacy)'], ['public_vlan_tag', 'Public VLAN portal']] as const) {
    const tag = net?.[key];
    if (tag === undefined) continue;
    if (parent === undefined || tag < 1 || tag > 4094 || `${parent}.${tag}`.length > 15) {
      r.notMapped(file, `/network/${key}`, 'no parent bridge, or not a VLAN tag (1-4094)');
      continue;
    }
    const name = `${parent}.${tag}`;
    if (!networks.some((n) => n.name === name)) networks.push({ name, type: 'vlan', vlanId: tag, vlanRawDevice: parent, autostart: true, comments: comment });
    vlans.push(name);
    r.mapped(file, `/network/${key}`, ctx.hypervisorTarget(`${at(name)}.vlanId`));
  }
  if (net?.public_bridge !== undefined) {
    if (vlans.length) r.mapped(file, '/network/public_bridge', vlans.map((v) => ctx.hypervisorTarget(`${at(v)}.vlanRawDevice`)), `the VLAN interfaces' parent; ${parent} is made VLAN-aware (bridge-vlan-aware yes), as the macvlan script did`);
    else r.notMapped(file, '/network/public_bridge', 'no VLAN tag to put on it');
  }
  const internal = net?.internal_bridge;
  if (internal !== undefined) {
    const cidr = firstHost(internal.subnet ?? '172.16.100.0/24');
    if (new RegExp(patterns.bridge).test(internal.name) && cidr !== undefined) {
      networks.push({ name: internal.name, type: 'bridge', cidr, bridgePorts: [], autostart: true, comments: 'Internal bridge (legacy internal_bridge)' });
      r.mapped(file, '/network/internal_bridge/name', ctx.hypervisorTarget(`${at(internal.name)}.name`));
      if (internal.subnet !== undefined) {
        r.mapped(file, '/network/internal_bridge/subnet', ctx.hypervisorTarget(`${at(internal.name)}.cidr`), `the host takes the first address (${cidr}), as the macvlan script did`);
      }
      r.hostSetup(file, '/network/internal_bridge', 'IP forwarding and the NAT (MASQUERADE) and FORWARD rules the macvlan script added as post-up commands: Proxmox\'s network API has no place for them', `add them to /etc/network/interfaces for ${internal.name}, as the legacy script did`);
    } else r.notMapped(file, '/network/internal_bridge', 'not a bridge name, or not an IPv4 subnet');
  }
  if (networks.length) node.networks = networks;
  for (const [key, reason] of [
    ['external_registry_url', 'never read by the legacy scripts: compose files name their own images'],
    ['default_subnet', 'never read by the legacy scripts'],
    ['fallback_dns', 'never read by the legacy scripts'],
  ] as const) {
    if (net?.[key] !== undefined) r.notMapped(file, `/network/${key}`, reason);
  }
  if (net?.workgroup !== undefined) r.hostSetup(file, '/network/workgroup', 'the Samba workgroup: Samba is host software', 'configure it in smb.conf');
}

function mapZfs(ctx: ImportContext, node: Node): void {
  const zfs = ctx.estate.hypervisor.zfs;
  const r = ctx.report;
  if (zfs === undefined) return;
  if (zfs.arc_max_gb !== undefined) r.hostSetup(file, '/zfs/arc_max_gb', 'a ZFS kernel module option, which no Proxmox API sets', `put \`options zfs zfs_arc_max=${Math.round(zfs.arc_max_gb * 1024 ** 3)}\` in /etc/modprobe.d/zfs.conf and run update-initramfs -u`);
  if (zfs.settings !== undefined) r.notMapped(file, '/zfs/settings', 'Phoenix never wipes a disk or destroys a pool, whatever the setting');
  const pools: NonNullable<Node['zfsPools']> = [];
  for (const [i, pool] of (zfs.pools ?? []).entries()) {
    const path = pointer('zfs', 'pools', i);
    const raid = raidLevels[pool.raid_level.toLowerCase()];
    const problem = !new RegExp(patterns.pveStorageId).test(pool.name) ? 'not a pool name Proxmox accepts'
      : raid === undefined ? `raid level ${JSON.stringify(pool.raid_level)}: the legacy script made a plain stripe of the disks for any level but mirror and RAIDZ1, which Phoenix cannot declare`
      : raid === 'single' && pool.disks.length !== 1 ? 'single with several disks: the legacy script made a stripe, which Phoenix cannot declare'
      : raid === 'mirror' && pool.disks.length < 2 ? 'a mirror needs two disks'
      : pool.disks.length === 0 || pool.disks.some((d) => !d.startsWith('/dev/')) ? 'disks must be /dev/ paths'
      : undefined;
    if (problem !== undefined || raid === undefined) {
      r.notMapped(file, path, problem ?? 'unsupported', 'declare the pool in spec.nodes[0].zfsPools yourself, or leave it to the host (Phoenix does not need to manage an existing pool)');
      continue;
    }
    pools.push({ name: pool.name, raidLevel: raid, devices: [...pool.disks], compression: 'lz4' });
    const target = (f: string) => ctx.hypervisorTarget(`nodes[0].zfsPools[${pool.name}].${f}`);
    r.mapped(file, child(path, 'name'), target('name'), 'created only if missing; Phoenix never wipes a disk or changes an existing pool');
    const stripe = raid !== 'single' && raid !== 'mirror' && raid !== 'raidz' ? `; the legacy script knew only mirror and RAIDZ1 and made a plain stripe for ${pool.raid_level}, so an existing pool may differ (Phoenix never changes one)` : '';
    r.mapped(file, child(path, 'raid_level'), target('raidLevel'), `compression lz4 as the legacy script set; its autotrim=on and atime=off are not Proxmox API options (zpool set autotrim=on, zfs set atime=off)${stripe}`);
    r.mapped(file, child(path, 'disks'), target('devices'));
  }
  if (pools.length) node.zfsPools = pools;
}

/** Storage ids as hypervisor_feature_setup_zfs.sh made them: proxmox_storage_ids[<pool>_<dataset>], else <pool>-<dataset>. */
function storageIdOf(ids: Readonly<Record<string, string>>, pool: string, dataset: string): { id: string; key?: string } {
  const key = `${pool}_${dataset.replace(/-/g, '_')}`;
  const mapped = ids[key];
  return mapped !== undefined && mapped !== '' ? { id: mapped, key } : { id: `${pool}-${dataset}` };
}

function mapStorages(ctx: ImportContext): void {
  const h = ctx.estate.hypervisor;
  const r = ctx.report;
  const ids = h.proxmox_storage_ids ?? {};
  const usedKeys = new Set<string>();
  const storages: Storage[] = [];
  for (const [i, ds] of (h.zfs?.datasets ?? []).entries()) {
    const path = pointer('zfs', 'datasets', i);
    const { id, key } = storageIdOf(ids, ds.pool, ds.name);
    const type = ds.proxmox_storage_type;
    const content = (ds.proxmox_content_type ?? '').split(',').map((c) => c.trim()).filter(Boolean);
    const known = content.filter((c) => contentTypes.has(c));
    if (ds.properties !== undefined) r.hostSetup(file, child(path, 'properties'), 'ZFS dataset properties: datasets are not part of Proxmox\'s API (it creates pools only)', `the dataset must exist: zfs create ${ds.properties.split(',').map((p) => `-o ${p}`).join(' ')} ${ds.pool}/${ds.name}`);
    if (ds.storage_class !== undefined) r.notMapped(file, child(path, 'storage_class'), 'never read by the legacy scripts');
    if ((type !== 'zfspool' && type !== 'dir') || !new RegExp(patterns.pveStorageId).test(id) || id.length > 64 || known.length === 0) {
      const why = type !== 'zfspool' && type !== 'dir' ? `storage type ${JSON.stringify(type)}: the legacy script added only zfspool and dir storages and skipped this one` : known.length === 0 ? 'no content type Proxmox knows' : `${id} is not a storage id Proxmox accepts`;
      r.notMapped(file, path, why, 'declare the storage in spec.storages yourself');
      continue;
    }
    if (key !== undefined) usedKeys.add(key);
    const storage: Storage = type === 'zfspool'
      ? { id, type, pool: `${ds.pool}/${ds.name}`, content: known as Storage['content'] }
      : { id, type, path: `/${ds.pool}/${ds.name}`, content: known as Storage['content'], shared: true };
    storages.push(storage);
    const target = (f: string) => ctx.hypervisorTarget(`storages[${id}].${f}`);
    r.mapped(file, child(path, 'name'), [target('id'), target(type === 'zfspool' ? 'pool' : 'path')], type === 'dir' ? 'shared: true, as the legacy script added dir storages with -shared 1' : undefined);
    r.mapped(file, child(path, 'pool'), target(type === 'zfspool' ? 'pool' : 'path'));
    r.mapped(file, child(path, 'proxmox_storage_type'), target('type'));
    r.mapped(file, child(path, 'proxmox_content_type'), target('content'), known.length < content.length ? `${content.filter((c) => !contentTypes.has(c)).join(', ')} is not a Proxmox content type and is left out` : undefined);
    if (!ctx.templateStorage && known.includes('vztmpl')) ctx.templateStorage = { id, type };
  }
  // lxc-manager downloads templates to proxmox_storage_ids.fastData_shared_iso when it names a storage made here.
  const isoId = ids['fastData_shared_iso'];
  const iso = storages.find((s) => s.id === isoId && s.content.includes('vztmpl'));
  if (iso) ctx.templateStorage = { id: iso.id, type: iso.type };
  for (const key of Object.keys(ids)) {
    const path = pointer('proxmox_storage_ids', key);
    if (usedKeys.has(key)) r.mapped(file, path, ctx.hypervisorTarget(`storages[${ids[key]}].id`));
    else if (key === 'fastData_shared_iso' && iso) r.mapped(file, path, ctx.hypervisorTarget(`storages[${iso.id}].id`), 'the storage lxc-manager downloaded templates to');
    else r.notMapped(file, path, `no dataset matches the key (the ZFS script looks up <pool>_<dataset> with the pool's exact case), so the legacy tool used the default id <pool>-<dataset>`);
  }
  // hypervisor_feature_setup_nfs.sh adds each export as a Proxmox NFS storage.
  const server = h.network?.nfs_server ?? h.network?.interfaces?.address?.split('/')[0];
  for (const [i, exp] of (h.nfs?.exports ?? []).entries()) {
    const path = pointer('nfs', 'exports', i);
    const id = `nfs-${exp.path.split('/').filter(Boolean).pop() ?? ''}`;
    r.hostSetup(file, child(path, 'clients'), 'NFS exports (/etc/exports) are host configuration that no Proxmox API sets', `keep the export: ${exp.path} ${(exp.clients ?? []).map((c) => `${c}(${(exp.options ?? []).join(',')})`).join(' ')}`);
    if (exp.options !== undefined) r.hostSetup(file, child(path, 'options'), 'export options belong to /etc/exports', 'keep them in /etc/exports');
    if (server === undefined || !new RegExp(patterns.pveStorageId).test(id) || storages.some((s) => s.id === id) || !exp.path.startsWith('/')) {
      r.notMapped(file, child(path, 'path'), 'no NFS server address (network.nfs_server), or the storage id is taken', 'declare the NFS storage in spec.storages');
      continue;
    }
    storages.push({ id, type: 'nfs', server, export: exp.path, path: `/mnt/nfs/${id}`, content: ['images', 'iso', 'vztmpl', 'backup', 'snippets'] });
    r.mapped(file, child(path, 'path'), ctx.hypervisorTarget(`storages[${id}].export`), 'the Proxmox NFS storage the legacy script added for the export (content and mount path as it set them; its mount options vers=4,soft,timeo=30,retrans=3 are not a Phoenix field)');
  }
  if (h.network?.nfs_server !== undefined) {
    if (storages.some((s) => s.type === 'nfs')) r.mapped(file, '/network/nfs_server', storages.filter((s) => s.type === 'nfs').map((s) => ctx.hypervisorTarget(`storages[${s.id}].server`)));
    else r.notMapped(file, '/network/nfs_server', 'no NFS export to serve');
  }
  if (storages.length) ctx.hypervisorSpec.storages = storages;
}

function mapUsers(ctx: ImportContext): void {
  const u = ctx.estate.hypervisor.users;
  const r = ctx.report;
  if (u === undefined) return;
  const userid = `${u.username}@pam`;
  if (!/^[^\s:/@]+@[A-Za-z][A-Za-z0-9._-]*$/.test(userid) || userid.length > 128) {
    r.notMapped(file, '/users', `${JSON.stringify(u.username)} is not a user name Proxmox accepts`);
    return;
  }
  ctx.hypervisorSpec.users = [{ userid, comment: 'Phoenix administrator (imported from the legacy users entry)' }];
  ctx.hypervisorSpec.acls = [{ path: '/', role: 'Administrator', users: [userid] }];
  r.mapped(file, '/users/username', [ctx.hypervisorTarget(`users[${userid}].userid`), ctx.hypervisorTarget('acls[0].users')], 'the Proxmox user and its Administrator role on /, as hypervisor_feature_create_admin_user.sh granted');
  r.action(`Create the Linux account ${u.username} on the host (useradd) if it is not there: the pam realm authenticates against it, and Proxmox cannot create it.`);
  if (u.password_hash !== undefined) {
    if (u.password_hash === '' || u.password_hash === 'NOT_SET') r.notMapped(file, '/users/password_hash', 'no password was set');
    else r.add({ file, path: '/users/password_hash', outcome: 'not-mapped', exposed: true, reason: 'a password hash in a file kept in git: not copied (a pam user keeps its Linux password)', action: `change the password (passwd ${u.username}); the old hash can be cracked offline` });
  }
  if (u.sudo_access !== undefined) r.hostSetup(file, '/users/sudo_access', 'sudo rights of the Linux account', `add ${u.username} to the sudo group by hand if it needs them`);
  if (u.ssh_public_key !== undefined) {
    if (u.ssh_public_key === '') r.notMapped(file, '/users/ssh_public_key', 'empty: nothing to import');
    else r.hostSetup(file, '/users/ssh_public_key', 'the Linux account\'s authorized_keys', `add the key to ~${u.username}/.ssh/authorized_keys`);
  }
}

function mapFirewall(ctx: ImportContext): void {
  const h = ctx.estate.hypervisor;
  const r = ctx.report;
  // main nests the firewall in shared_volumes; rootesting moved it to the top level.
  const top = h.firewall;
  const nested = h.shared_volumes?.['firewall'] as LegacyHostFirewall | undefined;
  const fw = top ?? nested;
  const base = top !== undefined ? '/firewall' : '/shared_volumes/firewall';
  if (top !== undefined && nested !== undefined) r.notMapped(file, '/shared_volumes/firewall', 'superseded by the top-level firewall, which the rootesting scripts read');
  for (const key of Object.keys(h.shared_volumes ?? {})) {
    if (key === 'firewall') continue;
    r.notMapped(file, pointer('shared_volumes', key), 'declared but never read by the legacy scripts (its container ids are stale)', 'give the containers that need the directory a mountPoints entry with hostPath');
  }
  if (fw === undefined) return;
  const firewall: NonNullable<Spec['firewall']> = {};
  if (fw.enabled !== undefined) {
    firewall.enabled = fw.enabled;
    r.mapped(file, `${base}/enabled`, ctx.hypervisorTarget('firewall.enabled'));
  }
  for (const [key, field] of [['default_input_policy', 'policyIn'], ['default_output_policy', 'policyOut']] as const) {
    const value = fw[key]?.toUpperCase();
    if (fw[key] === undefined) continue;
    if (value === 'ACCEPT' || value === 'DROP' || value === 'REJECT') {
      firewall[field] = value;
      r.mapped(file, `${base}/${key}`, ctx.hypervisorTarget(`firewall.${field}`));
    } else r.notMapped(file, `${base}/${key}`, `${JSON.stringify(fw[key])} is not ACCEPT, DROP or REJECT`);
  }
  if (fw.global_firewall_rules !== undefined) {
    const rules: FirewallRule[] = [];
    for (const [i, rule] of fw.global_firewall_rules.entries()) {
      const mapped = firewallRuleOf(rule);
      const path = `${base}/global_firewall_rules/${i}`;
      if ('problem' in mapped) r.notMapped(file, path, mapped.problem, 'fix the rule and add it to spec.firewall.rules');
      else {
        r.mapped(file, path, ctx.hypervisorTarget(`firewall.rules[${rules.length}]`));
        rules.push(mapped.rule);
      }
    }
    firewall.rules = rules;
    if (top === undefined) {
      r.action('The legacy main branch also copied every guest\'s firewall rules into the cluster firewall, which lost their scope. Phoenix keeps them on the guests only; if anything relied on the copies at cluster level, add those rules to the hypervisor\'s spec.firewall.rules.');
    }
  }
  ctx.hypervisorSpec.firewall = firewall;
}

/** Host setup the legacy scripts did with no Proxmox API behind it, and configuration nothing read. */
function mapHostSetup(ctx: ImportContext): void {
  const h = ctx.estate.hypervisor;
  const r = ctx.report;
  if (h.samba !== undefined) {
    r.hostSetup(file, '/samba', 'Samba shares are host software, outside Proxmox\'s API', 'keep smb.conf as the legacy script wrote it');
    if (h.samba.user !== undefined) {
      r.add({
        file, path: '/samba/user', outcome: 'host-setup', exposed: true,
        reason: `hypervisor_feature_setup_samba.sh gave ${h.samba.user} a Samba password hard-coded in the script, which is public with the legacy repository: treat it as exposed`,
        action: `rotate it: smbpasswd ${h.samba.user}`,
      });
    }
  }
  if (h.nvidia_driver !== undefined) r.hostSetup(file, '/nvidia_driver', 'the NVIDIA driver on the host (the .run installer, DKMS, VFIO and the nvidia-smi unit) is host software', 'install and update the driver on the host by hand; keep its version equal to the userspace driver inside GPU containers');
  if (h.core_paths !== undefined) {
    for (const key of Object.keys(h.core_paths)) {
      const tokens = key === 'hf_token_file' || key === 'docker_token_file';
      r.notMapped(file, pointer('core_paths', key), tokens ? 'the path of a token file the legacy scripts read; Phoenix does not read host files' : 'a path of the legacy tool\'s own files', tokens ? 'put the token in a Secret for the guests that need it (provisioning, issue 13)' : undefined);
    }
  }
  if (h.mount_point_base !== undefined) r.notMapped(file, '/mount_point_base', 'a path prefix the legacy scripts used to find template files; Phoenix names templates by volume id');
  if (h.proxmox_defaults !== undefined) r.notMapped(file, '/proxmox_defaults', 'never read by the legacy scripts');
  if (h.behavior !== undefined) r.notMapped(file, '/behavior', 'never read by the legacy scripts');
  if (h.step_ca !== undefined) r.notMapped(file, '/step_ca', 'never read: the legacy scripts hard-code the CA\'s names (the CA is set up by CT 103\'s application script)', 'see the provisioning items of the Step-CA container');
  if (h.shared_zfs_volumes !== undefined) r.notMapped(file, '/shared_zfs_volumes', 'free-standing volumes (pvesm alloc): Phoenix allocates volumes only as guest disks', 'give the guest that uses the volume a mountPoints (containers) or disks (VMs) entry');
  if (h.tests !== undefined) {
    for (const [suite, refs] of Object.entries(h.tests)) {
      ctx.provisioning.add({ file, path: pointer('tests', suite), what: `host test suite ${suite} (never run by phoenix-cli)`, scripts: refs.map((ref) => scriptPaths.test(ref.path)) });
    }
  }
}

/** Adds a download to the hypervisor once. */
export function addDownload(ctx: ImportContext, download: NonNullable<Spec['downloads']>[number]): void {
  const downloads = (ctx.hypervisorSpec.downloads ??= []);
  const same = (d: typeof download) => d.storage === download.storage && (d.appliance ?? d.filename) === (download.appliance ?? download.filename);
  if (!downloads.some(same)) downloads.push(download);
}
